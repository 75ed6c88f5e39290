// Session tests, one verb at a time: what each command replies on the wire in a well-ordered session.
import { describe, expect, it } from 'vitest';
import { connected, greeted, INFO, inTransaction, SessionDriver, TLS } from './driver.ts';

const EHLO_REPLY = [
  '250-mx.example.net greets client.example',
  '250-PIPELINING',
  '250-SIZE 10000',
  '250-8BITMIME',
  '250-SMTPUTF8',
  '250-ENHANCEDSTATUSCODES',
  '250-CHUNKING',
  '250-STARTTLS',
  '250 HELP',
  '',
].join('\r\n');

describe('connect', () => {
  it('calls the connect step first and sends the banner once it accepts', () => {
    const s = new SessionDriver();
    expect(s.lastHook).toEqual({
      step: 'connect',
      session: INFO,
      envelope: { mailFrom: null, rcptTo: [] },
    });
    expect(s.state.phase).toBe('waiting');
    expect(s.answer({ action: 'accept' })).toBe('220 mx.example.net ESMTP mxhook\r\n');
    expect(s.state.phase).toBe('command');
  });

  it('sends our own banner even when the accept carries a message', () => {
    const s = new SessionDriver();
    expect(s.answer({ code: 220, message: 'something else' })).toBe(
      '220 mx.example.net ESMTP mxhook\r\n',
    );
  });
});

describe('EHLO', () => {
  it('replies with the exact extension list, SIZE and STARTTLS included', () => {
    const s = connected();
    expect(s.send('EHLO client.example')).toBe('');
    expect(s.lastHook).toMatchObject({
      step: 'helo',
      helo: { hostname: 'client.example', esmtp: true },
    });
    expect(s.answer({ action: 'accept' })).toBe(EHLO_REPLY);
  });

  it('does not offer STARTTLS without certificates', () => {
    const s = connected({ settings: { tlsAvailable: false, maxMessageBytes: 52_428_800 } });
    expect(s.sendAnswered('EHLO client.example')).toBe(
      [
        '250-mx.example.net greets client.example',
        '250-PIPELINING',
        '250-SIZE 52428800',
        '250-8BITMIME',
        '250-SMTPUTF8',
        '250-ENHANCEDSTATUSCODES',
        '250-CHUNKING',
        '250 HELP',
        '',
      ].join('\r\n'),
    );
  });

  it('does not offer STARTTLS once TLS is active', () => {
    const s = connected({ info: { tls: TLS } });
    expect(s.sendAnswered('EHLO client.example')).toBe(EHLO_REPLY.replace('250-STARTTLS\r\n', ''));
  });

  it('accepts an address literal and keeps the name on the session', () => {
    const s = connected();
    expect(s.sendAnswered('EHLO [192.0.2.7]')).toMatch(
      /^250-mx\.example\.net greets \[192\.0\.2\.7\]\r\n/,
    );
    s.sendAnswered('MAIL FROM:<a@b.c>');
    expect(s.hooks.at(-1)?.session.helo).toBe('[192.0.2.7]');
  });

  it('echoes a UTF-8 name in US-ASCII, with ? for each other character', () => {
    const s = connected({ settings: { tlsAvailable: false } });
    expect(s.sendAnswered('EHLO bücher.example')).toMatch(
      /^250-mx\.example\.net greets b\?cher\.example\r\n250-PIPELINING\r\n/,
    );
  });

  it('replies 501 5.5.4 to EHLO without a name', () => {
    expect(connected().send('EHLO')).toBe('501 5.5.4 Syntax error: EHLO needs a domain name\r\n');
  });

  it('replies 501 5.5.4 to EHLO with something that is not a name', () => {
    expect(connected().send('EHLO not/a name')).toBe(
      '501 5.5.4 Syntax error: EHLO argument is not a domain name or address literal\r\n',
    );
  });
});

describe('HELO', () => {
  it('replies 250 with a one-line greeting', () => {
    const s = connected();
    s.send('HELO client.example');
    expect(s.lastHook).toMatchObject({ helo: { hostname: 'client.example', esmtp: false } });
    expect(s.answer({ action: 'accept' })).toBe('250 mx.example.net greets client.example\r\n');
  });

  it('replies 501 5.5.4 to HELO without a name', () => {
    expect(connected().send('HELO ')).toBe('501 5.5.4 Syntax error: HELO needs a domain name\r\n');
  });
});

describe('verbs are case-insensitive (RFC 5321 §2.4)', () => {
  it('runs a whole transaction in lower and mixed case', () => {
    const s = connected();
    expect(s.sendAnswered('ehlo client.example')).toBe(EHLO_REPLY);
    expect(s.sendAnswered('mail from:<a@b.c>')).toBe('250 2.1.0 Sender OK\r\n');
    expect(s.sendAnswered('Rcpt To:<d@e.f>')).toBe('250 2.1.5 Recipient OK\r\n');
    expect(s.send('dAtA')).toBe('354 End data with <CR><LF>.<CR><LF>\r\n');
  });
});

describe('MAIL and RCPT', () => {
  it('replies 250 to MAIL and RCPT once their steps accept', () => {
    const s = greeted();
    expect(s.sendAnswered('MAIL FROM:<a@b.c>')).toBe('250 2.1.0 Sender OK\r\n');
    expect(s.sendAnswered('RCPT TO:<d@e.f>')).toBe('250 2.1.5 Recipient OK\r\n');
    expect(s.sendAnswered('RCPT TO:<g@h.i>')).toBe('250 2.1.5 Recipient OK\r\n');
  });
});

