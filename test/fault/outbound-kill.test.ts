// Fault: `mxhook serve` with an embedded queue (MXHOOK_QUEUE=<dir>) is killed with SIGKILL while
// relay clients are sending and a slow MX is receiving, then started again on the same directory.
// The promise: a 250 to a message that is to be delivered onward is said only once it is durably
// queued, so every message that got a 250 reaches the MX at least once after the restart
// (duplicates allowed: a delivery the kill interrupted is retried). A message whose reply never
// came may or may not arrive.
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  closeAllDnsServers,
  mxHost,
  startDnsServer,
  type TestDnsServer,
} from '../helpers/dns-server.ts';
import { GatewayProcess, killAllGatewayProcesses } from '../helpers/faults/gateway-process.ts';
import { Random, testSeed } from '../helpers/faults/seed.ts';
import { closeAllFunctionServers, startFunctionServer } from '../helpers/function-server.ts';
import { acceptedIndexes, type SendStatus, sendLoad } from '../helpers/outbound-load.ts';
import {
  closeAllRecordingMtas,
  type RecordingMta,
  startRecordingMta,
} from '../helpers/recording-mta.ts';
import { destroyAllClients } from '../helpers/smtp-client.ts';
import { newSecret } from '../helpers/start-bridge.ts';
import { waitUntil } from '../helpers/wait.ts';

const MESSAGES = 200;
const SESSIONS = 8;
const RELAY_CLIENT = '127.0.0.9';
const MX_ADDRESS = '127.0.0.2';
/** The MX waits this long before each 250: deliveries are slower than sending, so mail piles up. */
const MX_DELAY_MS = 40;
const DELIVERY_CONCURRENCY = 4;
/** After the restart, how long delivery may make no progress before the test gives up. */
const STALL_MS = 8_000;
/** After the restart, how long everything may take at most. */
const DRAIN_MS = 60_000;

let dns: TestDnsServer;
const directories: string[] = [];

