// Several transactions over one session: a host that offers DSN gets recipients whose NOTIFY
// differs in separate transactions, and a first transaction whose every recipient was refused must
// not spoil the next (its MAIL would be a nested MAIL, 503, failing recipients that were only to
// be deferred, or that the host takes).
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

/** alice's message to ann (no NOTIFY) and ben (NOTIFY=FAILURE): two transactions, one session. */
async function deliverToBoth(script: MtaScript) {
  const port = await freePort(['127.0.0.2']);
  const mta = await startReceivingMta('127.0.0.2', port, script);
  const lookups = new DnsLookups({ servers: [dns.server], timeoutMs: 1_000 });
  const delivery = new MxDelivery({ resolve: lookups.resolve, hostname: 'mx.test', port });
  deliveries.push(delivery);
  const body = Buffer.from('From: alice@sender.test\r\nSubject: two groups\r\n\r\nHello.\r\n');
  const report = await delivery.deliver({
    domain: 'dest.test',
    sender: 'alice@sender.test',
    recipients: [{ address: 'ann@dest.test' }, { address: 'ben@dest.test', notify: ['failure'] }],
    body: [body],
    sizeBytes: body.length,
  });
  return { mta, results: report.results };
}

describe('transactions after one whose recipients were all refused', () => {
  it('defers the next group with its own reply, not a 503 nested MAIL', async () => {
    const { mta, results } = await deliverToBoth({
      rcpt: { 'ann@dest.test': [GREYLISTED], 'ben@dest.test': [GREYLISTED] },
    });
    expect(results).toEqual([
      { address: 'ann@dest.test', kind: 'deferred', reply: GREYLISTED },
      { address: 'ben@dest.test', kind: 'deferred', reply: GREYLISTED },
    ]);
    expect(mta.connections).toBe(1);
  });

  it('delivers the next group the host takes, over the same session', async () => {
    const { mta, results } = await deliverToBoth({ rcpt: { 'ann@dest.test': [GREYLISTED] } });
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
