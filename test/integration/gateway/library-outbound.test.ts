// The outbound side for a program embedding the gateway: createOutbound's middleware given to
// createGateway queues relayed mail before the 250 and delivers it to the recipient's MX (a
// receiving MTA on 127.0.0.2, found through a loopback DNS server); its settings are refused as
// the variables are, naming them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createGateway,
  createOutbound,
  type GatewayOutbound,
  type Handler,
} from '../../../gateway/index.ts';
import { createMetrics, type MetricsObserver } from '../../../gateway/metrics/index.ts';
import { mxHost, startDnsServer, type TestDnsServer } from '../../helpers/dns-server.ts';
import { closeAllReceivingMtas, freePort, startReceivingMta } from '../../helpers/receiving-mta.ts';
import { destroyAllClients, inTransaction, sendData } from '../../helpers/smtp-client.ts';
import { waitUntil } from '../../helpers/wait.ts';

const RELAY_CLIENT = '127.0.0.9';
const MESSAGE =
  'From: alice@sender.test\r\nTo: bob@dest.test\r\nSubject: embedded\r\n' +
  'Message-ID: <embedded@sender.test>\r\n\r\nSent by a program that embeds mxhook.\r\n';

let dns: TestDnsServer;
const directories: string[] = [];

beforeAll(async () => {
  dns = await startDnsServer({
    ...mxHost('dest.test', '127.0.0.2'),
  });
});
afterAll(async () => {
  destroyAllClients();
  await closeAllReceivingMtas();
  await dns.close();
  await Promise.all(directories.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function queueDirectory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mxhook-library-outbound-'));
  directories.push(dir);
  return dir;
}

describe('createOutbound', () => {
  it('queues relayed mail before the 250 and delivers it to the MX', async () => {
    const port = await freePort(['127.0.0.2']);
    const mta = await startReceivingMta('127.0.0.2', port);
    const metrics = createMetrics({ processMetrics: false });
    const outbound: GatewayOutbound = await createOutbound({
      queue: await queueDirectory(),
      hostname: 'mx.test',
      settings: {
        MXHOOK_RELAY_NETWORKS: `${RELAY_CLIENT}/32`,
        MXHOOK_DNS_SERVERS: dns.server,
        MXHOOK_DELIVERY_PORT: String(port),
      },
      observer: metrics.observer,
    });
    const handler: Handler = { data: () => ({ action: 'accept' }) };
    const gateway = createGateway({
      listen: [{ host: '127.0.0.1', port: 0, implicitTls: false }],
      hostname: 'mx.test',
      handler,
      middleware: [outbound.middleware],
      dsn: true,
      authChecks: [],
      observer: metrics.observer,
      shutdownGraceMs: 5_000,
    });
    const [address] = await gateway.start();
    try {
      const client = await inTransaction(address!.port, {
        localAddress: RELAY_CLIENT,
        from: 'alice@sender.test',
        to: ['bob@dest.test'],
      });
      expect((await sendData(client, MESSAGE)).code).toBe(250);
      await client.command('QUIT');
      await waitUntil(() => mta.messages.length === 1, 'the message at the MX');
      expect(mta.messages[0]!.recipients.map((r) => r.address)).toEqual(['bob@dest.test']);
      expect(mta.messages[0]!.body.toString()).toContain('Subject: embedded');
      expect(outbound.ready()).toBe(true);
      // Recorded as delivered, so the queue empties; counted in the metrics by reason.
      await waitUntil(
        () => (metrics.observer as MetricsObserver).deliveryAttempts.reduce((a, b) => a + b) === 1,
        'one delivery attempt counted',
      );
      for (let tries = 0; tries < 100 && (await outbound.queue.list(10)).length > 0; tries++)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await outbound.queue.list(10)).toEqual([]);
      expect(await metrics.render()).toContain(
        'mxhook_delivery_attempts_total{outcome="delivered",reason="ok"} 1',
      );
    } finally {
      await gateway.stop();
      await outbound.stop(1_000);
    }
  });

  it('refuses a bad or foreign setting, naming it', async () => {
    const queue = await queueDirectory();
    await expect(
      createOutbound({ queue, hostname: 'mx.test', settings: { MXHOOK_RETRY_MIN: 'soon' } }),
    ).rejects.toMatchObject({ code: 'ERR_CONFIG_INVALID', message: /^MXHOOK_RETRY_MIN: / });
    await expect(
      createOutbound({
        queue,
        hostname: 'mx.test',
        settings: { MXHOOK_LISTEN: '0.0.0.0:25' } as Record<string, string>,
      }),
    ).rejects.toMatchObject({ code: 'ERR_CONFIG_INVALID', message: /MXHOOK_LISTEN/ });
    await expect(createOutbound({ queue: ' ', hostname: 'mx.test' })).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
    });
  });
});
