// The send API's validation and its request fingerprint: pure code, no sockets.
import { describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../../../gateway/send/idempotency.ts';
import { validateSend } from '../../../../gateway/send/send-request.ts';
import { isAllowedDomain } from '../../../../gateway/send/sender-policy.ts';

const LIMITS = { maxRecipients: 3 };
const BASE = { from: 'a@example.com', to: 'b@example.org', text: 'hi' };

function codeOf(body: unknown): string | undefined {
  try {
    validateSend(body, LIMITS);
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe('validateSend', () => {
  it('takes every address form and lists each recipient once, bcc included', () => {
    const send = validateSend(
      {
        from: { name: 'A', address: 'a@example.com' },
        to: ['B <b@example.org>', 'c@example.org'],
        cc: 'C@EXAMPLE.ORG',
        bcc: { address: 'd@example.org' },
        text: 'hi',
      },
      LIMITS,
    );
    expect(send.from).toEqual({ name: 'A', address: 'a@example.com' });
    expect(send.recipients).toEqual(['b@example.org', 'c@example.org', 'd@example.org']);
    expect(send.composed?.to.map((m) => m.name)).toEqual(['B', '']);
  });

  it.each([
    [{ ...BASE, to: 'x@a.example, y@b.example' }, 'ERR_ADDRESS_INVALID'],
    [{ ...BASE, to: 'Friends: x@a.example, y@b.example;' }, 'ERR_ADDRESS_INVALID'],
    [{ ...BASE, from: ['a@example.com'] }, 'ERR_ADDRESS_INVALID'],
    [{ ...BASE, to: 'postmaster' }, 'ERR_ADDRESS_INVALID'],
    [
      { ...BASE, to: ['a@x.example', 'b@x.example', 'c@x.example', 'd@x.example'] },
      'ERR_FIELD_INVALID',
    ],
    [{ ...BASE, raw: 'RnJvbTogYUBleGFtcGxlLmNvbQ0KDQpoaQ0K' }, 'ERR_FIELD_INVALID'],
    [{ from: 'a@example.com', to: 'b@example.org', raw: 'aGk=' }, 'ERR_FIELD_INVALID'],
    [
      {
        from: 'a@example.com',
        to: 'b@example.org',
        raw: Buffer.from('From: a@example.com\r\nBcc: x@y.example\r\n\r\nhi').toString('base64'),
      },
      'ERR_HEADER_INVALID',
    ],
    [{ ...BASE, attachments: [{ filename: 'a\r\nb', content: '' }] }, 'ERR_FIELD_INVALID'],
    [{ ...BASE, attachments: [{ filename: 'a', content: 'not base64!' }] }, 'ERR_FIELD_INVALID'],
    [{ ...BASE, headers: { 'X-Ok': 'tab\tis fine', 'X-Bad': 'nul\u0000' } }, 'ERR_HEADER_INVALID'],
    [{ ...BASE, headers: { 'Content-Type': 'text/html' } }, 'ERR_HEADER_INVALID'],
  ])('refuses %j with %s', (body, code) => {
    expect(codeOf(body)).toBe(code);
  });

  it('makes a raw message CRLF throughout', () => {
    const raw = Buffer.from('From: a@example.com\nSubject: x\n\nline\n').toString('base64');
    const send = validateSend({ from: 'a@example.com', to: 'b@example.org', raw }, LIMITS);
    expect(send.raw?.toString()).toBe('From: a@example.com\r\nSubject: x\r\n\r\nline\r\n');
  });
});

describe('isAllowedDomain', () => {
  it('allows the domains listed and their subdomains, in any case, and nothing else', () => {
    const allowed = ['example.com'];
    expect(isAllowedDomain('a@example.com', allowed)).toBe(true);
    expect(isAllowedDomain('a@News.Example.COM', allowed)).toBe(true);
    expect(isAllowedDomain('a@badexample.com', allowed)).toBe(false);
    expect(isAllowedDomain('a@example.com.evil.test', allowed)).toBe(false);
  });
});

describe('fingerprintOf', () => {
  it('fingerprints bytes by their content and key order as given', () => {
    const a = fingerprintOf({ raw: Buffer.from('x'), to: ['b'] });
    expect(fingerprintOf({ raw: Buffer.from('x'), to: ['b'] })).toBe(a);
    expect(fingerprintOf({ raw: Buffer.from('y'), to: ['b'] })).not.toBe(a);
  });
});
