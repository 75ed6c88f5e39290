// Session tests for command-level policy: input behind a refused DATA, junk commands, the session time limit.
import { describe, expect, it } from 'vitest';
import { greeted, inTransaction, type SessionDriver } from './driver.ts';

const BREAK = '221 2.7.0 Error: I can break rules, too. Goodbye.\r\n';
const NO_RECIPIENTS = '554 5.5.1 No valid recipients\r\n';

/** A line read with more input already buffered behind it. */
const pipelined = (s: SessionDriver, line: string): string =>
  s.dispatch({ type: 'line', line: Buffer.from(line), pipelined: true });

describe('after a refused DATA (RFC 2920 §3.1)', () => {
  it('answers the refusal, then 221 2.7.0 and closes, when input is already waiting behind DATA', () => {
    const s = inTransaction({}, []);
    expect(pipelined(s, 'DATA')).toBe(NO_RECIPIENTS + BREAK);
    expect(s.closed).toBe(true);
  });

  it('opens the message as usual for an accepted DATA with input behind it', () => {
    const s = inTransaction();
    expect(pipelined(s, 'DATA')).toBe('354 End data with <CR><LF>.<CR><LF>\r\n');
  });

  it.each([
    'Subject: hi',
    '',
    'MAIL FROM:<inner@evil.example>',
    'RCPT TO:<victim@example.com>',
    'DATA',
    'BDAT 5 LAST',
    '.',
  ])('ends the session with 221 when the next line is %j, a body line sent later', (line) => {
    const s = inTransaction({}, []);
    expect(s.send('DATA')).toBe(NO_RECIPIENTS);
    expect(s.send(line)).toBe(BREAK);
    expect(s.closed).toBe(true);
    expect(s.hooks.filter((h) => h.step === 'mail' || h.step === 'rcpt')).toHaveLength(1);
  });

  it('ends the session when a reset is followed by input already waiting, as a body would be', () => {
    const s = inTransaction({}, []);
    s.send('DATA');
    expect(pipelined(s, 'RSET')).toBe(BREAK);
  });

  it('ends the session for an over-long line, which cannot be a command the client meant', () => {
    const s = inTransaction({}, []);
    s.send('DATA');
    expect(s.dispatch({ type: 'line-too-long' })).toBe(BREAK);
  });

  it.each(['RSET', 'NOOP', 'EHLO client.example', 'HELO client.example'])(
    'carries on after %s sent alone, which shows the refusal was read',
    (line) => {
      const s = inTransaction({}, []);
      s.send('DATA');
      s.send(line);
      if (s.state.phase === 'waiting') s.answer({ action: 'accept' });
      expect(s.send('RSET')).toBe('250 2.0.0 Reset OK\r\n');
      expect(s.sendAnswered('MAIL FROM:<a@b.c>')).toBe('250 2.1.0 Sender OK\r\n');
      expect(s.sendAnswered('RCPT TO:<d@e.f>')).toBe('250 2.1.5 Recipient OK\r\n');
      expect(s.send('DATA')).toBe('354 End data with <CR><LF>.<CR><LF>\r\n');
    },
  );

  it('says goodbye normally to QUIT, pipelined or not', () => {
    const s = inTransaction({}, []);
    s.send('DATA');
    expect(pipelined(s, 'QUIT')).toBe('221 2.0.0 mx.example.net closing connection\r\n');
  });
});

describe('junk commands (Postfix smtpd_junk_command_limit)', () => {
  const TOO_MANY = '421 4.7.0 Too many commands without a message, closing connection\r\n';

  it('closes with 421 4.7.0 at the first NOOP, VRFY, EXPN, RSET or HELP past the limit', () => {
    const s = greeted({ settings: { maxJunkCommands: 5 } });
    for (const line of ['NOOP', 'VRFY x', 'EXPN x', 'RSET', 'HELP'])
      expect(s.send(line)).not.toBe(TOO_MANY);
    expect(s.closed).toBe(false);
    expect(s.send('NOOP')).toBe(TOO_MANY);
    expect(s.closed).toBe(true);
  });

  it('starts the count over when a message is accepted, and not when it is refused', () => {
    const s = inTransaction({ settings: { maxJunkCommands: 2 } });
    s.send('NOOP');
    s.send('NOOP');
    s.send('DATA');
    s.endMessage('Subject: x\r\n\r\nhi\r\n');
    expect(s.answer({ action: 'accept' })).toBe('250 2.0.0 Message accepted\r\n');
    expect(s.send('NOOP')).toBe('250 2.0.0 OK\r\n');
    s.send('NOOP');
    s.sendAnswered('MAIL FROM:<a@b.c>');
    s.sendAnswered('RCPT TO:<d@e.f>');
    s.send('DATA');
    s.endMessage('Subject: x\r\n\r\nhi\r\n');
    expect(s.answer({ action: 'reject' }).startsWith('554')).toBe(true);
    expect(s.send('NOOP')).toBe(TOO_MANY);
  });
});

describe('session time limit', () => {
  const EXPIRED = '421 4.7.0 Session time limit reached, closing connection\r\n';

  it('closes an idle session, or one with a transaction but no message yet, with 421 4.7.0', () => {
    const idle = greeted();
    expect(idle.dispatch({ type: 'session-expired' })).toBe(EXPIRED);
    expect(idle.closed).toBe(true);
    const open = inTransaction();
    expect(open.dispatch({ type: 'session-expired' })).toBe(EXPIRED);
    expect(open.closed).toBe(true);
  });

  it('lets a message being received finish, answers it by the data function, then closes', () => {
    const s = inTransaction();
    s.send('DATA');
    expect(s.dispatch({ type: 'session-expired' })).toBe('');
    expect(s.endMessage('Subject: x\r\n\r\nhi\r\n')).toBe('');
    expect(s.dispatch({ type: 'session-expired' })).toBe('');
    expect(s.answer({ action: 'accept' })).toBe(`250 2.0.0 Message accepted\r\n${EXPIRED}`);
    expect(s.closed).toBe(true);
  });

  it('never answers 250 for a message the data function did not accept', () => {
    const s = inTransaction();
    s.send('DATA');
    s.dispatch({ type: 'session-expired' });
    s.endMessage('Subject: x\r\n\r\nhi\r\n');
    expect(s.fail()).toBe(`451 4.3.0 Temporary failure, please try again later\r\n${EXPIRED}`);
  });
});
