// Outbound delivery to MX hosts, against real receiving MTAs on 127.0.0.2–4 (one port for all,
// as MX hosts share port 25) and a real DNS server publishing their MX and A records: host order
// and fallback, DNS outcomes, per-recipient replies, lost connections, STARTTLS, SIZE, SMTPUTF8,
// 8BITMIME, DSN parameters, and connection reuse and limits.
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DnsLookups } from '../../../gateway/net/dns-lookups.ts';
import type { DeliveryRequest } from '../../../gateway/outbound/delivery.ts';
import { MxDelivery, type MxDeliveryOptions } from '../../../gateway/outbound/mx-delivery.ts';
import { type DnsRecord, startDnsServer, type TestDnsServer } from '../../helpers/dns-server.ts';
import {
  closeAllReceivingMtas,
  freePort,
  type MtaScript,
  startReceivingMta,
} from '../../helpers/receiving-mta.ts';

/** Three MTAs and an address where nothing listens. */
const [MX1, MX2, MX3, DEAD] = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'] as const;

let port: number;
let dns: TestDnsServer;
let delivery: MxDelivery;

const mx = (exchange: string, priority: number): DnsRecord => ({ type: 'MX', exchange, priority });

beforeAll(async () => {
  port = await freePort([MX1, MX2, MX3, DEAD]);
  dns = await startDnsServer({
    'mx1.test': [{ type: 'A', address: MX1 }],
    'mx2.test': [{ type: 'A', address: MX2 }],
    'mx3.test': [{ type: 'A', address: MX3 }],
    'dead.test': [{ type: 'A', address: DEAD }],
  });
});
afterAll(() => dns.close());

beforeEach(() => {
  delivery = newDelivery();
});
afterEach(async () => {
  await delivery.close();
  await closeAllReceivingMtas();
});

/** A delivery over a fresh DNS cache, so every test sees the zone as it set it. */
function newDelivery(options: Partial<MxDeliveryOptions> = {}): MxDelivery {
  const lookups = new DnsLookups({ servers: [dns.server], timeoutMs: 1_000 });
  return new MxDelivery({
    resolve: lookups.resolve,
    hostname: 'out.sender.test',
    port,
    connectTimeoutMs: 2_000,
    ...options,
  });
}

function mta(address: string, script: MtaScript = {}) {
  return startReceivingMta(address, port, script);
}

function message(
  domain: string,
  locals: readonly string[],
  extra: Partial<DeliveryRequest> = {},
): DeliveryRequest {
  const body = Buffer.from(
    `From: a@sender.test\r\nTo: someone@${domain}\r\nSubject: hello\r\n\r\nHello.\r\n`,
  );
  return {
    domain,
    sender: 'a@sender.test',
    recipients: locals.map((local) => ({ address: `${local}@${domain}` })),
    body: [body],
    sizeBytes: body.length,
    ...extra,
  };
}

