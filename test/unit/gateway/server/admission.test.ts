// Admission before the banner: access lists, loopback exemption, rate and concurrency per address.
import { describe, expect, it } from 'vitest';
import { parseCidrList } from '../../../../gateway/net/cidr.ts';
import {
  Admission,
  type AdmissionOptions,
  type AdmissionResult,
  isAllowed,
  isExempt,
} from '../../../../gateway/server/admission.ts';
import { formatReply } from '../../../../gateway/smtp/reply.ts';

const remote = (address: string) => ({ address, proxied: false });
const proxied = (address: string) => ({ address, proxied: true });

function admission(options: Partial<AdmissionOptions> = {}): Admission {
  return new Admission({ maxConnectionsPerIp: 50, maxConnectionsPerIpPerMinute: 0, ...options });
}

function refusal(result: AdmissionResult): string {
  if (result.admitted) throw new Error('expected a refusal');
  return `${result.reason}: ${formatReply(result.reply)}`;
}

describe('isAllowed', () => {
  const allow = parseCidrList('192.0.2.0/24, 2001:db8::/32');
  const deny = parseCidrList('192.0.2.66');

  it.each([
    ['192.0.2.1', true],
    ['192.0.2.66', false], // deny wins over allow
    ['198.51.100.1', false], // not on the allow list
    ['2001:db8::1', true],
    ['::ffff:192.0.2.1', true],
  ])('%s → %s', (address, expected) => {
    expect(isAllowed(address, allow, deny)).toBe(expected);
  });

  it('allows everyone with no allow list or an empty one', () => {
    expect(isAllowed('198.51.100.1', null, deny)).toBe(true);
    expect(isAllowed('198.51.100.1', parseCidrList(''), parseCidrList(''))).toBe(true);
    expect(isAllowed('192.0.2.66', parseCidrList(''), deny)).toBe(false);
  });

  it('treats a list of host names alone as a list, not as empty: unresolved, it matches nobody', () => {
    const namesOnly = { ...parseCidrList(''), hosts: ['relay.example'] };
    expect(isAllowed('198.51.100.1', namesOnly, null)).toBe(false);
    expect(isAllowed('198.51.100.1', null, namesOnly)).toBe(true);
  });

  it('takes any { contains } as a list', () => {
    expect(isAllowed('192.0.2.1', { contains: (a) => a.endsWith('.1') }, null)).toBe(true);
    expect(isAllowed('192.0.2.2', { contains: (a) => a.endsWith('.1') }, null)).toBe(false);
  });
});

describe('isExempt', () => {
  it.each([
    [remote('127.0.0.1'), true],
    [remote('127.3.4.5'), true],
    [remote('::1'), true],
    [remote('192.0.2.1'), false],
    [proxied('127.0.0.1'), false], // the proxy host's loopback, not ours
    [proxied('192.0.2.1'), false],
  ])('%o → %s', (client, expected) => {
    expect(isExempt(client)).toBe(expected);
  });
});

describe('Admission', () => {
  it('refuses a denied client with 554 5.7.1 (RFC 5321 §3.1), loopback included', () => {
    const gate = admission({ deny: parseCidrList('127.0.0.3, 192.0.2.0/24') });
    expect(refusal(gate.admit(remote('192.0.2.9'), 0))).toBe(
      'access-denied: 554 5.7.1 Access denied\r\n',
    );
    expect(refusal(gate.admit(remote('127.0.0.3'), 0))).toMatch(/^access-denied: /);
    expect(gate.admit(remote('198.51.100.1'), 0).admitted).toBe(true);
  });

  it('caps concurrent connections per address with 421 4.7.0 until one is released', () => {
    const gate = admission({ maxConnectionsPerIp: 2 });
    const first = gate.admit(proxied('192.0.2.1'), 0);
    expect(gate.admit(proxied('192.0.2.1'), 0).admitted).toBe(true);
    expect(refusal(gate.admit(proxied('192.0.2.1'), 0))).toBe(
      'max-connections-per-ip: 421 4.7.0 Too many connections from your address, try again later\r\n',
    );
    expect(gate.admit(proxied('192.0.2.2'), 0).admitted).toBe(true);
    if (!first.admitted) throw new Error('unreachable');
    first.release();
    first.release(); // a second release frees nothing more
    expect(gate.openFrom('192.0.2.1')).toBe(1);
    expect(gate.admit(proxied('192.0.2.1'), 0).admitted).toBe(true);
    expect(gate.admit(proxied('192.0.2.1'), 0).admitted).toBe(false);
  });

  it('limits new connections per minute with 421 4.7.0, counting refused attempts too', () => {
    const gate = admission({ maxConnectionsPerIp: 1, maxConnectionsPerIpPerMinute: 3 });
    const held = gate.admit(remote('192.0.2.1'), 0);
    expect(refusal(gate.admit(remote('192.0.2.1'), 0))).toMatch(/^max-connections-per-ip: /);
    expect(refusal(gate.admit(remote('192.0.2.1'), 0))).toMatch(/^max-connections-per-ip: /);
    if (held.admitted) held.release();
    expect(refusal(gate.admit(remote('192.0.2.1'), 0))).toBe(
      'connection-rate-per-ip: 421 4.7.0 Too many new connections from your address, slow down and try again later\r\n',
    );
    expect(gate.admit(remote('192.0.2.1'), 20_000).admitted).toBe(true);
  });

  it('exempts direct loopback clients from both limits, and counts nothing for them', () => {
    const gate = admission({ maxConnectionsPerIp: 1, maxConnectionsPerIpPerMinute: 1 });
    for (let i = 0; i < 10; i++) expect(gate.admit(remote('127.0.0.1'), 0).admitted).toBe(true);
    expect(gate.openFrom('127.0.0.1')).toBe(0);
    expect(gate.admit(proxied('127.0.0.1'), 0).admitted).toBe(true);
    expect(gate.admit(proxied('127.0.0.1'), 0).admitted).toBe(false);
  });

  it('turns the rate limit off at 0', () => {
    const gate = admission({ maxConnectionsPerIpPerMinute: 0 });
    for (let i = 0; i < 1_000; i++) {
      const result = gate.admit(remote('192.0.2.1'), 0);
      expect(result.admitted).toBe(true);
      if (result.admitted) result.release();
    }
  });

  it('counts an IPv6 client by its /64, so rotating addresses within it does not escape the limits', () => {
    const gate = admission({ maxConnectionsPerIp: 2, maxConnectionsPerIpPerMinute: 3 });
    const first = gate.admit(remote('2001:db8:1:2::1'), 0);
    expect(gate.admit(remote('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), 0).admitted).toBe(true);
    expect(refusal(gate.admit(remote('2001:db8:1:2::99'), 0))).toMatch(/^max-connections-per-ip: /);
    expect(gate.openFrom('2001:db8:1:2::ffff')).toBe(2);
    // Another /64 is another client, with limits of its own.
    expect(gate.admit(remote('2001:db8:1:3::1'), 0).admitted).toBe(true);
    if (first.admitted) first.release();
    expect(refusal(gate.admit(remote('2001:db8:1:2::7'), 0))).toMatch(/^connection-rate-per-ip: /);
  });

  it('counts IPv4 clients by their own address', () => {
    const gate = admission({ maxConnectionsPerIp: 1 });
    expect(gate.admit(remote('192.0.2.1'), 0).admitted).toBe(true);
    expect(gate.admit(remote('192.0.2.2'), 0).admitted).toBe(true);
    expect(gate.admit(remote('192.0.2.1'), 0).admitted).toBe(false);
  });
});
