// A transaction whose every recipient was refused leaves the server's transaction open (its MAIL
// was accepted): the session must be reset before it carries the next message, or that message's
// MAIL is a nested MAIL (503), failing recipients that were only to be deferred, or that the host
// takes. Against a real receiving MTA (smtp-server) reached through a real DNS server.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DnsLookups } from '../../../gateway/net/dns-lookups.ts';
import { MxDelivery } from '../../../gateway/outbound/mx-delivery.ts';
import { mxHost, startDnsServer, type TestDnsServer } from '../../helpers/dns-server.ts';
import {
  closeAllReceivingMtas,
  freePort,
  type MtaScript,
  startReceivingMta,
} from '../../helpers/receiving-mta.ts';

const GREYLISTED = '451 4.2.0 Greylisted, try again later';

let dns: TestDnsServer;
const deliveries: MxDelivery[] = [];

beforeAll(async () => {
  dns = await startDnsServer(mxHost('dest.test', '127.0.0.2'));
});
afterAll(() => dns.close());
afterEach(async () => {
  await Promise.all(deliveries.splice(0).map((delivery) => delivery.close()));
  await closeAllReceivingMtas();
});

/** alice's message to ann, then another to ben: two deliveries, one session. */
async function deliverOneAfterTheOther(script: MtaScript) {
  const port = await freePort(['127.0.0.2']);
  const mta = await startReceivingMta('127.0.0.2', port, script);
  const lookups = new DnsLookups({ servers: [dns.server], timeoutMs: 1_000 });
  const delivery = new MxDelivery({ resolve: lookups.resolve, hostname: 'mx.test', port });
  deliveries.push(delivery);
  const body = Buffer.from('From: alice@sender.test\r\nSubject: two messages\r\n\r\nHello.\r\n');
  const results = [];
  for (const address of ['ann@dest.test', 'ben@dest.test']) {
    const report = await delivery.deliver({
      domain: 'dest.test',
      sender: 'alice@sender.test',
      recipients: [{ address }],
      body: [body],
      sizeBytes: body.length,
    });
    results.push(...report.results);
  }
  return { mta, results };
}

describe('the message after one whose recipients were all refused', () => {
  it('is deferred with its own reply, not a 503 nested MAIL', async () => {
    const { mta, results } = await deliverOneAfterTheOther({
      rcpt: { 'ann@dest.test': [GREYLISTED], 'ben@dest.test': [GREYLISTED] },
    });
    expect(results).toEqual([
      { address: 'ann@dest.test', kind: 'deferred', reply: GREYLISTED },
      { address: 'ben@dest.test', kind: 'deferred', reply: GREYLISTED },
    ]);
    expect(mta.connections).toBe(1);
  });

  it('is delivered when the host takes it, over the same session', async () => {
    const { mta, results } = await deliverOneAfterTheOther({
      rcpt: { 'ann@dest.test': [GREYLISTED] },
    });
    expect(results.map((r) => [r.address, r.kind])).toEqual([
      ['ann@dest.test', 'deferred'],
      ['ben@dest.test', 'delivered'],
    ]);
    expect(mta.messages.map((m) => m.recipients.map((r) => r.address))).toEqual([
      ['ben@dest.test'],
    ]);
    expect(mta.connections).toBe(1);
  });
});
