// The DNS lookups behind mail authentication against a real DNS server on loopback
// (test/helpers/dns-server.ts): record shapes as node:dns gives them, truncation to TCP, the TTL
// cache (positive and negative), failures, timeouts, coalescing, the LRU bound, and mailauth's SPF.
import { generateKeyPairSync } from 'node:crypto';
import { type DNSResolver, spf } from 'mailauth';
import { afterEach, describe, expect, it } from 'vitest';
import { DnsLookups, type DnsLookupsOptions } from '../../../gateway/net/dns-lookups.ts';
import { closeAllDnsServers, startDnsServer, type Zone } from '../../helpers/dns-server.ts';

afterEach(closeAllDnsServers);

/** A clock the test moves by hand, so TTLs expire without sleeping. */
function fakeClock(): { now: () => number; advance: (seconds: number) => void } {
  let ms = 1_000_000;
  return { now: () => ms, advance: (seconds) => (ms += seconds * 1000) };
}

async function setUp(
  zone: Zone,
  options: Partial<DnsLookupsOptions> & { negativeTtl?: number } = {},
) {
  const dns = await startDnsServer(zone, { negativeTtl: options.negativeTtl ?? 60 });
  const clock = fakeClock();
  const lookups = new DnsLookups({
    servers: [dns.server],
    timeoutMs: 2_000,
    now: clock.now,
    ...options,
  });
  return { dns, clock, lookups };
}

describe('DnsLookups: answers as node:dns gives them', () => {
  it('gives A, AAAA, TXT, MX, PTR and CNAME records in their node:dns shapes', async () => {
    const { lookups } = await setUp({
      'sender.test': [
        { type: 'A', address: '127.0.0.7' },
        { type: 'A', address: '127.0.0.8' },
        { type: 'AAAA', address: '2001:db8::7' },
        { type: 'TXT', data: ['v=spf1 ', 'ip4:127.0.0.7 -all'] },
        { type: 'TXT', data: 'google-site-verification=abc' },
        { type: 'MX', exchange: 'mx1.sender.test', priority: 10 },
        { type: 'MX', exchange: 'mx2.sender.test', priority: 20 },
      ],
      '7.0.0.127.in-addr.arpa': [{ type: 'PTR', domain: 'mx1.sender.test' }],
      'www.sender.test': [{ type: 'CNAME', domain: 'sender.test' }],
    });
    expect(await lookups.resolve('sender.test', 'A')).toEqual(['127.0.0.7', '127.0.0.8']);
    expect(await lookups.resolve('sender.test', 'AAAA')).toEqual(['2001:db8::7']);
    // Character-strings stay apart, as node:dns keeps them.
    expect(await lookups.resolve('sender.test', 'TXT')).toEqual([
      ['v=spf1 ', 'ip4:127.0.0.7 -all'],
      ['google-site-verification=abc'],
    ]);
    expect(await lookups.resolve('sender.test', 'MX')).toEqual([
      { exchange: 'mx1.sender.test', priority: 10 },
      { exchange: 'mx2.sender.test', priority: 20 },
    ]);
    expect(await lookups.resolve('7.0.0.127.in-addr.arpa', 'PTR')).toEqual(['mx1.sender.test']);
    expect(await lookups.resolve('www.sender.test', 'CNAME')).toEqual(['sender.test']);
  });

  it('compares names case-insensitively and without the trailing dot', async () => {
    const { dns, lookups } = await setUp({ 'sender.test': [{ type: 'A', address: '127.0.0.7' }] });
    expect(await lookups.resolve('Sender.TEST.', 'A')).toEqual(['127.0.0.7']);
    expect(await lookups.resolve('sender.test', 'a')).toEqual(['127.0.0.7']);
    expect(dns.queries).toEqual(['sender.test A udp']);
  });

  it('fetches a TXT record too long for UDP (a DKIM key) over TCP after truncation', async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const record = `v=DKIM1; k=rsa; t=s; h=sha256; n=${'rotated-2026-12;'.repeat(8)} p=${key}`;
    expect(record.length).toBeGreaterThan(512);
    const { dns, lookups } = await setUp({
      'sel._domainkey.sender.test': [{ type: 'TXT', data: record }],
    });
    const [strings] = (await lookups.resolve('sel._domainkey.sender.test', 'TXT')) as string[][];
    expect(strings?.join('')).toBe(record);
    expect(strings?.length).toBeGreaterThan(1);
    expect(dns.queries).toEqual([
      'sel._domainkey.sender.test TXT udp',
      'sel._domainkey.sender.test TXT tcp',
    ]);
  });

  it('follows a CNAME to the records of the asked type, kept for the shorter TTL', async () => {
    const { dns, clock, lookups } = await setUp({
      'sel._domainkey.sender.test': [{ type: 'CNAME', domain: 'sel.keys.esp.test', ttl: 60 }],
      'sel.keys.esp.test': [{ type: 'TXT', data: 'v=DKIM1; p=abc', ttl: 3600 }],
    });
    expect(await lookups.resolve('sel._domainkey.sender.test', 'TXT')).toEqual([
      ['v=DKIM1; p=abc'],
    ]);
    clock.advance(59);
    await lookups.resolve('sel._domainkey.sender.test', 'TXT');
    expect(dns.queries).toHaveLength(1);
    clock.advance(2);
    await lookups.resolve('sel._domainkey.sender.test', 'TXT');
    expect(dns.queries).toHaveLength(2);
  });

  it('rejects a missing name with ENOTFOUND and a name without such records with ENODATA', async () => {
    const { lookups } = await setUp({ 'sender.test': [{ type: 'A', address: '127.0.0.7' }] });
    await expect(lookups.resolve('_dmarc.sender.test', 'TXT')).rejects.toMatchObject({
      code: 'ENOTFOUND',
      hostname: '_dmarc.sender.test',
      syscall: 'queryTxt',
    });
    const error = await lookups.resolve('sender.test', 'MX').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ code: 'ENODATA', hostname: 'sender.test' });
  });

  it('rejects a record type it does not support, and a name DNS cannot carry', async () => {
    const { dns, lookups } = await setUp({});
    await expect(lookups.resolve('sender.test', 'SRV')).rejects.toThrow(/SRV.*not supported/);
    await expect(lookups.resolve(`${'a'.repeat(64)}.test`, 'A')).rejects.toMatchObject({
      code: 'EBADNAME',
    });
    expect(dns.queries).toEqual([]);
  });

  it('is usable unbound, as mailauth calls it', async () => {
    const { lookups } = await setUp({ 'sender.test': [{ type: 'A', address: '127.0.0.7' }] });
    const { resolve } = lookups;
    expect(await resolve('sender.test', 'A')).toEqual(['127.0.0.7']);
  });
});

