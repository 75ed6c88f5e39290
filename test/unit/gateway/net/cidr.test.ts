// CIDR lists: parsing, normalisation, IPv4-mapped clients, and errors that name the bad entry.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MxhookError } from '../../../../gateway/errors.ts';
import { clientKeyOf, parseCidrList } from '../../../../gateway/net/cidr.ts';

describe('parseCidrList', () => {
  it('parses IPv4, IPv6 and bare addresses into normalised blocks', () => {
    const list = parseCidrList(
      ' 10.0.0.0/8, 2001:DB8:0:0::/32 ,192.0.2.7,::1, ::ffff:198.51.100.0/120',
    );
    expect(list.blocks).toEqual([
      { family: 'ipv4', network: '10.0.0.0', prefix: 8 },
      { family: 'ipv6', network: '2001:db8::', prefix: 32 },
      { family: 'ipv4', network: '192.0.2.7', prefix: 32 },
      { family: 'ipv6', network: '::1', prefix: 128 },
      { family: 'ipv4', network: '198.51.100.0', prefix: 24 },
    ]);
  });

  it('treats blank text as the empty list, which contains nothing', () => {
    for (const text of ['', '   ']) {
      const list = parseCidrList(text);
      expect(list.blocks).toEqual([]);
      expect(list.contains('10.1.2.3')).toBe(false);
    }
  });

  it('is frozen', () => {
    const list = parseCidrList('10.0.0.0/8');
    expect(Object.isFrozen(list)).toBe(true);
    expect(Object.isFrozen(list.blocks)).toBe(true);
    expect(Object.isFrozen(list.blocks[0])).toBe(true);
  });

  const cases: [list: string, address: string, expected: boolean][] = [
    ['10.0.0.0/8', '10.1.2.3', true],
    ['10.0.0.0/8', '10.255.255.255', true],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['10.0.0.0/8', '9.255.255.255', false],
    ['10.0.0.0/8', '::ffff:10.1.2.3', true],
    ['10.0.0.0/8', '0:0:0:0:0:ffff:a01:203', true],
    ['10.0.0.0/8', '::ffff:11.1.2.3', false],
    ['10.0.0.0/8', '::10.1.2.3', false],
    ['192.168.4.0/22', '192.168.7.255', true],
    ['192.168.4.0/22', '192.168.8.0', false],
    ['192.168.4.0/22', '192.168.3.255', false],
    ['192.0.2.7', '192.0.2.7', true],
    ['192.0.2.7', '192.0.2.8', false],
    ['0.0.0.0/0', '203.0.113.9', true],
    ['0.0.0.0/0', '::ffff:203.0.113.9', true],
    ['0.0.0.0/0', '2001:db8::1', false],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['2001:db8::/32', '10.1.2.3', false],
    ['2001:db8:0:8000::/49', '2001:db8:0:ffff::1', true],
    ['2001:db8:0:8000::/49', '2001:db8:0:7fff::1', false],
    ['::/0', '::1', true],
    ['::/0', '10.0.0.1', false],
    ['::1', '::1', true],
    ['::1', '0:0:0:0:0:0:0:1', true],
    ['fe80::/10', 'fe80::1%eth0', true],
    ['::ffff:10.0.0.0/104', '10.20.30.40', true],
    ['::ffff:10.0.0.0/104', '::ffff:10.20.30.40', true],
    ['10.0.0.0/8', 'not an address', false],
    ['10.0.0.0/8', '', false],
    ['10.0.0.0/8, 2001:db8::/32', '2001:db8::25', true],
    ['10.0.0.0/8, 2001:db8::/32', '10.0.0.25', true],
    ['10.0.0.0/8, 2001:db8::/32', '172.16.0.1', false],
  ];

  it.each(cases)('%s contains %s: %s', (list, address, expected) => {
    expect(parseCidrList(list).contains(address)).toBe(expected);
  });

  const invalid: [list: string, message: string][] = [
    ['nope', '"nope" is not an IPv4 or IPv6 address or CIDR block'],
    ['10.0.0/8', '"10.0.0/8" is not an IPv4 or IPv6 address or CIDR block'],
    ['010.0.0.0/8', '"010.0.0.0/8" is not an IPv4 or IPv6 address or CIDR block'],
    ['fe80::1%eth0', '"fe80::1%eth0" is not an IPv4 or IPv6 address or CIDR block'],
    ['10.0.0.0/', '"10.0.0.0/" does not end in a prefix length such as /24'],
    ['10.0.0.0/08', '"10.0.0.0/08" does not end in a prefix length such as /24'],
    ['10.0.0.0/8/8', '"10.0.0.0/8/8" does not end in a prefix length such as /24'],
    ['10.0.0.0/33', '"10.0.0.0/33" has a prefix length over 32'],
    ['2001:db8::/129', '"2001:db8::/129" has a prefix length over 128'],
    ['10.1.2.3/8', '"10.1.2.3/8" has host bits set (did you mean 10.0.0.0/8?)'],
    ['2001:db8::1/32', '"2001:db8::1/32" has host bits set (did you mean 2001:db8::/32?)'],
    [
      '10.0.0.0/8,,192.0.2.0/24',
      'the list has an empty entry (two commas in a row or a comma at an end)',
    ],
    ['10.0.0.0/8,', 'the list has an empty entry (two commas in a row or a comma at an end)'],
  ];

  it.each(invalid)('refuses %j', (list, message) => {
    let caught: unknown;
    try {
      parseCidrList(list);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MxhookError);
    expect((caught as MxhookError).code).toBe('ERR_CIDR_INVALID');
    expect((caught as MxhookError).message).toBe(message);
  });

  it('matches exactly the addresses that share the prefix (property)', () => {
    const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
    const toNumber = (bytes: readonly number[]) => bytes.reduce((sum, byte) => sum * 256 + byte, 0);
    const toText = (value: number) =>
      [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
    fc.assert(
      fc.property(ipv4, ipv4, fc.integer({ min: 0, max: 32 }), (network, client, prefix) => {
        const hostSpan = 2 ** (32 - prefix);
        const networkNumber = toNumber(network) - (toNumber(network) % hostSpan);
        const expected = toNumber(client) - (toNumber(client) % hostSpan) === networkNumber;
        const list = parseCidrList(`${toText(networkNumber)}/${prefix}`);
        expect(list.contains(client.join('.'))).toBe(expected);
        expect(list.contains(`::ffff:${client.join('.')}`)).toBe(expected);
      }),
    );
  });

  it('never throws anything but ERR_CIDR_INVALID, and contains never throws (property)', () => {
    const list = parseCidrList('10.0.0.0/8,2001:db8::/32');
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(typeof list.contains(text)).toBe('boolean');
        try {
          parseCidrList(text);
        } catch (error) {
          expect((error as MxhookError).code).toBe('ERR_CIDR_INVALID');
        }
      }),
    );
  });
});

describe('clientKeyOf', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8::/64'],
    ['fe80::1%eth0', 'fe80::/64'],
    ['::1', '::/64'],
    ['not an address', 'not an address'],
  ])('%s → %s', (address, key) => {
    expect(clientKeyOf(address)).toBe(key);
  });

  it('gives every address of one /64 the same key, and addresses of other /64s others (property)', () => {
    const group = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
    const groups = (n: number) => fc.array(group, { minLength: n, maxLength: n });
    fc.assert(
      fc.property(groups(4), groups(4), groups(4), (site, hostA, hostB) => {
        const a = [...site, ...hostA].join(':');
        const b = [...site, ...hostB].join(':');
        expect(clientKeyOf(a)).toBe(clientKeyOf(b));
        const other = [
          ...site.slice(0, 3),
          ((Number.parseInt(site[3]!, 16) + 1) % 0x10000).toString(16),
          ...hostA,
        ].join(':');
        expect(clientKeyOf(other)).not.toBe(clientKeyOf(a));
      }),
    );
  });
});
