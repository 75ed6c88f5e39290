// MX host selection over a stub resolver: preference order, ties, implicit and null MX, and which
// DNS outcomes fail the recipients and which only defer them.
import { describe, expect, it } from 'vitest';
import type { Resolve } from '../../../../gateway/authentication/resolve.ts';
import { mxHosts } from '../../../../gateway/outbound/mx-hosts.ts';

type Answer = unknown[] | string;

/** Answers `name TYPE` from the table: an array is the records, a string the error code. */
function stub(table: Readonly<Record<string, Answer>>): Resolve {
  return async (name, rrtype) => {
    const answer = table[`${name} ${rrtype}`] ?? 'ENODATA';
    if (typeof answer === 'string') throw Object.assign(new Error(answer), { code: answer });
    return answer;
  };
}

const mx = (exchange: string, priority: number) => ({ exchange, priority });

describe('mxHosts', () => {
  it('orders hosts by preference and resolves each to IPv6 then IPv4 addresses', async () => {
    const resolve = stub({
      'example.test MX': [mx('b.example.test', 20), mx('A.Example.Test.', 10)],
      'a.example.test AAAA': ['2001:db8::1'],
      'a.example.test A': ['192.0.2.1', '192.0.2.2'],
      'b.example.test A': ['192.0.2.3'],
    });
    expect(await mxHosts('example.test', resolve)).toEqual({
      kind: 'hosts',
      implicit: false,
      hosts: [
        {
          name: 'a.example.test',
          preference: 10,
          addresses: ['2001:db8::1', '192.0.2.1', '192.0.2.2'],
        },
        { name: 'b.example.test', preference: 20, addresses: ['192.0.2.3'] },
      ],
    });
  });

  it('shuffles hosts of equal preference, never across preferences', async () => {
    const resolve = stub({
      'example.test MX': [mx('c.test', 20), mx('a.test', 10), mx('b.test', 10)],
      'a.test A': ['192.0.2.1'],
      'b.test A': ['192.0.2.2'],
      'c.test A': ['192.0.2.3'],
    });
    const orders = new Set<string>();
    for (const random of [() => 0.5, () => 0.99]) {
      const result = await mxHosts('example.test', resolve, random);
      if (result.kind !== 'hosts') throw new Error(result.reply);
      const names = result.hosts.map((host) => host.name);
      expect(names[2]).toBe('c.test');
      orders.add(names.join(' '));
    }
    expect(orders).toEqual(new Set(['a.test b.test c.test', 'b.test a.test c.test']));
  });

  it('uses the domain itself when it has no MX (implicit MX)', async () => {
    const resolve = stub({ 'example.test A': ['192.0.2.9'] });
    expect(await mxHosts('example.test', resolve)).toEqual({
      kind: 'hosts',
      implicit: true,
      hosts: [{ name: 'example.test', preference: 0, addresses: ['192.0.2.9'] }],
    });
  });

  it.each(['', '.'])('fails a domain with a null MX (exchange %j)', async (exchange) => {
    const result = await mxHosts('example.test', stub({ 'example.test MX': [mx(exchange, 0)] }));
    expect(result).toEqual({ kind: 'failed', reply: expect.stringMatching(/^556 5\.1\.10 /) });
  });

  it('skips a null MX listed among real ones', async () => {
    const resolve = stub({
      'example.test MX': [mx('', 0), mx('mx.example.test', 10)],
      'mx.example.test A': ['192.0.2.1'],
    });
    const result = await mxHosts('example.test', resolve);
    expect(result.kind === 'hosts' && result.hosts.map((host) => host.name)).toEqual([
      'mx.example.test',
    ]);
  });

  it('fails a domain that does not exist', async () => {
    const result = await mxHosts('example.test', stub({ 'example.test MX': 'ENOTFOUND' }));
    expect(result).toEqual({
      kind: 'failed',
      reply: expect.stringMatching(/^550 5\.1\.2 .*NXDOMAIN/),
    });
  });

  it.each(['ETIMEOUT', 'ESERVFAIL', 'ECONNREFUSED'])(
    'defers when the MX lookup fails (%s)',
    async (code) => {
      const result = await mxHosts('example.test', stub({ 'example.test MX': code }));
      expect(result).toEqual({
        kind: 'deferred',
        reply: `451 4.4.3 DNS lookup of MX for example.test failed (${code})`,
      });
    },
  );

  it('leaves out hosts without addresses and fails when none has any', async () => {
    const resolve = stub({
      'example.test MX': [mx('gone.example.test', 10), mx('empty.example.test', 20)],
      'gone.example.test A': 'ENOTFOUND',
      'gone.example.test AAAA': 'ENOTFOUND',
    });
    expect(await mxHosts('example.test', resolve)).toEqual({
      kind: 'failed',
      reply: '550 5.4.4 No MX host of example.test has an address record',
    });
    expect(await mxHosts('bare.test', stub({}))).toEqual({
      kind: 'failed',
      reply: '550 5.4.4 Domain bare.test has no MX and no address record',
    });
  });

  it('defers when no host has an address and an address lookup failed', async () => {
    const resolve = stub({
      'example.test MX': [mx('mx.example.test', 10)],
      'mx.example.test A': 'ETIMEOUT',
    });
    expect(await mxHosts('example.test', resolve)).toEqual({
      kind: 'deferred',
      reply: '451 4.4.3 DNS lookup of mx.example.test A (ETIMEOUT) failed',
    });
  });

  it('uses the hosts it could resolve when another host’s lookup failed', async () => {
    const resolve = stub({
      'example.test MX': [mx('slow.example.test', 10), mx('ok.example.test', 20)],
      'slow.example.test A': 'ETIMEOUT',
      'ok.example.test A': ['192.0.2.4'],
    });
    const result = await mxHosts('example.test', resolve);
    expect(result.kind === 'hosts' && result.hosts.map((host) => host.name)).toEqual([
      'ok.example.test',
    ]);
  });
});
