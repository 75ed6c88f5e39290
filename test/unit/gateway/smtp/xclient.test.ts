// Session tests for XCLIENT (Postfix XCLIENT_README): trusted clients restate the real client's attributes.
import { describe, expect, it } from 'vitest';
import { ACCEPT, greeted, REJECT } from './driver.ts';

describe('XCLIENT', () => {
  it('is refused with 550 5.7.0 for clients that are not trusted', () => {
    const s = greeted();
    expect(s.send('XCLIENT ADDR=203.0.113.9')).toBe('550 5.7.0 XCLIENT not permitted\r\n');
  });

  it('is advertised to trusted clients', () => {
    const s = greeted({ settings: { xclient: true } });
    s.send('EHLO again.example');
    expect(s.answer(ACCEPT)).toContain('250-XCLIENT NAME ADDR PORT PROTO HELO LOGIN\r\n');
  });

  it('restarts the session as the real client: connect runs again, then a new 220', () => {
    const s = greeted({ settings: { xclient: true } });
    expect(s.send('XCLIENT ADDR=IPV6:2001:db8::7 PORT=4321 NAME=mail.example.org')).toBe('');
    expect(s.lastHook).toMatchObject({
      step: 'connect',
      session: {
        client: { address: '2001:db8::7', port: 4321, hostname: 'mail.example.org' },
        proxied: true,
        helo: null,
      },
    });
    expect(s.answer(ACCEPT)).toBe('220 mx.example.net ESMTP mxhook\r\n');
    expect(s.send('MAIL FROM:<a@b.c>')).toBe('503 5.5.1 Send HELO/EHLO first\r\n');
  });

  it('takes HELO and LOGIN, decoding xtext', () => {
    const s = greeted({ settings: { xclient: true } });
    s.send('XCLIENT HELO=relay.example LOGIN=joe+40example.org PROTO=ESMTP NAME=[UNAVAILABLE]');
    expect(s.lastHook?.session).toMatchObject({
      helo: 'relay.example',
      auth: { username: 'joe@example.org', mechanism: 'XCLIENT' },
    });
    expect(s.lastHook?.session.client.hostname).toBeUndefined();
  });

  it('closes when the connect step refuses the real client', () => {
    const s = greeted({ settings: { xclient: true } });
    s.send('XCLIENT ADDR=198.51.100.1');
    expect(s.answer(REJECT)).toBe('554 5.7.1 Connection refused\r\n');
    expect(s.closed).toBe(true);
  });

  it('replies 501 5.5.4 to unknown attributes and invalid values, and 503 inside a transaction', () => {
    const s = greeted({ settings: { xclient: true } });
    expect(s.send('XCLIENT COLOR=blue')).toBe(
      '501 5.5.4 Syntax error: XCLIENT attribute=value ...\r\n',
    );
    expect(s.send('XCLIENT ADDR=not-an-ip')).toBe(
      '501 5.5.4 Syntax error: XCLIENT attribute value is not valid\r\n',
    );
    s.sendAnswered('MAIL FROM:<a@b.c>');
    expect(s.send('XCLIENT ADDR=198.51.100.1')).toBe(
      '503 5.5.1 Transaction in progress, send RSET first\r\n',
    );
  });
});
