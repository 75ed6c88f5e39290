// Two `mxhook serve` gateways sharing one PostgreSQL outbound queue (MXHOOK_QUEUE=postgres://…),
// both relaying to the same MX: each message is delivered exactly once (claims are leases that
// two nodes never share), and both nodes do part of the work (LISTEN/NOTIFY or polling wakes
// each). The MX tells the deliverers apart by their EHLO names (MXHOOK_HOSTNAME).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  closeAllDnsServers,
  mxHost,
  startDnsServer,
  type TestDnsServer,
} from '../../helpers/dns-server.ts';
import { closeAllFunctionServers, startFunctionServer } from '../../helpers/function-server.ts';
import { acceptedIndexes, type SendStatus, sendLoad } from '../../helpers/outbound-load.ts';
import { type RunningPostgres, startPostgres } from '../../helpers/postgres.ts';
import { closeAllRecordingMtas, startRecordingMta } from '../../helpers/recording-mta.ts';
import { destroyAllClients } from '../../helpers/smtp-client.ts';
import { startBridge, stopAllBridges } from '../../helpers/start-bridge.ts';
import { waitUntil } from '../../helpers/wait.ts';

const MESSAGES = 100;
const RELAY_CLIENT = '127.0.0.9';
const MX_ADDRESS = '127.0.0.2';
const GATEWAYS = ['gw-a.test', 'gw-b.test'] as const;

let postgres: RunningPostgres;
let dns: TestDnsServer;

beforeAll(async () => {
  postgres = await startPostgres();
  dns = await startDnsServer(mxHost('dest.test', MX_ADDRESS));
}, 120_000);
afterAll(async () => {
  await closeAllDnsServers();
  await postgres?.stop();
});
afterEach(async () => {
  destroyAllClients();
  await stopAllBridges();
  await closeAllRecordingMtas();
  await closeAllFunctionServers();
});

interface Run {
  readonly byGateway: Record<string, number>;
  /** Deliveries by a gateway other than the one that took the message in. */
  readonly crossed: number;
}

/**
 * Starts both gateways on the queue, sends MESSAGES relayed messages (message i to gateway
 * `sendTo(i)`), waits for them at the MX, and checks each arrived exactly once.
 */
async function relayThroughBoth(name: string, sendTo: (i: number) => number): Promise<Run> {
  // A slow MX and few workers per node: one node cannot take the whole queue in one claim.
  const mx = await startRecordingMta(MX_ADDRESS, 0, { dataDelayMs: 20 });
  const fn = await startFunctionServer();
  const bridges = await Promise.all(
    GATEWAYS.map((hostname) =>
      startBridge({
        functionUrl: fn.url,
        env: {
          MXHOOK_HOSTNAME: hostname,
          MXHOOK_QUEUE: postgres.url,
          MXHOOK_RELAY_NETWORKS: `${RELAY_CLIENT}/32`,
          MXHOOK_DELIVERY_PORT: String(mx.port),
          MXHOOK_DNS_SERVERS: dns.server,
          MXHOOK_RETRY_MIN: '0.2',
          MXHOOK_RETRY_MAX: '0.4',
          MXHOOK_DELIVERY_CONCURRENCY: '2',
        },
      }),
    ),
  );
  const idOf = (i: number) => `${name}-${i}@sender.test`;
  // Each gateway's share as its own status list: the others' messages count as already sent.
  const shares = bridges.map((_, g) =>
    Array.from({ length: MESSAGES }, (_, i): SendStatus => (sendTo(i) === g ? 'unsent' : 250)),
  );
  const started = performance.now();
  await Promise.all(
    bridges.map((bridge, g) =>
      sendLoad(shares[g]!, {
        port: bridge.port,
        localAddress: RELAY_CLIENT,
        sessions: 4,
        sender: 'alice@sender.test',
        recipient: (i) => `rcpt-${i}@dest.test`,
        messageId: idOf,
      }),
    ),
  );
  const status = Array.from({ length: MESSAGES }, (_, i) => shares[sendTo(i)]![i]!);
  expect(acceptedIndexes(status)).toHaveLength(MESSAGES);
  const sentMs = Math.round(performance.now() - started);

  await waitUntil(
    () => mx.deliveries.length >= MESSAGES,
    `${MESSAGES} deliveries (${mx.deliveries.length} so far)`,
    60_000,
  );
  const deliveredMs = Math.round(performance.now() - started);
  // Long enough for a second delivery of anything to show: several retry intervals and polls.
  await new Promise((resolve) => setTimeout(resolve, 2_000));

  const counts = mx.counts();
  const duplicates = [...counts].filter(([, n]) => n > 1);
  const byGateway = Object.fromEntries(
    GATEWAYS.map((host) => [host, mx.deliveries.filter((d) => d.ehlo === host).length]),
  );
  const crossed = mx.deliveries.filter((d) => d.receivedBy !== d.ehlo).length;
  console.info(
    `postgres-relay ${name}: ${MESSAGES} accepted in ${sentMs} ms, all delivered ` +
      `${deliveredMs} ms after the first send; ${mx.deliveries.length} deliveries, ` +
      `${duplicates.length} duplicated; delivered by ${JSON.stringify(byGateway)}, ${crossed} ` +
      'by the gateway that did not take the message in',
  );
  expect(duplicates).toEqual([]);
  expect([...counts.keys()].sort()).toEqual(
    Array.from({ length: MESSAGES }, (_, i) => idOf(i)).sort(),
  );
  expect(mx.deliveries.every((d) => d.recipients.length === 1)).toBe(true);
  expect(new Set(mx.deliveries.map((d) => d.receivedBy))).toEqual(
    new Set(GATEWAYS.filter((_, g) => status.some((__, i) => sendTo(i) === g))),
  );
  return { byGateway, crossed };
}

describe('two gateways on one PostgreSQL queue', () => {
  it(`deliver ${MESSAGES} relayed messages, sent to both, exactly once each; both deliver some`, {
    timeout: 90_000,
  }, async () => {
    const { byGateway } = await relayThroughBoth('split', (i) => i % GATEWAYS.length);
    for (const host of GATEWAYS) expect(byGateway[host], host).toBeGreaterThan(0);
  });

  it(`deliver ${MESSAGES} messages all sent to one exactly once each; the other delivers some`, {
    timeout: 90_000,
  }, async () => {
    const { byGateway, crossed } = await relayThroughBoth('one-sided', () => 0);
    expect(byGateway[GATEWAYS[1]], GATEWAYS[1]).toBeGreaterThan(0);
    expect(crossed).toBe(byGateway[GATEWAYS[1]]);
  });
});