describe('DnsLookups: the cache', () => {
  it('answers from the cache within the TTL and asks again after it', async () => {
    const { dns, clock, lookups } = await setUp({
      'sender.test': [{ type: 'TXT', data: 'v=spf1 -all', ttl: 120 }],
    });
    await lookups.resolve('sender.test', 'TXT');
    dns.set('sender.test', [{ type: 'TXT', data: 'v=spf1 +all', ttl: 120 }]);
    clock.advance(119);
    expect(await lookups.resolve('sender.test', 'TXT')).toEqual([['v=spf1 -all']]);
    expect(dns.queries).toHaveLength(1);
    clock.advance(1);
    expect(await lookups.resolve('sender.test', 'TXT')).toEqual([['v=spf1 +all']]);
    expect(dns.queries).toHaveLength(2);
    expect(lookups.stats()).toEqual({ hits: 1, misses: 2, failures: 0, entries: 1 });
  });

  it('keeps no answer whose TTL is 0, and at most a day of any other', async () => {
    const { dns, clock, lookups } = await setUp({
      'zero.test': [{ type: 'A', address: '127.0.0.7', ttl: 0 }],
      'long.test': [{ type: 'A', address: '127.0.0.8', ttl: 7 * 86_400 }],
    });
    await lookups.resolve('zero.test', 'A');
    await lookups.resolve('zero.test', 'A');
    expect(dns.queries).toEqual(['zero.test A udp', 'zero.test A udp']);
    await lookups.resolve('long.test', 'A');
    clock.advance(86_399);
    await lookups.resolve('long.test', 'A');
    expect(dns.queries).toHaveLength(3);
    clock.advance(1);
    await lookups.resolve('long.test', 'A');
    expect(dns.queries).toHaveLength(4);
  });

  it('keeps ENOTFOUND and ENODATA for the SOA minimum of the negative answer', async () => {
    const { dns, clock, lookups } = await setUp({ 'sender.test': [] }, { negativeTtl: 5 });
    await expect(lookups.resolve('missing.test', 'TXT')).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
    await expect(lookups.resolve('sender.test', 'TXT')).rejects.toMatchObject({ code: 'ENODATA' });
    dns.set('missing.test', [{ type: 'TXT', data: 'v=spf1 -all' }]);
    dns.set('sender.test', [{ type: 'TXT', data: 'v=DMARC1; p=none' }]);
    clock.advance(4);
    await expect(lookups.resolve('missing.test', 'TXT')).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
    await expect(lookups.resolve('sender.test', 'TXT')).rejects.toMatchObject({ code: 'ENODATA' });
    expect(dns.queries).toHaveLength(2);
    clock.advance(1);
    expect(await lookups.resolve('missing.test', 'TXT')).toEqual([['v=spf1 -all']]);
    expect(await lookups.resolve('sender.test', 'TXT')).toEqual([['v=DMARC1; p=none']]);
    expect(dns.queries).toHaveLength(4);
    expect(lookups.stats()).toMatchObject({ hits: 2, misses: 4, failures: 0 });
  });

  it('rejects SERVFAIL with ESERVFAIL and does not keep it', async () => {
    const { dns, lookups } = await setUp({ 'sender.test': [{ type: 'A', address: '127.0.0.7' }] });
    dns.fail('sender.test', true);
    await expect(lookups.resolve('sender.test', 'A')).rejects.toMatchObject({
      code: 'ESERVFAIL',
      hostname: 'sender.test',
    });
    const asked = dns.queries.length;
    // A lone server is asked twice before the question fails.
    expect(asked).toBe(2);
    dns.fail('sender.test', false);
    expect(await lookups.resolve('sender.test', 'A')).toEqual(['127.0.0.7']);
    expect(dns.queries).toHaveLength(asked + 1);
    expect(lookups.stats()).toMatchObject({ hits: 0, misses: 2, failures: 1 });
  });

  it('gives the caller a copy it may change without changing the cached answer', async () => {
    const { lookups } = await setUp({
      'sender.test': [
        { type: 'TXT', data: 'v=spf1 -all' },
        { type: 'MX', exchange: 'mx.sender.test', priority: 10 },
      ],
    });
    const txt = (await lookups.resolve('sender.test', 'TXT')) as string[][];
    txt[0]?.push('tampered');
    const mx = (await lookups.resolve('sender.test', 'MX')) as { priority: number }[];
    if (mx[0] !== undefined) mx[0].priority = 0;
    expect(await lookups.resolve('sender.test', 'TXT')).toEqual([['v=spf1 -all']]);
    expect(await lookups.resolve('sender.test', 'MX')).toEqual([
      { exchange: 'mx.sender.test', priority: 10 },
    ]);
  });

  it('sends one query for identical questions asked while the first is in flight', async () => {
    const { dns, lookups } = await setUp({ 'sender.test': [{ type: 'TXT', data: 'v=spf1 -all' }] });
    dns.delay('sender.test', 100);
    const answers = await Promise.all([
      lookups.resolve('sender.test', 'TXT'),
      lookups.resolve('SENDER.test.', 'TXT'),
      lookups.resolve('sender.test', 'A').catch((error: { code: string }) => error.code),
    ]);
    expect(answers).toEqual([[['v=spf1 -all']], [['v=spf1 -all']], 'ENODATA']);
    expect([...dns.queries].sort()).toEqual(['sender.test A udp', 'sender.test TXT udp']);
    expect(lookups.stats()).toMatchObject({ hits: 1, misses: 2 });
  });

  it('gives each joined caller its own error when the shared question fails', async () => {
    const { dns, lookups } = await setUp({ 'sender.test': [] });
    dns.fail('sender.test', true);
    const [first, second] = await Promise.all([
      lookups.resolve('sender.test', 'TXT').catch((error: unknown) => error),
      lookups.resolve('Sender.test', 'TXT').catch((error: unknown) => error),
    ]);
    expect(first).toMatchObject({ code: 'ESERVFAIL', hostname: 'sender.test' });
    expect(second).toMatchObject({ code: 'ESERVFAIL', hostname: 'Sender.test' });
    expect(first).not.toBe(second);
  });

  it('keeps at most maxEntries answers, dropping the least recently used', async () => {
    const zone: Zone = {
      'a.test': [{ type: 'A', address: '127.0.0.1' }],
      'b.test': [{ type: 'A', address: '127.0.0.2' }],
      'c.test': [{ type: 'A', address: '127.0.0.3' }],
    };
    const { dns, lookups } = await setUp(zone, { maxEntries: 2 });
    await lookups.resolve('a.test', 'A');
    await lookups.resolve('b.test', 'A');
    await lookups.resolve('a.test', 'A');
    await lookups.resolve('c.test', 'A');
    expect(lookups.stats().entries).toBe(2);
    await lookups.resolve('a.test', 'A');
    expect(dns.queries).toEqual(['a.test A udp', 'b.test A udp', 'c.test A udp']);
    await lookups.resolve('b.test', 'A');
    expect(dns.queries).toEqual(['a.test A udp', 'b.test A udp', 'c.test A udp', 'b.test A udp']);
    expect(lookups.stats()).toEqual({ hits: 2, misses: 4, failures: 0, entries: 2 });
  });
});

