// The delivery runner's bound on deliveries in progress (MXHOOK_DELIVERY_CONCURRENCY), and the
// leases of what it claimed but never started: given back when it stops, and when they waited too
// long for a worker; the messages of groups started together read in one call. A real embedded
// queue, real MX delivery, a real DNS server giving each destination domain its own MX host name
// (so the per-host connection cap does not bound them), and a receiving MTA that holds each
// message a while before its 250.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DnsLookups } from '../../../gateway/net/dns-lookups.ts';
import { DeliveryRunner } from '../../../gateway/outbound/delivery-runner.ts';
import { MxDelivery } from '../../../gateway/outbound/mx-delivery.ts';
import { openQueue } from '../../../gateway/outbound/open-queue.ts';
import type { OutboundQueue } from '../../../gateway/outbound/queue.ts';
import { mxHost, startDnsServer, type TestDnsServer, type Zone } from '../../helpers/dns-server.ts';
import {
  closeAllRecordingMtas,
  type RecordingMta,
  startRecordingMta,
} from '../../helpers/recording-mta.ts';

const DOMAINS = Array.from({ length: 12 }, (_, i) => `d${i}.test`);

let dns: TestDnsServer;
let dir: string;
let queue: OutboundQueue;
let delivery: MxDelivery;
const runners: DeliveryRunner[] = [];

beforeAll(async () => {
  const zone: Zone = Object.assign({}, ...DOMAINS.map((domain) => mxHost(domain, '127.0.0.2')));
  dns = await startDnsServer(zone);
});
afterAll(() => dns.close());

afterEach(async () => {
  await Promise.all(runners.splice(0).map((runner) => runner.stop(1_000)));
  await delivery?.close();
  await queue?.close();
  await closeAllRecordingMtas();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** One message to one recipient at each of `domains`, queued; an MTA that holds each `delayMs`. */
async function setUp(domains: readonly string[], delayMs: number): Promise<RecordingMta> {
  const mta = await startRecordingMta('127.0.0.2', 0, { dataDelayMs: delayMs });
  dir = await mkdtemp(join(tmpdir(), 'mxhook-runner-'));
  queue = await openQueue(dir);
  const lookups = new DnsLookups({ servers: [dns.server], timeoutMs: 1_000 });
  delivery = new MxDelivery({ resolve: lookups.resolve, hostname: 'out.test', port: mta.port });
  for (const [index, domain] of domains.entries()) {
    const body = Buffer.from(
      `Message-ID: <m${index}@out.test>\r\nSubject: ${index}\r\n\r\nHi.\r\n`,
    );
    await queue.enqueue({
      sender: 'a@out.test',
      recipients: [{ address: `rcpt@${domain}` }],
      body: [body],
      origin: 'test',
    });
  }
  return mta;
}

function runner(concurrency: number, leaseMs?: number, from = queue): DeliveryRunner {
  const started = new DeliveryRunner({
    queue: from,
    deliver: (request) => delivery.deliver(request),
    owner: `runner-${runners.length}`,
    concurrency,
    retry: { minMs: 60_000, maxMs: 60_000, lifetimeMs: 3_600_000 },
    hostname: 'out.test',
    log: pino({ level: 'silent' }),
    pollMs: 50,
    ...(leaseMs === undefined ? {} : { leaseMs }),
  });
  runners.push(started);
  started.start();
  return started;
}

/** Samples `mta.waiting` until `count` messages were delivered; the most seen at once. */
async function mostAtOnce(mta: RecordingMta, count: number): Promise<number> {
  let most = 0;
  const deadline = Date.now() + 20_000;
  while (mta.deliveries.length < count && Date.now() < deadline) {
    most = Math.max(most, mta.waiting);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return most;
}

describe('deliveries in progress', () => {
  it('never exceed the concurrency, however many destinations are due', async () => {
    const mta = await setUp(DOMAINS, 150);
    runner(3);
    const most = await mostAtOnce(mta, DOMAINS.length);
    expect(mta.deliveries).toHaveLength(DOMAINS.length);
    expect(most).toBe(3);
    expect([...mta.counts().values()].every((count) => count === 1)).toBe(true);
  });

  it('reads the messages of the groups one pass starts together, in one call', async () => {
    const mta = await setUp(DOMAINS, 150);
    const reads: number[] = [];
    const counting = new Proxy(queue, {
      get(target, property) {
        if (property === 'messagesWithBodies') {
          return (ids: readonly string[]) => {
            reads.push(ids.length);
            return target.messagesWithBodies(ids);
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    runner(3, undefined, counting);
    await mostAtOnce(mta, DOMAINS.length);
    expect(mta.deliveries).toHaveLength(DOMAINS.length);
    // The first pass starts a group for each of the three workers.
    expect(reads[0]).toBe(3);
    expect(reads.reduce((sum, n) => sum + n, 0)).toBe(DOMAINS.length);
  });
});

describe('claims never started', () => {
  it('are given back when the runner stops, and the next delivers them, each once', async () => {
    const mta = await setUp(DOMAINS.slice(0, 5), 300);
    const first = runner(1);
    while (mta.waiting === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await first.stop(2_000);
    expect(mta.deliveries).toHaveLength(1);
    const recipients = (await queue.list(10)).flatMap((message) => message.recipients);
    // Due again at once: queued, never attempted, not leased until the lease runs out.
    expect(recipients.map((r) => [r.state, r.attempts])).toEqual(
      Array.from({ length: 4 }, () => ['queued', 0]),
    );
    runner(2);
    await mostAtOnce(mta, 5);
    expect([...mta.counts().values()]).toEqual([1, 1, 1, 1, 1]);
  });

  it('are given back and claimed again when they waited a third of their lease', async () => {
    // A 600 ms lease: groups still waiting after 200 ms go back; each delivery takes 300 ms. A
    // second runner takes whatever lease runs out: a group started after its lease ran out would
    // be delivered by both.
    const mta = await setUp(DOMAINS.slice(0, 6), 300);
    runner(1, 600);
    runner(1, 600);
    await mostAtOnce(mta, 6);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect([...mta.counts().values()]).toEqual([1, 1, 1, 1, 1, 1]);
  });
});
