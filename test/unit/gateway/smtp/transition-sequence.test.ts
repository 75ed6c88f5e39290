// Session tests for command order and malformed input: 503s, 501s, 500s, HTTP, error limits, ignored events.
import { describe, expect, it } from 'vitest';
import { answered, connected, greeted, inTransaction, NOW, SessionDriver, TLS } from './driver.ts';

describe('commands out of order → 503 5.5.1', () => {
  it.each(['MAIL FROM:<a@b.c>', 'RCPT TO:<a@b.c>', 'DATA'])(
    'replies 503 5.5.1 to %s before HELO/EHLO',
    (line) => {
      expect(connected().send(line)).toBe('503 5.5.1 Send HELO/EHLO first\r\n');
    },
  );

  it('replies 503 5.5.1 to RCPT before MAIL', () => {
    expect(greeted().send('RCPT TO:<a@b.c>')).toBe('503 5.5.1 Need MAIL command first\r\n');
  });

  it('replies 503 5.5.1 to DATA before MAIL', () => {
    expect(greeted().send('DATA')).toBe('503 5.5.1 Need MAIL command first\r\n');
  });

  it('replies 503 5.5.1 to a second MAIL in a transaction', () => {
    expect(inTransaction().send('MAIL FROM:<x@y.z>')).toBe(
      '503 5.5.1 Sender already specified\r\n',
    );
  });

  it('replies 554 5.5.1 to DATA without an accepted recipient (RFC 5321 §3.3, RFC 2920 §3.1)', () => {
    const s = inTransaction({}, []);
    expect(s.send('DATA')).toBe('554 5.5.1 No valid recipients\r\n');
    const refused = inTransaction({}, []);
    refused.sendAnswered('RCPT TO:<x@y.z>', { action: 'reject' });
    expect(refused.send('DATA')).toBe('554 5.5.1 No valid recipients\r\n');
  });

  it('replies 503 5.5.1 to DATA after a BDAT chunk (RFC 3030 §2)', () => {
    const s = inTransaction();
    s.send('BDAT 3');
    s.chunk('abc');
    expect(s.send('DATA')).toBe('503 5.5.1 DATA and BDAT cannot be mixed in one transaction\r\n');
  });

  it('replies 503 5.5.1 to RCPT after a BDAT chunk', () => {
    const s = inTransaction();
    s.send('BDAT 3');
    s.chunk('abc');
    expect(s.send('RCPT TO:<x@y.z>')).toBe(
      '503 5.5.1 Transaction in progress, send RSET first\r\n',
    );
  });

  it('replies 503 5.5.1 to STARTTLS in a transaction', () => {
    expect(inTransaction().send('STARTTLS')).toBe(
      '503 5.5.1 Transaction in progress, send RSET first\r\n',
    );
  });

  it('replies 503 5.5.1 to STARTTLS when TLS is already active', () => {
    expect(connected({ info: { tls: TLS } }).send('STARTTLS')).toBe(
      '503 5.5.1 TLS already active\r\n',
    );
  });

  it('makes no handler call for a command out of order', () => {
    const s = connected();
    s.send('MAIL FROM:<a@b.c>');
    expect(s.hooks.map((h) => h.step)).toEqual(['connect']);
  });
});

describe('syntax errors', () => {
  it('replies 501 5.5.4 to MAIL without FROM:', () => {
    expect(greeted().send('MAIL <a@b.c>')).toBe(
      '501 5.5.4 Syntax error: expected FROM:<address>\r\n',
    );
  });

  it('replies 501 5.5.4 to RCPT without TO:', () => {
    expect(inTransaction().send('RCPT')).toBe('501 5.5.4 Syntax error: expected TO:<address>\r\n');
  });

  it('replies 501 5.5.4 to an unbalanced path', () => {
    expect(greeted().send('MAIL FROM:<a@b.c')).toBe(
      '501 5.5.4 Syntax error: unbalanced <address>\r\n',
    );
  });

  it('replies 501 5.1.7 to a bad sender address', () => {
    expect(greeted().send('MAIL FROM:<a>')).toBe(
      '501 5.1.7 Bad sender address syntax: missing @domain\r\n',
    );
  });

  it('replies 501 5.1.3 to a bad recipient address', () => {
    expect(inTransaction().send('RCPT TO:<a@b..c>')).toBe(
      '501 5.1.3 Bad recipient address syntax: invalid domain\r\n',
    );
    expect(inTransaction().send('RCPT TO:<>')).toBe(
      '501 5.1.3 Bad recipient address syntax: empty address\r\n',
    );
  });

  it('keeps the transaction after a refused recipient syntax', () => {
    const s = inTransaction();
    s.send('RCPT TO:<bad>');
    expect(s.send('DATA')).toBe('354 End data with <CR><LF>.<CR><LF>\r\n');
  });
});