describe('DnsLookups: slow and silent servers', () => {
  const SLACK_MS = 150;

  it('fails with ETIMEOUT within timeoutMs when the only server is silent, and keeps nothing', async () => {
    const { dns, lookups } = await setUp({ 'sender.test': [] }, { timeoutMs: 300 });
    dns.delay('sender.test', 'never');
    const started = performance.now();
    const error = await lookups.resolve('sender.test', 'TXT').catch((caught: unknown) => caught);
    const elapsed = performance.now() - started;
    expect(error).toMatchObject({ code: 'ETIMEOUT', hostname: 'sender.test' });
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(300 + SLACK_MS);
    expect(dns.queries).toEqual(['sender.test TXT udp', 'sender.test TXT udp']);
    expect(lookups.stats()).toMatchObject({ failures: 1, entries: 0 });
  });

  it('asks the next server when one is silent, all within timeoutMs', async () => {
    const zone: Zone = { 'sender.test': [{ type: 'TXT', data: 'v=spf1 -all' }] };
    const silent = await startDnsServer(zone);
    const answering = await startDnsServer(zone);
    silent.delay('sender.test', 'never');
    const lookups = new DnsLookups({
      servers: [silent.server, answering.server],
      timeoutMs: 400,
    });
    const started = performance.now();
    expect(await lookups.resolve('sender.test', 'TXT')).toEqual([['v=spf1 -all']]);
    expect(performance.now() - started).toBeLessThan(400 + SLACK_MS);
    expect(silent.queries).toEqual(['sender.test TXT udp']);
    expect(answering.queries).toEqual(['sender.test TXT udp']);
  });

  it('asks the next server when one fails', async () => {
    const zone: Zone = { 'sender.test': [{ type: 'A', address: '127.0.0.7' }] };
    const failing = await startDnsServer(zone);
    const answering = await startDnsServer(zone);
    failing.fail('sender.test', true);
    const lookups = new DnsLookups({
      servers: [failing.server, answering.server],
      timeoutMs: 1_000,
    });
    expect(await lookups.resolve('sender.test', 'A')).toEqual(['127.0.0.7']);
    expect(failing.queries).toHaveLength(1);
  });

  it('waits for a slow answer that comes within its share of the time', async () => {
    const { dns, lookups } = await setUp(
      { 'sender.test': [{ type: 'A', address: '127.0.0.7' }] },
      { timeoutMs: 1_000 },
    );
    dns.delay('sender.test', 100);
    expect(await lookups.resolve('sender.test', 'A')).toEqual(['127.0.0.7']);
    expect(dns.queries).toHaveLength(1);
  });

  it('refuses a server not given by its address', () => {
    expect(() => new DnsLookups({ servers: ['dns.example'], timeoutMs: 1_000 })).toThrow(TypeError);
  });
});

describe("mailauth's SPF check with DnsLookups as its resolver", () => {
  it('passes a client the sender domain authorises, and fails one it does not', async () => {
    const { lookups } = await setUp({
      'sender.test': [{ type: 'TXT', data: 'v=spf1 ip4:127.0.0.7 -all' }],
    });
    // mailauth types its resolver for TXT answers only; MX answers are objects, as with node:dns.
    const resolver = lookups.resolve as DNSResolver;
    const check = (ip: string) =>
      spf({
        ip,
        sender: 'user@sender.test',
        helo: 'mx.sender.test',
        mta: 'mx.gateway.test',
        resolver,
      });
    expect((await check('127.0.0.7')).status.result).toBe('pass');
    expect((await check('127.0.0.9')).status.result).toBe('fail');
  });

  it('gives temperror when the sender domain cannot be resolved', async () => {
    const { dns, lookups } = await setUp({ 'sender.test': [] }, { timeoutMs: 200 });
    dns.fail('sender.test', true);
    const result = await spf({
      ip: '127.0.0.7',
      sender: 'user@sender.test',
      mta: 'mx.gateway.test',
      resolver: lookups.resolve as DNSResolver,
    });
    expect(result.status.result).toBe('temperror');
  });
});
