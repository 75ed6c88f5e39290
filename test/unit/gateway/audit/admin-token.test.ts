// Who may read and switch the audit stream: the bearer token when there is one, else loopback
// peers that are not web browsers.
import { describe, expect, it } from 'vitest';
import { auditAccessRefusal } from '../../../../gateway/audit/admin-token.ts';
import { ADMIN_TOKEN } from '../../../../gateway/config/parse-admin-token.ts';

const TOKEN = 'whsec_0123456789abcdefghijklmnopqrstuvwxyzABCD';

function request(remoteAddress: string, headers: Record<string, string> = {}) {
  return { headers, socket: { remoteAddress } };
}

describe('auditAccessRefusal', () => {
  it('with a token, wants it from everyone, loopback included', () => {
    const bearer = { authorization: `Bearer ${TOKEN}` };
    expect(auditAccessRefusal(TOKEN, request('203.0.113.9', bearer))).toBeNull();
    expect(
      auditAccessRefusal(TOKEN, request('127.0.0.1', { authorization: `bearer  ${TOKEN}` })),
    ).toBeNull();
    for (const given of [
      {} as Record<string, string>,
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Basic ${TOKEN}` },
    ])
      expect(auditAccessRefusal(TOKEN, request('127.0.0.1', given))?.status).toBe(401);
  });

  it('with a token, takes it from a browser too (a page cannot know it)', () => {
    const headers = { authorization: `Bearer ${TOKEN}`, origin: 'https://example.org' };
    expect(auditAccessRefusal(TOKEN, request('127.0.0.1', headers))).toBeNull();
  });

  it('without a token, answers loopback peers only, and no browser', () => {
    expect(auditAccessRefusal(null, request('127.0.0.1'))).toBeNull();
    expect(auditAccessRefusal(null, request('::ffff:127.0.0.1'))).toBeNull();
    expect(auditAccessRefusal(null, request('::1'))).toBeNull();
    expect(auditAccessRefusal(null, request('10.0.0.5'))?.status).toBe(403);
    expect(
      auditAccessRefusal(null, request('127.0.0.1', { 'sec-fetch-site': 'cross-site' }))?.status,
    ).toBe(403);
    expect(
      auditAccessRefusal(null, request('127.0.0.1', { origin: 'http://evil.test' }))?.status,
    ).toBe(403);
  });
});

describe('MXHOOK_ADMIN_TOKEN', () => {
  const context = { variable: 'MXHOOK_ADMIN_TOKEN', base: '/', text: () => '' };

  it('is null when unset, the token when long enough', () => {
    expect(ADMIN_TOKEN.parse('', context)).toBeNull();
    expect(ADMIN_TOKEN.parse(` ${TOKEN} `, context)).toBe(TOKEN);
  });

  it('refuses a short token, or one a header cannot carry, without echoing it', () => {
    expect(() => ADMIN_TOKEN.parse('short-secret', context)).toThrow(
      /^MXHOOK_ADMIN_TOKEN.*fewer than 32/,
    );
    expect(() => ADMIN_TOKEN.parse('short-secret', context)).not.toThrow(/short-secret/);
    expect(() => ADMIN_TOKEN.parse(`${TOKEN} x`, context)).toThrow(
      /^MXHOOK_ADMIN_TOKEN: may hold only/,
    );
  });
});
