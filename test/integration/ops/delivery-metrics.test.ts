// Delivery metrics as an operator scrapes them from /metrics: a relayed message whose recipients
// meet every kind of fate (delivered, refused by the server, no such domain, too large, no
// connection, a broken TLS handshake) counts each attempt under its outcome and reason, and each
// bounce queued for the sender under dsn_sent_total.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../../gateway/serve.ts';
import { mxHost, startDnsServer, type TestDnsServer } from '../../helpers/dns-server.ts';
import { closeAllFunctionServers, startFunctionServer } from '../../helpers/function-server.ts';
import { parsePrometheus } from '../../helpers/prometheus.ts';
import {
  closeAllReceivingMtas,
  freePort,
  type ReceivingMta,
  startReceivingMta,
} from '../../helpers/receiving-mta.ts';
import { serveWithMetrics } from '../../helpers/serve-with-metrics.ts';
import { inTransaction, sendData } from '../../helpers/smtp-client.ts';
import { waitUntil } from '../../helpers/wait.ts';

const RELAY_CLIENT = '127.0.0.9';
const MESSAGE =
  'From: alice@sender.test\r\nTo: everyone@dest.test\r\nSubject: fates\r\n' +
  'Message-ID: <fates@sender.test>\r\n\r\nSome arrive, some do not.\r\n';

let dns: TestDnsServer;
let running: RunningGateway | null = null;
let directory = '';

beforeAll(async () => {
  dns = await startDnsServer({
    ...mxHost('dest.test', '127.0.0.2'),
    ...mxHost('big.test', '127.0.0.3'),
    ...mxHost('sender.test', '127.0.0.4'),
    // Nothing listens there: the connection is refused.
    ...mxHost('down.test', '127.0.0.5'),
    ...mxHost('broken.test', '127.0.0.6'),
    // gone.test is not in the zone: NXDOMAIN.
  });
  directory = await mkdtemp(join(tmpdir(), 'mxhook-delivery-metrics-'));
});
afterAll(async () => {
  await running?.stop();
  await closeAllReceivingMtas();
  await closeAllFunctionServers();
  await dns.close();
  await rm(directory, { recursive: true, force: true });
});

describe('delivery metrics on /metrics', () => {
  it('count attempts by outcome and reason, and the bounces queued', async () => {
    const port = await freePort(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.6']);
    await startReceivingMta('127.0.0.2', port, {
      rcpt: { 'carol@dest.test': ['550 5.1.1 <carol@dest.test>: no such user'] },
    });
    await startReceivingMta('127.0.0.3', port, { size: 100 });
    const sender: ReceivingMta = await startReceivingMta('127.0.0.4', port);
    await startReceivingMta('127.0.0.6', port, { starttls: 'broken' });
    const fn = await startFunctionServer();
    const served = await serveWithMetrics(fn.url, {
      MXHOOK_QUEUE: directory,
      MXHOOK_RELAY_NETWORKS: `${RELAY_CLIENT}/32`,
      MXHOOK_DNS_SERVERS: dns.server,
      MXHOOK_DELIVERY_PORT: String(port),
      // The deferred recipients are not retried while the test runs.
      MXHOOK_RETRY_MIN: '3600',
    });
    running = served.running;
    const client = await inTransaction(running.smtpAddresses[0]!.port, {
      localAddress: RELAY_CLIENT,
      from: 'alice@sender.test',
      to: [
        'bob@dest.test',
        'carol@dest.test',
        'dan@gone.test',
        'erin@big.test',
        'fay@down.test',
        'gus@broken.test',
      ],
    });
    expect((await sendData(client, MESSAGE)).code).toBe(250);
    await client.command('QUIT');

    // carol, dan and erin each bounce, one notice per destination domain; the notices are
    // delivered to alice's MX: six attempts, then three.
    await waitUntil(() => sender.messages.length === 3, 'three bounces at the sender');
    const { observer } = served;
    await waitUntil(
      () => observer.deliveryAttempts.reduce((a, b) => a + b) === 9,
      'nine delivery attempts',
    );
    const exposition = parsePrometheus(
      await (await fetch(`http://127.0.0.1:${running.adminAddress!.port}/metrics`)).text(),
    );
    const counted = Object.fromEntries(
      exposition
        .select('mxhook_delivery_attempts_total')
        .filter((sample) => sample.value > 0)
        .map((sample) => [`${sample.labels['outcome']} ${sample.labels['reason']}`, sample.value]),
    );
    expect(counted).toEqual({
      'delivered ok': 4,
      'failed remote_5xx': 1,
      'failed dns': 1,
      'failed size': 1,
      'deferred connection': 1,
      'deferred tls': 1,
    });
    expect(exposition.value('mxhook_dsn_sent_total', { action: 'failed' })).toBe(3);
    expect(exposition.value('mxhook_dsn_sent_total', { action: 'delayed' })).toBe(0);
    expect(exposition.families.get('mxhook_dsn_sent_total')?.type).toBe('counter');
  });
});
