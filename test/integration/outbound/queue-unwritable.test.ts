// An embedded queue that cannot be written: mail to be delivered gets 451 at DATA (never a 250
// it could not keep) and /readyz says 503 until the queue can take mail again. Tests run as root
// here, and chmod does not stop root, so the spool directory is made unusable in ways that fail
// for root too: replaced by a plain file (every create under it fails with ENOTDIR), or removed
// with the whole queue directory (ENOENT).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  closeAllDnsServers,
  mxHost,
  startDnsServer,
  type TestDnsServer,
} from '../../helpers/dns-server.ts';
import { closeAllFunctionServers, startFunctionServer } from '../../helpers/function-server.ts';
import { messageText } from '../../helpers/outbound-load.ts';
import {
  closeAllRecordingMtas,
  type RecordingMta,
  startRecordingMta,
} from '../../helpers/recording-mta.ts';
import { destroyAllClients, inTransaction, sendData } from '../../helpers/smtp-client.ts';
import { startBridge, stopAllBridges, type TestBridge } from '../../helpers/start-bridge.ts';
import { waitUntil } from '../../helpers/wait.ts';

const RELAY_CLIENT = '127.0.0.9';
const MX_ADDRESS = '127.0.0.2';
/** The gateway checks writability every 5 s: a change shows within that, plus slack. */
const READY_WAIT_MS = 12_000;

let dns: TestDnsServer;
const directories: string[] = [];

beforeAll(async () => {
  dns = await startDnsServer(mxHost('dest.test', MX_ADDRESS));
});
afterAll(() => closeAllDnsServers());
afterEach(async () => {
  destroyAllClients();
  await stopAllBridges();
  await closeAllRecordingMtas();
  await closeAllFunctionServers();
  await Promise.all(directories.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function relaying(): Promise<{ bridge: TestBridge; mx: RecordingMta; dir: string }> {
  const mx = await startRecordingMta(MX_ADDRESS, 0);
  const fn = await startFunctionServer();
  const dir = await mkdtemp(join(tmpdir(), 'mxhook-unwritable-'));
  directories.push(dir);
  const bridge = await startBridge({
    functionUrl: fn.url,
    env: {
      MXHOOK_QUEUE: dir,
      MXHOOK_RELAY_NETWORKS: `${RELAY_CLIENT}/32`,
      MXHOOK_DELIVERY_PORT: String(mx.port),
      MXHOOK_DNS_SERVERS: dns.server,
      MXHOOK_RETRY_MIN: '0.2',
      MXHOOK_RETRY_MAX: '0.4',
    },
  });
  return { bridge, mx, dir };
}

async function send(port: number, id: string): Promise<string> {
  const to = 'bob@dest.test';
  const client = await inTransaction(port, {
    localAddress: RELAY_CLIENT,
    from: 'a@sender.test',
    to: [to],
  });
  const reply = await sendData(client, messageText(id, 'a@sender.test', to));
  await client.command('QUIT');
  return reply.raw;
}

async function readyz(bridge: TestBridge): Promise<number> {
  return (await fetch(`${bridge.adminUrl}/readyz`)).status;
}

/** Polls /readyz until it answers `status`; fails after READY_WAIT_MS. */
async function readyzBecomes(bridge: TestBridge, status: number): Promise<number> {
  const started = performance.now();
  let last = 0;
  while (performance.now() - started < READY_WAIT_MS) {
    last = await readyz(bridge);
    if (last === status) return Math.round(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`/readyz answered ${last}, not ${status}, for ${READY_WAIT_MS} ms`);
}

describe('a queue that cannot be written', () => {
  it('spool directory replaced by a file: DATA gets 451 and /readyz 503; once restored, 250 and 200 again', async () => {
    const { bridge, mx, dir } = await relaying();
    expect(await send(bridge.port, 'before@sender.test')).toMatch(/^250 /);
    await waitUntil(() => mx.deliveries.length === 1, 'the first message at the MX');
    expect(await readyz(bridge)).toBe(200);

    const spool = join(dir, 'spool');
    await rm(spool, { recursive: true });
    await writeFile(spool, 'not a directory\n');
    expect(await send(bridge.port, 'during@sender.test')).toMatch(/^451 /);
    const unreadyMs = await readyzBecomes(bridge, 503);
    expect(await send(bridge.port, 'during-2@sender.test')).toMatch(/^451 /);

    await rm(spool);
    await mkdir(spool);
    const readyMs = await readyzBecomes(bridge, 200);
    expect(await send(bridge.port, 'after@sender.test')).toMatch(/^250 /);
    await waitUntil(() => mx.deliveries.length === 2, 'the last message at the MX');
    expect(mx.deliveries.map((d) => d.messageId)).toEqual([
      'before@sender.test',
      'after@sender.test',
    ]);
    console.info(
      `queue-unwritable: /readyz 503 after ${unreadyMs} ms, 200 again after ${readyMs} ms`,
    );
  }, 40_000);

  it('queue directory removed: DATA gets 451 and /readyz 503', async () => {
    const { bridge, mx, dir } = await relaying();
    await rm(dir, { recursive: true });
    expect(await send(bridge.port, 'gone@sender.test')).toMatch(/^451 /);
    await readyzBecomes(bridge, 503);
    expect(mx.deliveries).toEqual([]);
  }, 40_000);
});