describe('MX hosts and their order', () => {
  it('delivers to the most preferred MX host', async () => {
    dns.set('order.test', [mx('mx2.test', 20), mx('mx1.test', 10)]);
    const [first, second] = [await mta(MX1), await mta(MX2)];
    const report = await delivery.deliver(message('order.test', ['bob']));
    expect(report.results).toEqual([
      { address: 'bob@order.test', kind: 'delivered', reply: expect.stringMatching(/^250 /) },
    ]);
    expect(report).toMatchObject({ host: 'mx1.test', address: MX1 });
    expect(first.messages.map((m) => m.recipients)).toEqual([
      [{ address: 'bob@order.test', params: {} }],
    ]);
    expect(second.messages).toEqual([]);
  });

  it('falls back to the next MX host when the first refuses the connection', async () => {
    dns.set('refused.test', [mx('dead.test', 10), mx('mx1.test', 20)]);
    const backup = await mta(MX1);
    const report = await delivery.deliver(message('refused.test', ['bob']));
    expect(report.results[0]?.kind).toBe('delivered');
    expect(report).toMatchObject({ host: 'mx1.test', address: MX1 });
    expect(backup.messages).toHaveLength(1);
  });

  it('falls back to the next MX host when the first greets with 421', async () => {
    dns.set('busy.test', [mx('mx1.test', 10), mx('mx2.test', 20)]);
    const busy = await mta(MX1, { greeting: '421 4.3.2 Too busy, try later' });
    const backup = await mta(MX2);
    const report = await delivery.deliver(message('busy.test', ['bob']));
    expect(report.results[0]?.kind).toBe('delivered');
    expect(busy.connections).toBe(1);
    expect(busy.messages).toEqual([]);
    expect(backup.messages).toHaveLength(1);
  });

  it('falls back to the next MX host when the first answers MAIL with 4xx', async () => {
    dns.set('greylist.test', [mx('mx1.test', 10), mx('mx2.test', 20)]);
    await mta(MX1, { mail: '451 4.7.1 Greylisted, come back later' });
    const backup = await mta(MX2);
    const report = await delivery.deliver(message('greylist.test', ['bob']));
    expect(report.results[0]?.kind).toBe('delivered');
    expect(backup.messages).toHaveLength(1);
  });

  it('defers every recipient with the last reason when no MX host can be reached', async () => {
    dns.set('down.test', [mx('dead.test', 10), mx('mx1.test', 20)]);
    await mta(MX1, { greeting: '421 4.3.2 Too busy, try later' });
    const report = await delivery.deliver(message('down.test', ['bob', 'carol']));
    expect(report.results).toEqual([
      { address: 'bob@down.test', kind: 'deferred', reply: '421 4.3.2 Too busy, try later' },
      { address: 'carol@down.test', kind: 'deferred', reply: '421 4.3.2 Too busy, try later' },
    ]);
    const unreachable = await delivery.deliver(message('dead.test', ['bob']));
    expect(unreachable.results[0]).toEqual({
      address: 'bob@dead.test',
      kind: 'deferred',
      reply: expect.stringMatching(
        /^451 4\.4\.1 dead\.test\[127\.0\.0\.5\] connect: .*ECONNREFUSED/,
      ),
    });
  });

  it('spreads mail over MX hosts of equal preference', async () => {
    dns.set('equal.test', [mx('mx1.test', 10), mx('mx2.test', 10)]);
    const [one, two] = [await mta(MX1), await mta(MX2)];
    for (let i = 0; i < 30; i++) {
      const report = await delivery.deliver(message('equal.test', [`user${i}`]));
      expect(report.results[0]?.kind).toBe('delivered');
    }
    expect(one.messages.length + two.messages.length).toBe(30);
    // Each host gets a delivery with probability 1 - 2^-29 at least.
    expect(one.messages.length).toBeGreaterThan(0);
    expect(two.messages.length).toBeGreaterThan(0);
  });
});

describe('what DNS says', () => {
  it('delivers to the domain itself when it has no MX (implicit MX)', async () => {
    dns.set('implicit.test', [{ type: 'A', address: MX3 }]);
    const host = await mta(MX3);
    const report = await delivery.deliver(message('implicit.test', ['bob']));
    expect(report).toMatchObject({ host: 'implicit.test', address: MX3 });
    expect(report.results[0]?.kind).toBe('delivered');
    expect(host.messages).toHaveLength(1);
  });

  it('fails the recipients of a domain with a null MX', async () => {
    dns.set('nullmx.test', [mx('.', 0)]);
    const report = await delivery.deliver(message('nullmx.test', ['bob']));
    expect(report.results[0]).toMatchObject({
      kind: 'failed',
      reply: expect.stringMatching(/^556 5\.1\.10 /),
    });
    expect(report.host).toBeNull();
  });

  it('fails the recipients of a domain that does not exist', async () => {
    const report = await delivery.deliver(message('nowhere.test', ['bob']));
    expect(report.results[0]).toMatchObject({
      kind: 'failed',
      reply: expect.stringMatching(/^550 5\.1\.2 /),
    });
  });

  it('defers the recipients when DNS does not answer', async () => {
    dns.set('slow.test', [mx('mx1.test', 10)]);
    dns.delay('slow.test', 'never');
    const report = await delivery.deliver(message('slow.test', ['bob']));
    expect(report.results[0]).toEqual({
      address: 'bob@slow.test',
      kind: 'deferred',
      reply: '451 4.4.3 DNS lookup of MX for slow.test failed (ETIMEOUT)',
    });
  });
});

