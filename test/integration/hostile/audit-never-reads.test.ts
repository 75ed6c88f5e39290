// An audit subscriber that connects and never reads, while `mxhook serve` (a child process, so its
// memory is its own) takes up to 1,000 messages a second: the gateway keeps answering every
// message, the subscriber's backlog stays within its bounds (its oldest events dropped and
// counted), and the gateway keeps no more memory than without a subscriber.
//
// Memory is read after a full collection (SIGUSR2 to test/bench/gc-on-signal.ts, preloaded): the
// peak RSS of a busy process is mostly garbage waiting for the collector, and which run's peak is
// higher says more about when V8 last collected than about what the process keeps.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditStatus } from '../../../gateway/audit/audit-hub.ts';
import {
  BACKLOG_MAX_BYTES,
  BACKLOG_MAX_EVENTS,
  SOCKET_HIGH_WATER_BYTES,
} from '../../../gateway/audit/audit-subscriber.ts';
import { GATEWAY_NODE_FLAGS } from '../../../gateway/node-flags.ts';
import { authorization } from '../../helpers/audit-stream.ts';
import {
  closeAllFunctionServers,
  json,
  startFunctionServer,
} from '../../helpers/function-server.ts';
import { parsePrometheus } from '../../helpers/prometheus.ts';
import { freePort } from '../../helpers/receiving-mta.ts';
import { afterEhlo, destroyAllClients, sendData, transaction } from '../../helpers/smtp-client.ts';
import { newSecret } from '../../helpers/start-bridge.ts';

const NODE = fileURLToPath(new URL('../../../node_modules/.bin/node', import.meta.url));
const CLI = fileURLToPath(new URL('../../../gateway/cli.ts', import.meta.url));
const GC_ON_SIGNAL = fileURLToPath(new URL('../../bench/gc-on-signal.ts', import.meta.url));
const TOKEN = randomBytes(32).toString('base64url');

/** The same load runs without the subscriber, then with it. */
const MESSAGES = 5_000;
const SESSIONS = 25;
/** At most this many messages a second, in all. */
const MESSAGES_PER_SECOND = 1_000;
/**
 * The longest answer a function may give (20 lines of 400 characters), to RCPT and to the data:
 * the `reply` events carry it, so the events made for the subscriber add up to tens of MiB, and
 * keeping them would show in the gateway's memory.
 */
const LONG_ANSWER = {
  message: Array.from({ length: 20 }, (_, i) => `accepted, line ${i} ${'.'.repeat(380)}`),
};
const MESSAGE = 'From: load@client.test\r\nSubject: load\r\n\r\nA small message.\r\n';