describe('DATA', () => {
  it('replies 354 and reads the message next', () => {
    const s = inTransaction();
    expect(s.send('DATA')).toBe('354 End data with <CR><LF>.<CR><LF>\r\n');
    expect(s.lastTypes).toEqual(['reply']);
    expect(s.state.phase).toBe('data');
  });

  it('replies 501 5.5.4 to DATA with an argument', () => {
    expect(inTransaction().send('DATA now')).toBe(
      '501 5.5.4 Syntax error: DATA takes no arguments\r\n',
    );
  });
});

describe('RSET', () => {
  it('replies 250 2.0.0 and ends the transaction', () => {
    const s = inTransaction();
    expect(s.send('RSET')).toBe('250 2.0.0 Reset OK\r\n');
    expect(s.send('RCPT TO:<d@e.f>')).toBe('503 5.5.1 Need MAIL command first\r\n');
    expect(s.sendAnswered('MAIL FROM:<a@b.c>')).toBe('250 2.1.0 Sender OK\r\n');
  });

  it('replies 250 2.0.0 outside a transaction and before HELO', () => {
    expect(connected().send('RSET')).toBe('250 2.0.0 Reset OK\r\n');
  });

  it('replies 501 5.5.4 to RSET with an argument and keeps the transaction', () => {
    const s = inTransaction();
    expect(s.send('RSET now')).toBe('501 5.5.4 Syntax error: RSET takes no arguments\r\n');
    expect(s.send('DATA')).toBe('354 End data with <CR><LF>.<CR><LF>\r\n');
  });
});

describe('NOOP, QUIT, VRFY, EXPN, HELP, AUTH', () => {
  it('replies 250 2.0.0 OK to NOOP, with or without an argument, in any phase of the session', () => {
    expect(connected().send('NOOP')).toBe('250 2.0.0 OK\r\n');
    expect(greeted().send('NOOP anything')).toBe('250 2.0.0 OK\r\n');
    expect(inTransaction().send('NOOP')).toBe('250 2.0.0 OK\r\n');
  });

  it('keeps the transaction across NOOP', () => {
    const s = inTransaction();
    s.send('NOOP');
    expect(s.send('DATA')).toBe('354 End data with <CR><LF>.<CR><LF>\r\n');
  });

  it('replies 221 2.0.0 to QUIT and closes', () => {
    const s = inTransaction();
    expect(s.send('QUIT')).toBe('221 2.0.0 mx.example.net closing connection\r\n');
    expect(s.lastTypes).toEqual(['reply', 'close']);
    expect(s.closed).toBe(true);
  });

  it('replies 252 2.5.0 to VRFY', () => {
    expect(greeted().send('VRFY postmaster')).toBe(
      '252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n',
    );
  });

  it('replies 501 5.5.4 to VRFY without an argument', () => {
    expect(greeted().send('VRFY')).toBe('501 5.5.4 Syntax error: VRFY needs an argument\r\n');
  });

  it('replies 502 5.5.1 to EXPN', () => {
    expect(greeted().send('EXPN staff')).toBe('502 5.5.1 EXPN not available\r\n');
  });

  it('replies 214 with a multi-line help text', () => {
    expect(connected().send('HELP')).toBe(
      '214-2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS\r\n' +
        '214 2.0.0 See https://www.rfc-editor.org/rfc/rfc5321\r\n',
    );
  });

  it('replies 502 5.5.1 to AUTH, which is not advertised (RFC 4954 §3)', () => {
    expect(greeted().send('AUTH PLAIN AGFAYg==')).toBe('502 5.5.1 AUTH not implemented\r\n');
  });

  it('makes no handler call for commands answered by the gateway itself', () => {
    const s = greeted();
    const calls = s.hooks.length;
    for (const line of ['NOOP', 'VRFY x', 'EXPN x', 'HELP', 'RSET', 'AUTH LOGIN']) s.send(line);
    expect(s.hooks.length).toBe(calls);
  });
});

describe('verbs a program added (extraVerbs)', () => {
  const extraVerbs = new Map([
    [
      'XSTATUS',
      {
        ehlo: 'XSTATUS 2',
        reply: (args: string) => ({ code: 250, enhanced: '2.0.0', lines: [`status ${args}`] }),
      },
    ],
  ]);

  it('advertises the EHLO line before HELP and answers the verb in any case', () => {
    const s = connected({ settings: { extraVerbs } });
    expect(s.sendAnswered('EHLO client.example')).toContain('250-XSTATUS 2\r\n250 HELP\r\n');
    expect(s.send('xstatus queue')).toBe('250 2.0.0 status queue\r\n');
    expect(s.state).toMatchObject({ phase: 'command' });
  });

  it('keeps the transaction, like NOOP', () => {
    const s = inTransaction({ settings: { extraVerbs } });
    s.send('XSTATUS');
    expect(s.send('DATA')).toBe('354 End data with <CR><LF>.<CR><LF>\r\n');
  });

  it('is answered while a shutdown lets the transaction in progress finish', () => {
    const s = inTransaction({ settings: { extraVerbs } });
    s.dispatch({ type: 'shutdown' });
    expect(s.send('XSTATUS')).toBe('250 2.0.0 status\r\n');
    expect(s.closed).toBe(false);
  });
});