describe('replies to the transaction', () => {
  it('answers each recipient by its own RCPT reply and delivers to those accepted', async () => {
    dns.set('mixed.test', [mx('mx1.test', 10)]);
    const host = await mta(MX1, {
      rcpt: {
        'gone@mixed.test': ['550 5.1.1 <gone@mixed.test>: no such user'],
        'full@mixed.test': ['452 4.2.2 <full@mixed.test>: mailbox full'],
      },
    });
    const report = await delivery.deliver(message('mixed.test', ['ok', 'gone', 'full']));
    expect(report.results).toEqual([
      { address: 'ok@mixed.test', kind: 'delivered', reply: expect.stringMatching(/^250 /) },
      {
        address: 'gone@mixed.test',
        kind: 'failed',
        reply: '550 5.1.1 <gone@mixed.test>: no such user',
      },
      {
        address: 'full@mixed.test',
        kind: 'deferred',
        reply: '452 4.2.2 <full@mixed.test>: mailbox full',
      },
    ]);
    expect(host.messages.map((m) => m.recipients.map((r) => r.address))).toEqual([
      ['ok@mixed.test'],
    ]);
  });

  it('answers every recipient when all are refused, without sending the message', async () => {
    dns.set('refusing.test', [mx('mx1.test', 10)]);
    const host = await mta(MX1, {
      rcpt: {
        'a@refusing.test': ['550 5.1.1 <a@refusing.test>: no such user'],
        'b@refusing.test': ['450 4.2.1 <b@refusing.test>: try later'],
      },
    });
    const report = await delivery.deliver(message('refusing.test', ['a', 'b']));
    expect(report.results.map((r) => [r.kind, r.reply])).toEqual([
      ['failed', '550 5.1.1 <a@refusing.test>: no such user'],
      ['deferred', '450 4.2.1 <b@refusing.test>: try later'],
    ]);
    expect(host.messages).toEqual([]);
  });

  it('delivers a recipient deferred with 4xx once the host takes it', async () => {
    dns.set('retry.test', [mx('mx1.test', 10)]);
    const host = await mta(MX1, { rcpt: { 'bob@retry.test': ['451 4.7.1 Greylisted', null] } });
    const first = await delivery.deliver(message('retry.test', ['bob']));
    expect(first.results[0]).toMatchObject({ kind: 'deferred', reply: '451 4.7.1 Greylisted' });
    const second = await delivery.deliver(message('retry.test', ['bob']));
    expect(second.results[0]?.kind).toBe('delivered');
    expect(host.messages).toHaveLength(1);
  });

  it.each([
    ['554 5.7.1 Message rejected as spam', 'failed'],
    ['451 4.3.0 Queue full, try later', 'deferred'],
  ] as const)(
    'answers every accepted recipient by the reply to the data: %s',
    async (reply, kind) => {
      dns.set('data.test', [mx('mx1.test', 10)]);
      await mta(MX1, { data: reply, rcpt: { 'gone@data.test': ['550 5.1.1 no such user'] } });
      const report = await delivery.deliver(message('data.test', ['a', 'b', 'gone']));
      expect(report.results).toEqual([
        { address: 'a@data.test', kind, reply },
        { address: 'b@data.test', kind, reply },
        { address: 'gone@data.test', kind: 'failed', reply: '550 5.1.1 no such user' },
      ]);
    },
  );

  it('fails every recipient when the host refuses MAIL with 5xx', async () => {
    dns.set('banned.test', [mx('mx1.test', 10), mx('mx2.test', 20)]);
    await mta(MX1, { mail: '550 5.7.1 Sender blocked' });
    const backup = await mta(MX2);
    const report = await delivery.deliver(message('banned.test', ['a', 'b']));
    expect(report.results.map((r) => [r.kind, r.reply])).toEqual([
      ['failed', '550 5.7.1 Sender blocked'],
      ['failed', '550 5.7.1 Sender blocked'],
    ]);
    expect(backup.connections).toBe(0);
  });

  it('defers the recipients when the connection drops during the data', async () => {
    dns.set('drop.test', [mx('mx1.test', 10)]);
    const host = await mta(MX1, { data: 'drop' });
    const big = Buffer.alloc(512 * 1024, 'x\r\n');
    const report = await delivery.deliver(
      message('drop.test', ['a', 'b'], { body: [big], sizeBytes: big.length }),
    );
    expect(report.results.map((r) => r.kind)).toEqual(['deferred', 'deferred']);
    expect(report.results[0]?.reply).toMatch(
      /^451 4\.4\.2 mx1\.test\[127\.0\.0\.2\] transaction: /,
    );
    expect(host.messages).toEqual([]);
  });
});

