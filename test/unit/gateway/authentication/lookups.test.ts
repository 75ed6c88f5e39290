// The pure parts of the DNS-based checks, with answers given as data (a stub resolver): reverse
// names, the sender-domain rules of RFC 5321 §5.1 and RFC 7505, forward confirmation, deadlines.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Resolve, resolveUntil } from '../../../../gateway/authentication/resolve.ts';
import { checkReverseDns, reverseName } from '../../../../gateway/authentication/reverse-dns.ts';
import { checkSenderDomain } from '../../../../gateway/authentication/sender-domain.ts';

type Answers = Readonly<Record<string, unknown | string>>;

/** Answers by `name TYPE`; a string answer is a `node:dns` error code to reject with. */
function stub(answers: Answers): Resolve {
  return async (name, rrtype) => {
    const answer = answers[`${name} ${rrtype}`] ?? 'ENOTFOUND';
    if (typeof answer === 'string') throw Object.assign(new Error(answer), { code: answer });
    return answer;
  };
}

describe('reverseName', () => {
  it.each([
    ['192.0.2.7', '7.2.0.192.in-addr.arpa'],
    ['2001:db8::1', `1.0.0.0.${'0.0.0.0.'.repeat(5)}8.b.d.0.1.0.0.2.ip6.arpa`],
    ['::1', `1.${'0.'.repeat(31)}ip6.arpa`],
  ])('%s → %s', (address, name) => {
    expect(reverseName(address)).toBe(name);
  });
});

describe('checkReverseDns', () => {
  it('passes with the first PTR name that resolves back to the address', async () => {
    const resolve = stub({
      '7.2.0.192.in-addr.arpa PTR': ['other.test', 'mail.test.'],
      'other.test A': ['192.0.2.99'],
      'mail.test. A': ['192.0.2.7'],
    });
    expect(await checkReverseDns('192.0.2.7', resolve)).toEqual({
      result: 'pass',
      hostname: 'mail.test',
      names: ['other.test', 'mail.test.'],
    });
  });

  it('compares IPv6 addresses however they are written', async () => {
    const resolve = stub({
      [`${reverseName('2001:db8::7')} PTR`]: ['v6.test'],
      'v6.test AAAA': ['2001:0db8:0:0::7'],
    });
    expect((await checkReverseDns('2001:db8::7', resolve)).hostname).toBe('v6.test');
  });

  it('fails without a PTR or a confirming name; temperror when DNS failed', async () => {
    expect((await checkReverseDns('192.0.2.7', stub({}))).result).toBe('fail');
    const failing = stub({ '7.2.0.192.in-addr.arpa PTR': 'ESERVFAIL' });
    expect((await checkReverseDns('192.0.2.7', failing)).result).toBe('temperror');
    const unconfirmed = stub({
      '7.2.0.192.in-addr.arpa PTR': ['a.test', 'b.test'],
      'a.test A': ['192.0.2.1'],
      'b.test A': 'ETIMEOUT',
    });
    expect(await checkReverseDns('192.0.2.7', unconfirmed)).toEqual({
      result: 'temperror',
      hostname: null,
      names: ['a.test', 'b.test'],
    });
  });

  it('looks at 10 PTR names at most', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `n${i}.test`);
    const asked: string[] = [];
    const base = stub({ '7.2.0.192.in-addr.arpa PTR': names });
    const resolve: Resolve = (name, type) => {
      asked.push(name);
      return base(name, type);
    };
    expect((await checkReverseDns('192.0.2.7', resolve)).names).toHaveLength(10);
    expect(asked).toHaveLength(11);
  });
});

describe('checkSenderDomain', () => {
  it.each([
    ['an MX', { 'a.test MX': [{ exchange: 'mx.a.test', priority: 10 }] }, true, 'mx'],
    ['a null MX (RFC 7505)', { 'a.test MX': [{ exchange: '', priority: 0 }] }, false, 'null-mx'],
    [
      'no MX but an address',
      { 'a.test MX': 'ENODATA', 'a.test AAAA': ['2001:db8::1'] },
      true,
      'address',
    ],
    ['no records at all', { 'a.test MX': 'ENODATA', 'a.test A': 'ENODATA' }, false, 'no-records'],
    ['no such domain', {}, false, 'no-domain'],
    ['MX lookup failing', { 'a.test MX': 'ETIMEOUT' }, null, 'temperror'],
    [
      'address lookup failing',
      { 'a.test MX': 'ENODATA', 'a.test A': 'ESERVFAIL' },
      null,
      'temperror',
    ],
  ] as const)('%s', async (_, answers, acceptsMail, reason) => {
    expect(await checkSenderDomain('Someone@A.test', stub(answers))).toEqual({
      domain: 'a.test',
      acceptsMail,
      reason,
    });
  });

  it('reports nothing to check for the null sender', async () => {
    expect(await checkSenderDomain('', stub({}))).toEqual({
      domain: null,
      acceptsMail: null,
      reason: 'null-sender',
    });
  });
});

describe('resolveUntil', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('fails a lookup still unanswered at the deadline, and every one after it at once', async () => {
    const never: Resolve = () => new Promise(() => {});
    const bounded = resolveUntil(never, Date.now() + 100);
    const pending = bounded('slow.test', 'TXT');
    const outcome = expect(pending).rejects.toMatchObject({
      code: 'ETIMEOUT',
      hostname: 'slow.test',
    });
    await vi.advanceTimersByTimeAsync(100);
    await outcome;
    await expect(bounded('later.test', 'A')).rejects.toMatchObject({ code: 'ETIMEOUT' });
  });

  it('passes answers and errors through before the deadline', async () => {
    const bounded = resolveUntil(stub({ 'a.test A': ['192.0.2.1'] }), Date.now() + 1_000);
    await expect(bounded('a.test', 'A')).resolves.toEqual(['192.0.2.1']);
    await expect(bounded('b.test', 'A')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});
