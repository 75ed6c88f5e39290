// Reading a DNS response (through the wire format, as a server sends it) into the answer to one
// question, and the forms a DNS server may be given in.
import { Packet, type Resource } from 'dns2';
import { describe, expect, it } from 'vitest';
import { DnsFailure, readResponse } from '../../../../gateway/net/dns-answer.ts';
import { parseDnsServer } from '../../../../gateway/net/dns-query.ts';

const IN = Packet.CLASS.IN;

function record(name: string, type: keyof typeof Packet.TYPE, ttl: number, data: object): Resource {
  return { name, type: Packet.TYPE[type], class: IN, ttl, ...data } as Resource;
}

function soa(ttl: number, minimum: number): Resource {
  return record('test', 'SOA', ttl, {
    primary: 'ns.test',
    admin: 'hostmaster.test',
    serial: 1,
    refresh: 3600,
    retry: 600,
    expiration: 86_400,
    minimum,
  });
}

/** A response to `name`/`type` as it arrives: encoded, then parsed. */
function response(
  name: string,
  type: keyof typeof Packet.TYPE,
  rcode: number,
  answers: Resource[],
  authorities: Resource[] = [],
): Packet {
  const packet = new Packet();
  packet.header.qr = 1;
  packet.header.rcode = rcode;
  packet.questions.push(new Packet.Question(name, Packet.TYPE[type], IN));
  packet.answers = answers;
  packet.authorities = authorities;
  return Packet.parse(packet.toBuffer());
}

const { NOERROR, NXDOMAIN } = Packet.RCODE;

describe('readResponse', () => {
  it('follows a CNAME chain to the records of the asked type, with the smallest TTL', () => {
    const packet = response('Sel._domainkey.Sender.test', 'TXT', NOERROR, [
      record('sel._domainkey.sender.test', 'CNAME', 600, { domain: 'sel.esp.test' }),
      record('SEL.esp.test', 'CNAME', 90, { domain: 'k1.keys.esp.test.' }),
      record('k1.keys.esp.test', 'TXT', 3600, { data: ['v=DKIM1; ', 'p=abc'] }),
      record('other.test', 'TXT', 1, { data: ['not ours'] }),
    ]);
    expect(readResponse(packet, 'Sel._domainkey.Sender.test.', 'TXT')).toEqual({
      kind: 'records',
      values: [['v=DKIM1; ', 'p=abc']],
      ttlSeconds: 90,
    });
  });

  it('answers a CNAME question with the alias itself, not its target', () => {
    const packet = response('www.test', 'CNAME', NOERROR, [
      record('www.test', 'CNAME', 60, { domain: 'web.test' }),
      record('web.test', 'CNAME', 60, { domain: 'host.test' }),
    ]);
    expect(readResponse(packet, 'www.test', 'CNAME')).toMatchObject({ values: ['web.test'] });
  });

  it('reads A, AAAA, MX, PTR and NS records in their node:dns shapes', () => {
    const cases = [
      ['A', record('h.test', 'A', 5, { address: '192.0.2.1' }), '192.0.2.1'],
      ['AAAA', record('h.test', 'AAAA', 5, { address: '2001:db8::1' }), '2001:db8::1'],
      [
        'MX',
        record('h.test', 'MX', 5, { exchange: 'mx.test', priority: 5 }),
        { exchange: 'mx.test', priority: 5 },
      ],
      ['PTR', record('h.test', 'PTR', 5, { domain: 'ptr.test' }), 'ptr.test'],
      ['NS', record('h.test', 'NS', 5, { ns: 'ns1.test' }), 'ns1.test'],
    ] as const;
    for (const [type, answer, value] of cases) {
      const packet = response('h.test', type, NOERROR, [answer]);
      expect(readResponse(packet, 'h.test', type)).toEqual({
        kind: 'records',
        values: [value],
        ttlSeconds: 5,
      });
    }
  });

  it('reads NXDOMAIN and an empty answer as negative, for min(SOA TTL, SOA minimum)', () => {
    const missing = response('x.test', 'TXT', NXDOMAIN, [], [soa(300, 60)]);
    expect(readResponse(missing, 'x.test', 'TXT')).toEqual({
      kind: 'negative',
      code: 'ENOTFOUND',
      ttlSeconds: 60,
    });
    const empty = response('x.test', 'TXT', NOERROR, [], [soa(30, 60)]);
    expect(readResponse(empty, 'x.test', 'TXT')).toEqual({
      kind: 'negative',
      code: 'ENODATA',
      ttlSeconds: 30,
    });
    const bare = response('x.test', 'TXT', NOERROR, []);
    expect(readResponse(bare, 'x.test', 'TXT')).toMatchObject({
      code: 'ENODATA',
      ttlSeconds: null,
    });
  });

  it('reads a CNAME chain without records of the type, or a loop, as ENODATA', () => {
    const dangling = response('a.test', 'TXT', NOERROR, [
      record('a.test', 'CNAME', 60, { domain: 'b.test' }),
      record('b.test', 'A', 60, { address: '192.0.2.1' }),
    ]);
    expect(readResponse(dangling, 'a.test', 'TXT')).toMatchObject({ code: 'ENODATA' });
    const loop = response('a.test', 'TXT', NOERROR, [
      record('a.test', 'CNAME', 60, { domain: 'b.test' }),
      record('b.test', 'CNAME', 60, { domain: 'a.test' }),
    ]);
    expect(readResponse(loop, 'a.test', 'TXT')).toMatchObject({ code: 'ENODATA' });
  });

  it('fails with the node:dns code of an error rcode', () => {
    const codes = [
      [Packet.RCODE.SERVFAIL, 'ESERVFAIL'],
      [Packet.RCODE.REFUSED, 'EREFUSED'],
      [Packet.RCODE.FORMERR, 'EFORMERR'],
      [Packet.RCODE.NOTIMP, 'ENOTIMP'],
      [Packet.RCODE.NOTAUTH, 'EBADRESP'],
    ] as const;
    for (const [rcode, code] of codes) {
      const packet = response('x.test', 'A', rcode, []);
      expect(() => readResponse(packet, 'x.test', 'A')).toThrow(
        expect.objectContaining({ code, name: 'DnsFailure' }),
      );
    }
  });

  it('fails with EBADRESP rather than give part of an answer whose records did not decode', () => {
    const packet = response('x.test', 'TXT', NOERROR, [
      record('x.test', 'TXT', 60, { data: ['v=spf1 -all'] }),
    ]);
    packet.errors.push(new Packet.DecodeError('answers[1]: bad rdata'));
    expect(() => readResponse(packet, 'x.test', 'TXT')).toThrow(DnsFailure);
  });
});

describe('parseDnsServer', () => {
  it('takes ip, ip:port, a bare IPv6 address and [ipv6]:port', () => {
    expect(parseDnsServer('192.0.2.53')).toEqual({ host: '192.0.2.53', port: 53 });
    expect(parseDnsServer('127.0.0.1:5353')).toEqual({ host: '127.0.0.1', port: 5353 });
    expect(parseDnsServer('2001:db8::53')).toEqual({ host: '2001:db8::53', port: 53 });
    expect(parseDnsServer('[::1]:5353')).toEqual({ host: '::1', port: 5353 });
  });

  it('refuses names, bad ports and unbracketed IPv6 with a port', () => {
    for (const text of [
      'dns.example',
      'dns.example:53',
      '127.0.0.1:0',
      '127.0.0.1:65536',
      '[127.0.0.1]:53',
      '',
    ]) {
      expect(() => parseDnsServer(text)).toThrow(TypeError);
    }
  });
});