describe('STARTTLS', () => {
  it('encrypts when offered, with a self-signed certificate recorded as not authorized', async () => {
    dns.set('tls.test', [mx('mx1.test', 10)]);
    const host = await mta(MX1);
    const report = await delivery.deliver(message('tls.test', ['bob']));
    expect(report.results[0]?.kind).toBe('delivered');
    expect(report.tls).toEqual({
      version: expect.stringMatching(/^TLSv1\.[23]$/),
      cipher: expect.any(String),
      authorized: false,
      verifyError: 'DEPTH_ZERO_SELF_SIGNED_CERT',
      verified: false,
    });
    expect(host.messages[0]?.secure).toBe(true);
  });

  it('delivers in clear to a host that does not offer STARTTLS', async () => {
    dns.set('clear.test', [mx('mx1.test', 10)]);
    const host = await mta(MX1, { starttls: 'none' });
    const report = await delivery.deliver(message('clear.test', ['bob']));
    expect(report.results[0]?.kind).toBe('delivered');
    expect(report.tls).toBeNull();
    expect(host.messages[0]?.secure).toBe(false);
  });

  it('never sends in clear after a failed handshake: the next host is tried instead', async () => {
    dns.set('badtls.test', [mx('mx1.test', 10)]);
    const broken = await mta(MX1, { starttls: 'broken' });
    const report = await delivery.deliver(message('badtls.test', ['bob']));
    expect(report.results[0]).toMatchObject({
      kind: 'deferred',
      reply: expect.stringMatching(/^451 4\.7\.5 mx1\.test\[127\.0\.0\.2\] STARTTLS: [^\n]+$/),
    });
    expect(broken.connections).toBe(1);
    expect(broken.messages).toEqual([]);

    dns.set('badtls2.test', [mx('mx1.test', 10), mx('mx2.test', 20)]);
    const backup = await mta(MX2);
    const fallback = await delivery.deliver(message('badtls2.test', ['bob']));
    expect(fallback).toMatchObject({ host: 'mx2.test', results: [{ kind: 'delivered' }] });
    expect(backup.messages).toHaveLength(1);
    expect(broken.messages).toEqual([]);
  });
});