beforeAll(async () => {
  dns = await startDnsServer(mxHost('dest.test', MX_ADDRESS));
});
afterAll(() => closeAllDnsServers());
afterEach(async () => {
  destroyAllClients();
  await killAllGatewayProcesses();
  await closeAllRecordingMtas();
  await closeAllFunctionServers();
  await Promise.all(directories.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

interface QueueRow {
  readonly state: string;
  readonly owner: string | null;
  readonly lease_until: number | null;
  readonly n: number;
}

/** The recipients the queue still holds, by state, owner and lease (the gateway must be dead). */
function queueRows(dir: string): QueueRow[] {
  const db = new DatabaseSync(join(dir, 'queue.sqlite'), { timeout: 2_000 });
  try {
    return db
      .prepare(
        `SELECT state, owner, max(lease_until) AS lease_until, count(*) AS n FROM recipients
         GROUP BY state, owner ORDER BY state, owner`,
      )
      .all() as unknown as QueueRow[];
  } finally {
    db.close();
  }
}

/**
 * The queue as the killed process left it, read from a copy (database and WAL), so the restarted
 * gateway does its own crash recovery on the original.
 */
async function queueAtKill(dir: string): Promise<QueueRow[]> {
  const copy = await mkdtemp(join(tmpdir(), 'mxhook-kill-copy-'));
  directories.push(copy);
  await copyFile(join(dir, 'queue.sqlite'), join(copy, 'queue.sqlite'));
  await copyFile(join(dir, 'queue.sqlite-wal'), join(copy, 'queue.sqlite-wal')).catch(() => {});
  return queueRows(copy);
}

function countIn(rows: readonly QueueRow[], state: string): number {
  return rows.filter((r) => r.state === state).reduce((sum, r) => sum + r.n, 0);
}

describe('SIGKILL to mxhook serve with an embedded outbound queue', () => {
  it(`loses none of ${MESSAGES} relayed messages that got a 250: after a restart each reaches the MX at least once`, {
    timeout: 150_000,
  }, async () => {
    const seed = testSeed();
    const random = new Random(seed);
    const context = `seed ${seed} (MXHOOK_TEST_SEED=${seed} replays the kill point)`;
    const mx: RecordingMta = await startRecordingMta(MX_ADDRESS, 0, { dataDelayMs: MX_DELAY_MS });
    const fn = await startFunctionServer();
    const dir = await mkdtemp(join(tmpdir(), 'mxhook-kill-queue-'));
    directories.push(dir);
    const env = {
      MXHOOK_FUNCTION_URL: fn.url,
      MXHOOK_SIGNING_SECRET: newSecret(),
      MXHOOK_HOSTNAME: 'mx.test',
      MXHOOK_STEPS: 'data',
      MXHOOK_QUEUE: dir,
      MXHOOK_RELAY_NETWORKS: `${RELAY_CLIENT}/32`,
      MXHOOK_DELIVERY_PORT: String(mx.port),
      MXHOOK_DNS_SERVERS: dns.server,
      MXHOOK_RETRY_MIN: '0.2',
      MXHOOK_RETRY_MAX: '0.5',
      MXHOOK_DELIVERY_CONCURRENCY: String(DELIVERY_CONCURRENCY),
    };
    const status: SendStatus[] = Array.from({ length: MESSAGES }, () => 'unsent');
    const load = (port: number, stop?: () => boolean) =>
      sendLoad(status, {
        port,
        localAddress: RELAY_CLIENT,
        sessions: SESSIONS,
        sender: 'alice@sender.test',
        recipient: (i) => `rcpt-${i}@dest.test`,
        messageId: (i) => `kill-${seed}-${i}@sender.test`,
        ...(stop === undefined ? {} : { stop }),
      });
    const idOf = (i: number) => `kill-${seed}-${i}@sender.test`;

    // Phase 1: send, and kill the gateway once a random share of the messages got their 250.
    const first = await GatewayProcess.start(env);
    let killed = false;
    const sending = load(first.port, () => killed);
    const killAt = random.int(Math.round(MESSAGES * 0.3), Math.round(MESSAGES * 0.6));
    await waitUntil(
      () => acceptedIndexes(status).length >= killAt,
      `${killAt} messages to get a 250 (${context})`,
    );
    // Preferably while the MX holds a message before its 250: that delivery is cut short.
    await waitUntil(() => mx.waiting > 0, 'a delivery in progress', 5_000).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, random.int(0, MX_DELAY_MS)));
    const atKill = {
      accepted: acceptedIndexes(status).length,
      deliveredToMx: mx.deliveries.length,
      inDeliveryAtMx: mx.waiting,
    };
    first.signal('SIGKILL');
    killed = true;
    const exit = await first.exited;
    await sending;
    expect(exit.signal).toBe('SIGKILL');
    const leftBehind = await queueAtKill(dir);

    // Phase 2: the same queue directory, and the messages not sent yet.
    const restartedAt = performance.now();
    const second = await GatewayProcess.start(env);
    const startMs = Math.round(performance.now() - restartedAt);
    await load(second.port);
    const accepted = acceptedIndexes(status);
    const missing = () => accepted.filter((i) => !mx.counts().has(idOf(i)));

    // Every accepted message delivered, or no progress for STALL_MS: then say why, from the queue.
    let lastCount = -1;
    let lastProgress = performance.now();
    const drainStarted = performance.now();
    await waitUntil(
      () => {
        const count = mx.deliveries.length;
        if (count !== lastCount) {
          lastCount = count;
          lastProgress = performance.now();
        }
        return missing().length === 0 || performance.now() - lastProgress > STALL_MS;
      },
      `delivery of every accepted message (${context})`,
      DRAIN_MS,
    );
    const drainMs = Math.round(performance.now() - drainStarted);
    const lost = missing();
    if (lost.length > 0) {
      await second.kill();
      const rows = queueRows(dir);
      const now = Date.now();
      const stuck = rows
        .filter((r) => r.state === 'delivering')
        .map(
          (r) =>
            `${r.n} 'delivering' leased to ${r.owner} for ${Math.round(((r.lease_until ?? now) - now) / 1000)} s more`,
        );
      expect.fail(
        `${lost.length} of ${accepted.length} messages that got a 250 did not reach the MX within ` +
          `${STALL_MS} ms of no progress after the restart (${context}). The queue holds: ` +
          `${JSON.stringify(rows)}. ${stuck.join('; ')}. ` +
          'Recipients the killed process had claimed stay leased to it for the whole lease ' +
          '(delivery-runner DEFAULT_LEASE_MS, 15 min): the embedded queue does not release a dead ' +
          "owner's leases when it opens, although it holds the directory's exclusive lock.",
      );
    }

    const counts = mx.counts();
    const acceptedIds = new Set(accepted.map(idOf));
    const duplicates = [...counts.values()].reduce((sum, n) => sum + (n - 1), 0);
    const unknown = status.flatMap((s, i) => (s === 'unknown' ? [i] : []));
    const refused = status.filter((s) => typeof s === 'number' && s !== 250);
    const strangers = [...counts.keys()].filter(
      (id) => !acceptedIds.has(id) && !unknown.some((i) => idOf(i) === id),
    );
    console.info(
      `outbound-kill ${context}: kill after ${atKill.accepted} accepted, ` +
        `${atKill.deliveredToMx} delivered, ${atKill.inDeliveryAtMx} in delivery at the MX, ` +
        `${countIn(leftBehind, 'queued')} queued and ${countIn(leftBehind, 'delivering')} ` +
        'leased (delivering) in the queue; ' +
        `restart listened in ${startMs} ms; ${accepted.length} accepted in all, ` +
        `${unknown.length} unknown (${unknown.filter((i) => counts.has(idOf(i))).length} of ` +
        `them arrived), ${refused.length} refused; all accepted delivered ${drainMs} ms after ` +
        `the second load; ${mx.deliveries.length} deliveries, ${duplicates} duplicates`,
    );
    expect(refused).toEqual([]);
    expect(strangers).toEqual([]);
    expect(lost).toEqual([]);
    // The kill came mid-load: some messages went to the second gateway.
    expect(accepted.length).toBeGreaterThan(atKill.accepted);
    await second.kill();
  });
});