describe('unrecognised and malformed lines → 500 5.5.2', () => {
  it('replies 500 5.5.2 to an unknown command', () => {
    expect(connected().send('XYZZY')).toBe('500 5.5.2 Command not recognized\r\n');
    expect(connected().send('')).toBe('500 5.5.2 Command not recognized\r\n');
  });

  it('replies 500 5.5.2 to a line with a NUL byte', () => {
    expect(connected().send(Buffer.from('NOOP\0'))).toBe(
      '500 5.5.2 Command contains a NUL byte\r\n',
    );
  });

  it('replies 500 5.5.2 to a line that is not UTF-8', () => {
    expect(connected().send(Buffer.from([0x4e, 0x4f, 0x4f, 0x50, 0x20, 0xc3]))).toBe(
      '500 5.5.2 Command is not valid UTF-8\r\n',
    );
  });

  it('replies 554 5.7.0 to an HTTP request line and closes', () => {
    const s = connected();
    expect(s.send('GET / HTTP/1.1')).toBe(
      '554 5.7.0 This is an SMTP server; HTTP requests are refused\r\n',
    );
    expect(s.lastTypes).toEqual(['reply', 'close']);
    expect(s.closed).toBe(true);
  });

  it('replies 554 and closes on a POST request, even mid-transaction', () => {
    const s = inTransaction();
    expect(s.send('POST /relay HTTP/1.0')).toBe(
      '554 5.7.0 This is an SMTP server; HTTP requests are refused\r\n',
    );
    expect(s.closed).toBe(true);
  });
});

describe('too many errors → 421 4.7.0 and close', () => {
  it('closes after maxBadCommands protocol errors, sending the error and then 421', () => {
    const s = connected({ settings: { maxBadCommands: 3 } });
    expect(s.send('ONE')).toBe('500 5.5.2 Command not recognized\r\n');
    expect(s.send('MAIL FROM:<a@b.c>')).toBe('503 5.5.1 Send HELO/EHLO first\r\n');
    expect(s.send('THREE')).toBe(
      '500 5.5.2 Command not recognized\r\n421 4.7.0 Too many errors, closing connection\r\n',
    );
    expect(s.lastTypes).toEqual(['reply', 'reply', 'close']);
    expect(s.closed).toBe(true);
  });

  it('counts 500, 501, 502, 503 and 555, and good commands in between do not reset the count', () => {
    const s = greeted({ settings: { maxBadCommands: 5 } }, 'HELO client.example');
    s.send('BAD'); // 500
    s.send('NOOP');
    s.send('VRFY'); // 501
    s.send('EXPN x'); // 502, but a refusal by policy, not the client's error
    s.send('AUTH LOGIN'); // 502
    s.send('RCPT TO:<a@b.c>'); // 503
    expect(s.closed).toBe(false);
    expect(s.send('MAIL FROM:<a@b.c> SIZE=1')).toBe(
      '555 5.5.4 Parameters need EHLO\r\n421 4.7.0 Too many errors, closing connection\r\n',
    );
    expect(s.closed).toBe(true);
  });

  it('does not count policy refusals such as 552, 553 and 452', () => {
    const s = greeted({ settings: { maxBadCommands: 2, maxRecipients: 1 } });
    s.send('MAIL FROM:<a@b.c> SIZE=999999');
    s.send('MAIL FROM:<jörg@b.c>');
    s.sendAnswered('MAIL FROM:<a@b.c>');
    s.sendAnswered('RCPT TO:<d@e.f>');
    s.send('RCPT TO:<g@h.i>');
    s.send('RCPT TO:<g@h.i>');
    expect(s.closed).toBe(false);
    expect(s.send('BAD')).toBe('500 5.5.2 Command not recognized\r\n');
    expect(s.closed).toBe(false);
  });

  it('counts over-long lines', () => {
    const s = connected({ settings: { maxBadCommands: 2 } });
    expect(s.dispatch({ type: 'line-too-long' })).toBe('500 5.5.2 Line too long\r\n');
    expect(s.dispatch({ type: 'line-too-long' })).toBe(
      '500 5.5.2 Line too long\r\n421 4.7.0 Too many errors, closing connection\r\n',
    );
    expect(s.closed).toBe(true);
  });
});