describe('what the host announces', () => {
  it('fails a message larger than the host’s SIZE, without sending it', async () => {
    dns.set('small.test', [mx('mx1.test', 10)]);
    const host = await mta(MX1, { size: 64 });
    const report = await delivery.deliver(message('small.test', ['bob']));
    expect(report.results[0]).toMatchObject({
      kind: 'failed',
      reply: expect.stringMatching(/^552 5\.3\.4 Message of \d+ bytes exceeds .* 64 bytes/),
    });
    expect(host.messages).toEqual([]);
  });

  it('announces the size to a host that takes it', async () => {
    dns.set('sized.test', [mx('mx1.test', 10)]);
    const host = await mta(MX1, { size: 1_000_000 });
    const request = message('sized.test', ['bob']);
    await delivery.deliver(request);
    expect(host.messages[0]?.mailParams).toMatchObject({ SIZE: String(request.sizeBytes) });
  });

  it('fails a message that needs SMTPUTF8 at a host without it', async () => {
    dns.set('ascii.test', [mx('mx1.test', 10)]);
    const host = await mta(MX1, { hide: ['SMTPUTF8'] });
    const report = await delivery.deliver(message('ascii.test', ['bob'], { smtputf8: true }));
    expect(report.results[0]).toMatchObject({
      kind: 'failed',
      reply: expect.stringMatching(/^550 5\.6\.7 SMTPUTF8 is required/),
    });
    expect(host.messages).toEqual([]);
  });

  it('sends an internationalised address with SMTPUTF8 to a host that has it', async () => {
    dns.set('utf8.test', [mx('mx1.test', 10)]);
    const host = await mta(MX1);
    const report = await delivery.deliver({
      ...message('utf8.test', []),
      recipients: [{ address: 'jürgen@utf8.test' }],
      smtputf8: true,
    });
    expect(report.results[0]?.kind).toBe('delivered');
    expect(host.messages[0]?.mailParams).toMatchObject({ SMTPUTF8: true, BODY: '8BITMIME' });
    expect(host.messages[0]?.recipients[0]?.address).toBe('jürgen@utf8.test');
  });

  it('declares 8-bit data where 8BITMIME is offered, and fails it (5.6.3) where not', async () => {
    dns.set('eight.test', [mx('mx1.test', 10)]);
    dns.set('seven.test', [mx('mx2.test', 10)]);
    const [eight, seven] = [await mta(MX1), await mta(MX2, { hide: ['8BITMIME'] })];
    const body = Buffer.from('Subject: caf\xc3\xa9\r\n\r\nCaf\xc3\xa9.\r\n', 'latin1');
    const extra = { body: [body], sizeBytes: body.length, eightBit: true };
    const delivered = await delivery.deliver(message('eight.test', ['bob'], extra));
    expect(delivered.results[0]?.kind).toBe('delivered');
    expect(eight.messages[0]?.mailParams).toMatchObject({ BODY: '8BITMIME' });
    expect(eight.messages[0]?.body.equals(body)).toBe(true);
    const refused = await delivery.deliver(message('seven.test', ['bob'], extra));
    expect(refused.results[0]).toMatchObject({
      kind: 'failed',
      reply:
        '554 5.6.3 The message has 8-bit content, and mx2.test[127.0.0.3] does not offer 8BITMIME',
    });
    expect(seven.messages).toEqual([]);
  });

  it('sends 7-bit content declared 8BITMIME to a host without 8BITMIME, undeclared', async () => {
    dns.set('seven.test', [mx('mx2.test', 10)]);
    const seven = await mta(MX2, { hide: ['8BITMIME'] });
    const body = Buffer.from('Subject: plain\r\n\r\nPlain.\r\n');
    const extra = { body: [body], sizeBytes: body.length, eightBit: true };
    const report = await delivery.deliver(message('seven.test', ['bob'], extra));
    expect(report.results[0]?.kind).toBe('delivered');
    expect(seven.messages[0]?.mailParams).not.toHaveProperty('BODY');
    expect(seven.messages[0]?.body.equals(body)).toBe(true);
  });
});