let gateway: ChildProcess | null = null;
let workDir = '';
let smtpPort = 0;
let adminUrl = '';

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'mxhook-audit-load-'));
  const fn = await startFunctionServer();
  fn.answer('rcpt', json({ ...LONG_ANSWER, code: 250, enhanced: '2.1.5' }));
  fn.answer('data', json({ ...LONG_ANSWER, code: 250, enhanced: '2.0.0' }));
  smtpPort = await freePort(['127.0.0.1']);
  const adminPort = await freePort(['127.0.0.1']);
  adminUrl = `http://127.0.0.1:${adminPort}`;
  // With the flags the image, the systemd unit and `npm run serve` start it with.
  gateway = spawn(
    NODE,
    [...GATEWAY_NODE_FLAGS, '--expose-gc', '--import', GC_ON_SIGNAL, CLI, 'serve'],
    {
      cwd: workDir,
      env: {
        PATH: process.env['PATH'] ?? '',
        MXHOOK_LISTEN: `127.0.0.1:${smtpPort}`,
        MXHOOK_HTTP_LISTEN: `127.0.0.1:${adminPort}`,
        MXHOOK_HOSTNAME: 'mx.test',
        MXHOOK_FUNCTION_URL: fn.url,
        MXHOOK_SIGNING_SECRET: newSecret(),
        MXHOOK_AUTH_CHECKS: 'none',
        MXHOOK_PAYLOAD: 'raw',
        MXHOOK_LOG_LEVEL: 'warn',
        MXHOOK_ADMIN_TOKEN: TOKEN,
        BENCH_GC_REPORT_DIR: workDir,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  await until('the gateway to be ready', async () => (await fetch(`${adminUrl}/readyz`)).ok);
}, 90_000);

afterAll(async () => {
  destroyAllClients();
  if (gateway !== null && gateway.exitCode === null) {
    const exited = new Promise((resolve) => gateway!.once('exit', resolve));
    gateway.kill('SIGTERM');
    await exited;
  }
  await closeAllFunctionServers();
  await rm(workDir, { recursive: true, force: true });
});

/** Polls `condition` (which may fail while the gateway starts) until it holds, for a minute at most. */
async function until(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + 60_000;
  while (!(await condition().catch(() => false))) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `count` messages over SESSIONS sessions, at most MESSAGES_PER_SECOND; resolves with the 250s. */
async function load(count: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const slot = async (): Promise<boolean> => {
    const index = next++;
    if (index >= count) return false;
    const wait = started + (index * 1000) / MESSAGES_PER_SECOND - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    return true;
  };
  const session = async (): Promise<number> => {
    const client = await afterEhlo(smtpPort);
    let accepted = 0;
    while (await slot()) {
      await transaction(client, 'load@client.test', ['rcpt@mx.test']);
      if ((await sendData(client, MESSAGE)).code === 250) accepted++;
    }
    await client.command('QUIT');
    return accepted;
  };
  const counts = await Promise.all(Array.from({ length: SESSIONS }, session));
  return counts.reduce((a, b) => a + b, 0);
}

async function residentBytes(): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  return parsePrometheus(text).value('process_resident_memory_bytes');
}

async function auditStatus(): Promise<AuditStatus> {
  const response = await fetch(`${adminUrl}/v1/audit`, { headers: authorization(TOKEN) });
  return (await response.json()) as AuditStatus;
}

/** Connects to the stream, sends the request, and never reads a byte of the answer. */
function subscribeAndNeverRead(port: number): Socket {
  const socket = connect({ host: '127.0.0.1', port });
  socket.pause();
  socket.write(
    `GET /v1/audit/stream?types=session,decision,queue,delivery,reply HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`,
  );
  return socket;
}

/** What one run of `load` saw: its 250s, how long it took, the gateway's peak RSS and the subscriber's worst backlog. */
interface Run {
  readonly accepted: number;
  readonly seconds: number;
  readonly peakBytes: number;
  readonly worst: { backlogEvents: number; backlogBytes: number; socketBytes: number };
}

/** `load(count)`, sampling the gateway's RSS and the audit subscriber every 100 ms meanwhile. */
async function measured(count: number): Promise<Run> {
  let peakBytes = await residentBytes();
  const worst = { backlogEvents: 0, backlogBytes: 0, socketBytes: 0 };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakBytes = Math.max(peakBytes, await residentBytes());
      for (const stats of (await auditStatus()).subscribers) {
        worst.backlogEvents = Math.max(worst.backlogEvents, stats.backlogEvents);
        worst.backlogBytes = Math.max(worst.backlogBytes, stats.backlogBytes);
        worst.socketBytes = Math.max(worst.socketBytes, stats.socketBytes);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const started = performance.now();
  const accepted = await load(count);
  const seconds = (performance.now() - started) / 1000;
  sampling = false;
  await sampler;
  return { accepted, seconds, peakBytes, worst };
}

interface Kept {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
}

/** The gateway's memory after a full collection: what it keeps. */
async function afterFullGc(): Promise<Kept> {
  const report = join(workDir, `${gateway!.pid}.json`);
  await rm(report, { force: true });
  gateway!.kill('SIGUSR2');
  let kept: Kept | null = null;
  await until('the collection report', async () => {
    kept = JSON.parse(await readFile(report, 'utf8')) as Kept;
    return true;
  });
  return kept!;
}

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);

/**
 * What a subscriber may add to the memory the gateway keeps: its backlog (1 MiB) and the replay
 * ring (1 MiB) as strings, the socket's unsent bytes (64 KiB and one event), the objects around
 * them; the rest is room for what any busy minute leaves (compiled code, caches). Keeping the
 * events made for it would be over ten times this (they are about 80 MiB).
 */
const KEPT_LIMIT_BYTES = 8 * 2 ** 20;

describe('an audit subscriber that never reads', () => {
  it('neither slows the gateway nor makes it keep more memory, under ~1,000 messages a second', async () => {
    // The same load twice: without a subscriber (the gateway's heap grows to its working size
    // under it), then with one that never reads.
    const alone = await measured(MESSAGES);
    const keptAlone = await afterFullGc();
    const subscriber = subscribeAndNeverRead(Number(new URL(adminUrl).port));
    await until('the subscriber', async () => (await auditStatus()).subscribers.length === 1);
    const watched = await measured(MESSAGES);
    const keptWatched = await afterFullGc();
    const status = await auditStatus();
    const [stats] = status.subscribers;
    process.stdout.write(
      `audit load: ${MESSAGES} messages alone in ${alone.seconds.toFixed(1)} s, ` +
        `with the subscriber in ${watched.seconds.toFixed(1)} s (${Math.round(MESSAGES / watched.seconds)}/s); ` +
        `${status.made.events} events made (${mib(status.made.bytes)} MiB), ${stats?.dropped} dropped; ` +
        `worst backlog ${watched.worst.backlogEvents} events / ${watched.worst.backlogBytes} bytes, ` +
        `socket ${watched.worst.socketBytes} bytes; peak RSS ${mib(alone.peakBytes)} MiB alone, ` +
        `${mib(watched.peakBytes)} MiB with the subscriber; after a full collection: ` +
        `heap ${mib(keptAlone.heapUsed)} then ${mib(keptWatched.heapUsed)} MiB, ` +
        `external ${mib(keptAlone.external)} then ${mib(keptWatched.external)} MiB, ` +
        `RSS ${mib(keptAlone.rss)} then ${mib(keptWatched.rss)} MiB\n`,
    );

    // The gateway kept serving: every message got its 250, with the subscriber as without.
    expect([alone.accepted, watched.accepted]).toEqual([MESSAGES, MESSAGES]);
    // The subscriber is still connected, behind, with what it lost counted.
    expect(stats).toBeDefined();
    expect(stats!.dropped).toBeGreaterThan(0);
    expect(watched.worst.backlogEvents).toBeLessThanOrEqual(BACKLOG_MAX_EVENTS);
    expect(watched.worst.backlogBytes).toBeLessThanOrEqual(BACKLOG_MAX_BYTES);
    // Nothing is written to a socket past its high-water mark: it holds one event more at most.
    expect(watched.worst.socketBytes).toBeLessThanOrEqual(SOCKET_HIGH_WATER_BYTES + 16 * 1024);
    // The events were made, and not kept.
    expect(status.made.bytes).toBeGreaterThan(10 * KEPT_LIMIT_BYTES);
    const keptMore =
      keptWatched.heapUsed + keptWatched.external - (keptAlone.heapUsed + keptAlone.external);
    expect(keptMore).toBeLessThan(KEPT_LIMIT_BYTES);
    // RSS as well, more loosely: pages the collector freed may stay mapped for a while.
    expect(keptWatched.rss - keptAlone.rss).toBeLessThan(4 * KEPT_LIMIT_BYTES);
    subscriber.destroy();
  }, 300_000);
});