describe('line length (RFC 5321 §4.5.3.1.4)', () => {
  it('replies 500 5.5.2 to a 600-byte NOOP', () => {
    expect(greeted().send(`NOOP ${'x'.repeat(595)}`)).toBe('500 5.5.2 Line too long\r\n');
  });

  it('accepts a command of exactly 512 octets with its CRLF, and refuses 513', () => {
    expect(greeted().send(`NOOP ${'x'.repeat(505)}`)).toBe('250 2.0.0 OK\r\n');
    expect(greeted().send(`NOOP ${'x'.repeat(506)}`)).toBe('500 5.5.2 Line too long\r\n');
  });

  it('allows a 900-byte RCPT, whose limit is raised to 1012 octets', () => {
    const s = inTransaction();
    const address = `${'o'.repeat(878)}@example.com`;
    const line = `RCPT TO:<${address}>`;
    expect(Buffer.byteLength(line)).toBe(900);
    expect(s.send(line)).toBe('');
    expect(s.lastHook).toMatchObject({ step: 'rcpt', rcpt: { address, params: {} } });
  });

  it('refuses an RCPT line over 1012 octets', () => {
    const line = `RCPT TO:<${'o'.repeat(1000)}@e.f>`;
    expect(inTransaction().send(line)).toBe('500 5.5.2 Line too long\r\n');
  });

  it('measures the limit in bytes, not characters', () => {
    // 258 characters, but 512 and 513 octets with CRLF.
    expect(greeted().send(`VRFY ${'é'.repeat(252)}x`)).toBe(
      '252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n',
    );
    expect(greeted().send(`VRFY ${'é'.repeat(252)}xx`)).toBe('500 5.5.2 Line too long\r\n');
  });

  it('replies 500 5.5.2 when the line reader reports a line too long for any verb', () => {
    const s = inTransaction();
    expect(s.dispatch({ type: 'line-too-long' })).toBe('500 5.5.2 Line too long\r\n');
    expect(s.send('DATA')).toBe('354 End data with <CR><LF>.<CR><LF>\r\n');
  });
});

describe('RSET and a new EHLO reset the transaction', () => {
  it('drops the sender and recipients on a new EHLO (RFC 5321 §4.1.4)', () => {
    const s = inTransaction();
    s.send('EHLO again.example');
    expect(s.lastHook).toMatchObject({ envelope: { mailFrom: null, rcptTo: [] } });
    s.answer({ action: 'accept' });
    expect(s.send('DATA')).toBe('503 5.5.1 Need MAIL command first\r\n');
    s.send('NOOP'); // shows the refusal was read (transition-data.test.ts, refused DATA)
    expect(s.sendAnswered('MAIL FROM:<x@y.z>')).toBe('250 2.1.0 Sender OK\r\n');
    expect(s.hooks.at(-1)?.session.helo).toBe('again.example');
  });

  it('starts a fresh envelope after RSET', () => {
    const s = inTransaction({}, ['one@example.com']);
    s.send('RSET');
    s.sendAnswered('MAIL FROM:<x@y.z>');
    s.send('RCPT TO:<two@example.com>');
    expect(s.lastHook).toMatchObject({
      envelope: { mailFrom: { address: 'x@y.z', params: {} }, rcptTo: [] },
    });
  });
});

describe('events that do not fit the phase are ignored', () => {
  const ignored = (s: SessionDriver, event: Parameters<SessionDriver['dispatch']>[0]) => {
    const before = s.state;
    expect(s.dispatch(event)).toBe('');
    expect(s.last).toEqual([]);
    expect(s.state).toBe(before);
  };

  it('ignores lines and over-long lines while a handler call is in flight', () => {
    const s = new SessionDriver();
    ignored(s, { type: 'line', line: Buffer.from('NOOP') });
    ignored(s, { type: 'line-too-long' });
    expect(s.answer({ action: 'accept' })).toBe('220 mx.example.net ESMTP mxhook\r\n');
  });

  it('ignores data ends, BDAT chunks, handler answers and TLS in the command phase', () => {
    const s = inTransaction();
    ignored(s, { type: 'data-end', outcome: { kind: 'too-large', sizeBytes: 1 }, now: NOW });
    ignored(s, { type: 'bdat-chunk', outcome: null, now: NOW });
    ignored(s, answered(s.state, { ok: true, response: { action: 'accept' } }));
    ignored(s, { type: 'tls-started', tls: TLS });
    expect(s.send('DATA')).toBe('354 End data with <CR><LF>.<CR><LF>\r\n');
  });

  it('ignores lines and handler answers in the DATA phase', () => {
    const s = inTransaction();
    s.send('DATA');
    ignored(s, { type: 'line', line: Buffer.from('QUIT') });
    ignored(
      s,
      answered(s.state, {
        ok: false,
        error: { code: 'ERR_HOOK_TIMEOUT', message: 'took too long' },
      }),
    );
    ignored(s, { type: 'bdat-chunk', outcome: null, now: NOW });
  });

  it('ignores everything after the session closed', () => {
    const s = connected();
    s.send('QUIT');
    ignored(s, { type: 'line', line: Buffer.from('NOOP') });
    ignored(s, { type: 'timeout' });
    ignored(s, { type: 'shutdown' });
    ignored(s, { type: 'early-talker' });
    ignored(s, answered(s.state, { ok: true, response: { action: 'accept' } }));
  });
});