describe('DSN parameters', () => {
  it('passes RET, ENVID, NOTIFY and ORCPT to a host that offers DSN', async () => {
    dns.set('dsn.test', [mx('mx1.test', 10)]);
    const host = await mta(MX1);
    const report = await delivery.deliver({
      ...message('dsn.test', []),
      sender: '',
      recipients: [
        {
          address: 'a@dsn.test',
          notify: ['success', 'failure'],
          originalRecipient: 'rfc822;a@dsn.test',
        },
        {
          address: 'b@dsn.test',
          notify: ['success', 'failure'],
          originalRecipient: 'rfc822;a@dsn.test',
        },
        { address: 'c@dsn.test', notify: ['never'] },
      ],
      returnContent: 'full',
      envelopeId: 'QQ314159',
    });
    expect(report.results.map((r) => r.kind)).toEqual(['delivered', 'delivered', 'delivered']);
    // One transaction: each RCPT carries its own NOTIFY and ORCPT.
    expect(host.messages.map((m) => [m.mailFrom, m.mailParams, m.recipients])).toEqual([
      [
        '',
        expect.objectContaining({ RET: 'FULL', ENVID: 'QQ314159' }),
        [
          {
            address: 'a@dsn.test',
            params: { NOTIFY: 'SUCCESS,FAILURE', ORCPT: 'rfc822;a@dsn.test' },
          },
          {
            address: 'b@dsn.test',
            params: { NOTIFY: 'SUCCESS,FAILURE', ORCPT: 'rfc822;a@dsn.test' },
          },
          { address: 'c@dsn.test', params: { NOTIFY: 'NEVER' } },
        ],
      ],
    ]);
    expect(host.connections).toBe(1);
  });

  it('sends one plain transaction to a host without DSN', async () => {
    dns.set('nodsn.test', [mx('mx1.test', 10)]);
    const host = await mta(MX1, { hide: ['DSN'] });
    await delivery.deliver({
      ...message('nodsn.test', []),
      recipients: [
        { address: 'a@nodsn.test', notify: ['success'] },
        { address: 'b@nodsn.test', notify: ['never'] },
      ],
      returnContent: 'headers',
      envelopeId: 'X1',
    });
    expect(host.messages).toHaveLength(1);
    expect(host.messages[0]?.mailParams).not.toHaveProperty('RET');
    expect(host.messages[0]?.recipients.map((r) => r.params)).toEqual([{}, {}]);
  });
});

describe('connections', () => {
  it('reuses an idle connection for the next group to the same host', async () => {
    dns.set('reuse.test', [mx('mx1.test', 10)]);
    const host = await mta(MX1);
    await delivery.deliver(message('reuse.test', ['a']));
    await delivery.deliver(message('reuse.test', ['b']));
    expect(host.connections).toBe(1);
    expect(host.messages.map((m) => m.connection)).toEqual([1, 1]);
  });

  it('keeps to the limit of connections per host when deliveries run at once', async () => {
    dns.set('busy-host.test', [mx('mx1.test', 10)]);
    const host = await mta(MX1);
    const limited = newDelivery({ perDestinationConcurrency: 2 });
    try {
      const reports = await Promise.all(
        Array.from({ length: 6 }, (_, i) => limited.deliver(message('busy-host.test', [`u${i}`]))),
      );
      expect(reports.every((report) => report.results[0]?.kind === 'delivered')).toBe(true);
      expect(host.messages).toHaveLength(6);
      expect(host.connections).toBeLessThanOrEqual(2);
    } finally {
      await limited.close();
    }
  });

  it('defers deliveries once closed', async () => {
    dns.set('closed.test', [mx('mx1.test', 10)]);
    const host = await mta(MX1);
    await delivery.close();
    const report = await delivery.deliver(message('closed.test', ['bob']));
    expect(report.results[0]).toMatchObject({
      kind: 'deferred',
      reply: '451 4.3.2 Delivery is shutting down',
      // Counted as mxhook's own (the `local` reason), not the destination's.
      local: true,
    });
    expect(host.connections).toBe(0);
  });
});

describe('logs', () => {
  it('logs each attempt with the host, address, reply and TLS', async () => {
    dns.set('logged.test', [mx('dead.test', 10), mx('mx1.test', 20)]);
    await mta(MX1);
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    const logged = newDelivery({ log: pino(sink) });
    try {
      await logged.deliver(message('logged.test', ['bob']));
    } finally {
      await logged.close();
    }
    expect(lines).toEqual([
      expect.objectContaining({
        level: 30,
        msg: 'outbound delivery attempt',
        domain: 'logged.test',
        host: 'dead.test',
        address: DEAD,
        reply: expect.stringMatching(/^451 4\.4\.1 /),
        tls: null,
      }),
      expect.objectContaining({
        level: 30,
        host: 'mx1.test',
        address: MX1,
        reply: expect.stringMatching(/^250 /),
        tls: expect.objectContaining({ authorized: false }),
        reused: false,
      }),
    ]);
  });
});
