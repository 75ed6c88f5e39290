// Session tests for AUTH (RFC 4954): PLAIN and LOGIN exchanges, TLS requirement, failures, lockout.
import { describe, expect, it } from 'vitest';
import type { AuthSettings } from '../../../../gateway/smtp/session-state.ts';
import { ACCEPT, greeted, REJECT, TLS } from './driver.ts';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const AUTH: AuthSettings = { allowInsecure: false, maxFailures: 3, isLockedOut: () => false };

/** A session over TLS that offers AUTH. */
function secure(auth: Partial<AuthSettings> = {}, extra: Record<string, unknown> = {}) {
  return greeted({ settings: { auth: { ...AUTH, ...auth }, ...extra }, info: { tls: TLS } });
}

describe('AUTH', () => {
  it('is advertised as AUTH PLAIN LOGIN over TLS only', () => {
    const clear = greeted({ settings: { auth: AUTH } });
    clear.send('EHLO again.example');
    expect(clear.answer(ACCEPT)).not.toContain('AUTH');
    const tls = secure();
    tls.send('EHLO again.example');
    expect(tls.answer(ACCEPT)).toContain('250-AUTH PLAIN LOGIN\r\n');
  });

  it('replies 502 5.5.1 when AUTH is not offered at all', () => {
    expect(greeted().send(`AUTH PLAIN ${b64('\0joe\0pw')}`)).toBe(
      '502 5.5.1 AUTH not implemented\r\n',
    );
  });

  it('replies 538 5.7.11 to AUTH before TLS (RFC 4954 §6)', () => {
    const s = greeted({ settings: { auth: AUTH } });
    expect(s.send(`AUTH PLAIN ${b64('\0joe\0pw')}`)).toBe(
      '538 5.7.11 Encryption required for requested authentication mechanism\r\n',
    );
    expect(s.hooks.some((h) => h.step === 'auth')).toBe(false);
  });

  it('allows AUTH in clear when insecure use is allowed', () => {
    const s = greeted({ settings: { auth: { ...AUTH, allowInsecure: true } } });
    s.send(`AUTH PLAIN ${b64('\0joe\0pw')}`);
    expect(s.lastHook?.step).toBe('auth');
  });

  it('sends PLAIN credentials with an initial response to the auth step and answers 235', () => {
    const s = secure();
    expect(s.send(`AUTH PLAIN ${b64('\0joe\0s3cret')}`)).toBe('');
    expect(s.lastHook).toMatchObject({
      step: 'auth',
      auth: { mechanism: 'PLAIN', username: 'joe', password: 's3cret' },
    });
    expect(s.answer(ACCEPT)).toBe('235 2.7.0 Authentication successful\r\n');
    expect(s.lastTypes).toEqual(['auth-result', 'reply']);
    s.send('MAIL FROM:<joe@example.org>');
    expect(s.lastHook?.session.auth).toEqual({ username: 'joe', mechanism: 'PLAIN' });
  });

  it('asks for the PLAIN response with an empty 334 challenge', () => {
    const s = secure();
    // RFC 4954 §4: "334" SP and the (here empty) base64 challenge.
    expect(s.send('AUTH PLAIN')).toBe('334 \r\n');
    expect(s.state.phase).toBe('auth');
    s.send(b64('joe\0joe\0pw'));
    expect(s.lastHook).toMatchObject({ step: 'auth', auth: { username: 'joe', password: 'pw' } });
  });

  it('runs the LOGIN exchange with Username: and Password: prompts', () => {
    const s = secure();
    expect(s.send('auth login')).toBe('334 VXNlcm5hbWU6\r\n');
    expect(s.send(b64('joe'))).toBe('334 UGFzc3dvcmQ6\r\n');
    expect(s.send(b64('pass word'))).toBe('');
    expect(s.lastHook).toMatchObject({
      step: 'auth',
      auth: { mechanism: 'LOGIN', username: 'joe', password: 'pass word' },
    });
  });

  it('takes the LOGIN user name as an initial response', () => {
    const s = secure();
    expect(s.send(`AUTH LOGIN ${b64('joe')}`)).toBe('334 UGFzc3dvcmQ6\r\n');
  });

  it('replies 501 5.7.0 when the client cancels with * (RFC 4954 §4)', () => {
    const s = secure();
    s.send('AUTH LOGIN');
    expect(s.send('*')).toBe('501 5.7.0 Authentication aborted\r\n');
    expect(s.state.phase).toBe('command');
  });

  it('replies 501 5.5.2 to a response that is not base64', () => {
    const s = secure();
    s.send('AUTH PLAIN');
    expect(s.send('not base64!')).toBe('501 5.5.2 Cannot decode the authentication response\r\n');
    expect(s.send(`AUTH PLAIN ${b64('joe-without-nuls')}`)).toBe(
      '501 5.5.2 Cannot decode the authentication response\r\n',
    );
  });

  it('replies 500 5.5.6 to an over-long exchange line', () => {
    const s = secure();
    s.send('AUTH PLAIN');
    expect(s.dispatch({ type: 'line-too-long' })).toBe(
      '500 5.5.6 Authentication exchange line is too long\r\n',
    );
    expect(s.state.phase).toBe('command');
  });

  it('replies 504 5.5.4 to an unknown mechanism', () => {
    expect(secure().send('AUTH CRAM-MD5')).toBe('504 5.5.4 Unrecognized authentication type\r\n');
  });

  it('refuses a different authorization identity with 535 5.7.8', () => {
    expect(secure().send(`AUTH PLAIN ${b64('admin\0joe\0pw')}`)).toBe(
      '535 5.7.8 Authorization identity differs from the authentication identity\r\n',
    );
  });

  it('replies 535 5.7.8 on rejected credentials and 421 after the per-session limit', () => {
    const s = secure({ maxFailures: 2 });
    s.send(`AUTH PLAIN ${b64('\0joe\0bad')}`);
    expect(s.answer(REJECT)).toBe('535 5.7.8 Authentication credentials invalid\r\n');
    expect(s.last).toContainEqual({ type: 'auth-result', ok: false });
    s.send(`AUTH PLAIN ${b64('\0joe\0bad')}`);
    expect(s.answer(REJECT)).toBe(
      '535 5.7.8 Authentication credentials invalid\r\n421 4.7.0 Too many failed authentication attempts, try again later\r\n',
    );
    expect(s.closed).toBe(true);
  });

  it('replies 454 4.7.0 when the auth call fails, without counting an attempt', () => {
    const s = secure({ maxFailures: 1 });
    s.send(`AUTH PLAIN ${b64('\0joe\0pw')}`);
    expect(s.fail('ERR_HOOK_TIMEOUT')).toBe('454 4.7.0 Temporary authentication failure\r\n');
    expect(s.closed).toBe(false);
    expect(s.last.some((a) => a.type === 'auth-result')).toBe(false);
  });

  it('closes with 421 4.7.0 when the client address is locked out', () => {
    const s = secure({ isLockedOut: () => true });
    expect(s.send(`AUTH PLAIN ${b64('\0joe\0pw')}`)).toBe(
      '421 4.7.0 Too many failed authentication attempts, try again later\r\n',
    );
    expect(s.closed).toBe(true);
  });

  it('closes with 421 4.7.0 when the address was locked out while the client answered the challenge', () => {
    let locked = false;
    const s = secure({ isLockedOut: () => locked });
    expect(s.send('AUTH LOGIN')).toBe('334 VXNlcm5hbWU6\r\n');
    expect(s.send(b64('joe'))).toBe('334 UGFzc3dvcmQ6\r\n');
    locked = true; // other sessions from the same address started attempts meanwhile
    expect(s.send(b64('pw'))).toBe(
      '421 4.7.0 Too many failed authentication attempts, try again later\r\n',
    );
    expect(s.hooks.some((h) => h.step === 'auth')).toBe(false);
    expect(s.closed).toBe(true);
  });

  it('refuses a second AUTH and AUTH inside a transaction with 503 5.5.1', () => {
    const s = secure();
    s.send(`AUTH PLAIN ${b64('\0joe\0pw')}`);
    s.answer(ACCEPT);
    expect(s.send(`AUTH PLAIN ${b64('\0joe\0pw')}`)).toBe('503 5.5.1 Already authenticated\r\n');
    const t = secure();
    t.sendAnswered('MAIL FROM:<a@b.c>');
    expect(t.send(`AUTH PLAIN ${b64('\0joe\0pw')}`)).toBe(
      '503 5.5.1 Transaction in progress, send RSET first\r\n',
    );
  });

  it('needs EHLO first: after HELO, AUTH gets 503 5.5.1', () => {
    const s = greeted({ settings: { auth: AUTH }, info: { tls: TLS } }, 'HELO client.example');
    expect(s.send(`AUTH PLAIN ${b64('\0joe\0pw')}`)).toBe('503 5.5.1 Send EHLO first\r\n');
  });

  it('answers MAIL before AUTH with 530 5.7.0 when AUTH is required', () => {
    const s = secure({}, { requireAuth: true });
    expect(s.send('MAIL FROM:<a@b.c>')).toBe('530 5.7.0 Authentication required\r\n');
    s.send(`AUTH PLAIN ${b64('\0joe\0pw')}`);
    s.answer(ACCEPT);
    s.send('MAIL FROM:<a@b.c>');
    expect(s.lastHook?.step).toBe('mail');
  });
});
