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

  it('restarts the session as the real client: admission, connect again, then a new 220', () => {
    const s = greeted({ settings: { xclient: true } });
    expect(s.send('XCLIENT ADDR=IPV6:2001:db8::7 PORT=4321 NAME=mail.example.org')).toBe('');
    expect(s.last).toEqual([{ type: 'admit', address: '2001:db8::7' }]);
    expect(s.dispatch({ type: 'admission', refusal: null })).toBe('');
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
    expect(s.lastHook?.step).toBe('connect'); // same address: no new admission
    expect(s.lastHook?.session).toMatchObject({
      helo: 'relay.example',
      auth: { username: 'joe@example.org', mechanism: 'XCLIENT' },
    });
    expect(s.lastHook?.session.client.hostname).toBeUndefined();
  });

  it('closes when the connect step refuses the real client', () => {
    const s = greeted({ settings: { xclient: true } });
    s.send('XCLIENT ADDR=198.51.100.1');
    s.dispatch({ type: 'admission', refusal: null });
    expect(s.answer(REJECT)).toBe('554 5.7.1 Connection refused\r\n');
    expect(s.closed).toBe(true);
  });

  it('closes with the reply admission gives when it refuses the new client, without a connect call', () => {
    const s = greeted({ settings: { xclient: true } });
    const calls = s.hooks.length;
    s.send('XCLIENT ADDR=198.51.100.1');
    expect(
      s.dispatch({
        type: 'admission',
        refusal: { code: 554, enhanced: '5.7.1', lines: ['Access denied'] },
      }),
    ).toBe('554 5.7.1 Access denied\r\n');
    expect(s.closed).toBe(true);
    expect(s.hooks).toHaveLength(calls);
  });

  it('skips admission when the address does not change', () => {
    const s = greeted({ settings: { xclient: true } });
    s.send('XCLIENT NAME=mail.example.org ADDR=[UNAVAILABLE]');
    expect(s.lastHook).toMatchObject({ step: 'connect' });
  });

  it.each([
    'ADDR=not-an-ip',
    'ADDR=:::',
    'ADDR=300.1.1.1',
    'ADDR=010.0.0.1',
    'ADDR=IPV6:zz::1',
    'ADDR=[TEMPUNAVAIL]',
    'PORT=65536',
    'PORT=-1',
    'NAME=bad+0Dname.example',
    'NAME=a..b',
    'NAME=-x.example',
    'HELO=x+0D+0AMAIL',
    'HELO=bad+00name',
    'LOGIN=joe+1B[31m',
    'LOGIN=joe+0Abcc',
    'LOGIN=a+20b',
    'LOGIN=+C2+9B',
    'PROTO=HTTP',
  ])('refuses %s with 501 5.5.4, naming the attribute', (attribute) => {
    const s = greeted({ settings: { xclient: true } });
    const name = attribute.slice(0, attribute.indexOf('='));
    expect(s.send(`XCLIENT ${attribute}`)).toBe(
      `501 5.5.4 Syntax error: XCLIENT ${name} value is not valid\r\n`,
    );
    expect(s.hooks.filter((h) => h.step === 'connect')).toHaveLength(1);
  });

  it.each([
    ['ADDR=192.0.2.1', { client: { address: '192.0.2.1' } }],
    ['ADDR=IPV6:::ffff:192.0.2.1', { client: { address: '::ffff:192.0.2.1' } }],
    ['ADDR=2001:DB8::1', { client: { address: '2001:DB8::1' } }],
    ['PORT=65535', { client: { port: 65535 } }],
    ['NAME=mail_1.example.org.', { client: { hostname: 'mail_1.example.org.' } }],
    ['HELO=[192.0.2.1]', { helo: '[192.0.2.1]' }],
    ['LOGIN=j+C3+B6rg', { auth: { username: 'jörg', mechanism: 'XCLIENT' } }],
    ['NAME=[TEMPUNAVAIL]', { proxied: true }],
  ])('accepts %s', (attribute, session) => {
    const s = greeted({ settings: { xclient: true } });
    expect(s.send(`XCLIENT ${attribute}`)).toBe('');
    if (s.last.some((a) => a.type === 'admit')) s.dispatch({ type: 'admission', refusal: null });
    expect(s.lastHook).toMatchObject({ step: 'connect', session });
  });

  it('replies 501 5.5.4 to unknown attributes and invalid values, and 503 inside a transaction', () => {
    const s = greeted({ settings: { xclient: true } });
    expect(s.send('XCLIENT COLOR=blue')).toBe(
      '501 5.5.4 Syntax error: XCLIENT attribute=value ...\r\n',
    );
    expect(s.send('XCLIENT ADDR=not-an-ip')).toBe(
      '501 5.5.4 Syntax error: XCLIENT ADDR value is not valid\r\n',
    );
    s.sendAnswered('MAIL FROM:<a@b.c>');
    expect(s.send('XCLIENT ADDR=198.51.100.1')).toBe(
      '503 5.5.1 Transaction in progress, send RSET first\r\n',
    );
  });
});
