// Session tests for STARTTLS (RFC 3207): the 220, the handshake, and forgetting the clear-text session.
import { describe, expect, it } from 'vitest';
import { connected, greeted, INFO, TLS } from './driver.ts';

describe('STARTTLS', () => {
  it('replies 220 2.0.0 and starts the handshake', () => {
    const s = greeted();
    expect(s.send('STARTTLS')).toBe('220 2.0.0 Ready to start TLS\r\n');
    expect(s.lastTypes).toEqual(['reply', 'start-tls']);
    expect(s.state.phase).toBe('tls');
  });

  it('ignores lines pipelined before the handshake completes', () => {
    const s = greeted();
    s.send('STARTTLS');
    expect(s.send('MAIL FROM:<a@b.c>')).toBe('');
    expect(s.last).toEqual([]);
  });

  it('forgets the HELO name after the handshake (RFC 3207 §4.2)', () => {
    const s = greeted();
    s.send('STARTTLS');
    expect(s.dispatch({ type: 'tls-started', tls: TLS })).toBe('');
    expect(s.last).toEqual([]);
    expect(s.state).toMatchObject({ phase: 'command', tx: null });
    expect(s.send('MAIL FROM:<a@b.c>')).toBe('503 5.5.1 Send HELO/EHLO first\r\n');
  });

  it('no longer offers STARTTLS, and passes the TLS details to the steps', () => {
    const s = greeted();
    s.send('STARTTLS');
    s.dispatch({ type: 'tls-started', tls: TLS });
    s.send('EHLO client.example');
    expect(s.lastHook?.session).toEqual({ ...INFO, helo: 'client.example', tls: TLS });
    expect(s.answer({ action: 'accept' })).not.toContain('STARTTLS');
    expect(s.send('STARTTLS')).toBe('503 5.5.1 TLS already active\r\n');
  });

  it('writes ESMTPS and the cipher into the Received header after STARTTLS', () => {
    const s = greeted();
    s.send('STARTTLS');
    s.dispatch({ type: 'tls-started', tls: TLS });
    s.sendAnswered('EHLO client.example');
    s.sendAnswered('MAIL FROM:<a@b.c>');
    s.sendAnswered('RCPT TO:<d@e.f>');
    s.send('DATA');
    s.endMessage('x\r\n');
    const call = s.dataCall;
    expect(call.message.chunks[0]!.toString('utf8')).toBe(
      'Received: from client.example ([192.0.2.7])\r\n' +
        '\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n' +
        '\tby mx.example.net (mxhook) with ESMTPS id S1.1\r\n' +
        '\tfor <d@e.f>; Tue, 2 Jan 2024 03:04:05 +0000\r\n',
    );
  });

  it('lets MAIL through after STARTTLS when TLS is required', () => {
    const s = greeted({ settings: { requireTls: true } });
    expect(s.send('MAIL FROM:<a@b.c>')).toBe('530 5.7.0 Must issue a STARTTLS command first\r\n');
    s.send('STARTTLS');
    s.dispatch({ type: 'tls-started', tls: TLS });
    s.sendAnswered('EHLO client.example');
    expect(s.sendAnswered('MAIL FROM:<a@b.c>')).toBe('250 2.1.0 Sender OK\r\n');
  });

  it('replies 502 5.5.1 when no certificate is configured', () => {
    expect(greeted({ settings: { tlsAvailable: false } }).send('STARTTLS')).toBe(
      '502 5.5.1 STARTTLS not implemented\r\n',
    );
  });

  it('replies 501 5.5.4 to STARTTLS with an argument', () => {
    expect(connected().send('STARTTLS now')).toBe(
      '501 5.5.4 Syntax error: STARTTLS takes no arguments\r\n',
    );
  });

  it('ignores a TLS event that does not follow STARTTLS', () => {
    const s = greeted();
    expect(s.dispatch({ type: 'tls-started', tls: TLS })).toBe('');
    expect(s.sendAnswered('MAIL FROM:<a@b.c>')).toBe('250 2.1.0 Sender OK\r\n');
    expect(s.hooks.at(-1)?.session.tls).toBeNull();
  });
});
