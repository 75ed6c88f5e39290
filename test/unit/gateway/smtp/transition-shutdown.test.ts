// Session tests for the session's end: graceful shutdown, idle timeout, and clients that talk first.
import { describe, expect, it } from 'vitest';
import { connected, greeted, inTransaction, SessionDriver, TLS } from './driver.ts';

const SHUTTING_DOWN = '421 4.3.2 mx.example.net shutting down, try again later\r\n';

describe('shutdown', () => {
  it('replies 421 4.3.2 and closes an idle session', () => {
    const s = greeted();
    expect(s.dispatch({ type: 'shutdown' })).toBe(SHUTTING_DOWN);
    expect(s.lastTypes).toEqual(['reply', 'close']);
    expect(s.closed).toBe(true);
  });

  it('replies 421 4.3.2 and closes a session still waiting for its connect call', () => {
    const s = new SessionDriver();
    expect(s.dispatch({ type: 'shutdown' })).toBe(SHUTTING_DOWN);
    expect(s.closed).toBe(true);
  });

  it('lets a transaction finish, then replies 421 and closes', () => {
    const s = inTransaction();
    expect(s.dispatch({ type: 'shutdown' })).toBe('');
    expect(s.last).toEqual([]);
    expect(s.send('DATA')).toBe('354 End data with <CR><LF>.<CR><LF>\r\n');
    s.endMessage('x\r\n');
    expect(s.answer({ action: 'accept' })).toBe(`250 2.0.0 Message accepted\r\n${SHUTTING_DOWN}`);
    expect(s.lastTypes).toEqual(['transaction-end', 'reply', 'reply', 'close']);
    expect(s.closed).toBe(true);
  });

  it('lets a data call in flight finish, then replies 421 and closes', () => {
    const s = inTransaction();
    s.send('DATA');
    s.endMessage('x\r\n');
    expect(s.dispatch({ type: 'shutdown' })).toBe('');
    expect(s.fail()).toBe(
      `451 4.3.0 Temporary failure, please try again later\r\n${SHUTTING_DOWN}`,
    );
    expect(s.closed).toBe(true);
  });

  it('sends one 421 when the data answer itself is a 421', () => {
    const s = inTransaction();
    s.send('DATA');
    s.dispatch({ type: 'shutdown' });
    s.endMessage('x\r\n');
    expect(s.answer({ code: 421, enhanced: '4.3.2', message: 'bye' })).toBe('421 4.3.2 bye\r\n');
    expect(s.lastTypes).toEqual(['transaction-end', 'reply', 'close']);
  });

  it('lets a chunked transaction finish, then replies 421 and closes', () => {
    const s = inTransaction();
    s.send('BDAT 3');
    s.dispatch({ type: 'shutdown' });
    expect(s.chunk('abc')).toBe('250 2.0.0 3 octets received\r\n');
    s.send('BDAT 2 LAST');
    s.chunk('de');
    expect(s.answer({ action: 'reject' })).toBe(`554 5.7.1 Message rejected\r\n${SHUTTING_DOWN}`);
    expect(s.closed).toBe(true);
  });

  it('closes with 421 after a message refused at the end of data', () => {
    const s = inTransaction();
    s.send('DATA');
    s.dispatch({ type: 'shutdown' });
    expect(s.endData({ kind: 'too-large', sizeBytes: 20_000 })).toBe(
      `552 5.3.4 Message size exceeds fixed maximum message size\r\n${SHUTTING_DOWN}`,
    );
    expect(s.lastTypes).toEqual(['transaction-end', 'reply', 'reply', 'close']);
  });

  it('closes with 421 after a refused last chunk', () => {
    const s = inTransaction();
    s.send('BDAT 20000 LAST');
    s.dispatch({ type: 'shutdown' });
    expect(s.chunk()).toBe(
      `552 5.3.4 Message size exceeds fixed maximum message size\r\n${SHUTTING_DOWN}`,
    );
    expect(s.closed).toBe(true);
  });

  it('closes with 421 once RSET ends the transaction', () => {
    const s = inTransaction();
    s.dispatch({ type: 'shutdown' });
    expect(s.send('RSET')).toBe(`250 2.0.0 Reset OK\r\n${SHUTTING_DOWN}`);
    expect(s.closed).toBe(true);
  });

  it('replies 221 to QUIT in a draining transaction', () => {
    const s = inTransaction();
    s.dispatch({ type: 'shutdown' });
    expect(s.send('QUIT')).toBe('221 2.0.0 mx.example.net closing connection\r\n');
    expect(s.closed).toBe(true);
  });

  it('keeps answering inside a draining transaction', () => {
    const s = inTransaction();
    s.dispatch({ type: 'shutdown' });
    expect(s.send('NOOP')).toBe('250 2.0.0 OK\r\n');
    expect(s.sendAnswered('RCPT TO:<x@y.z>')).toBe('250 2.1.5 Recipient OK\r\n');
  });

  it('closes with 421 when a sender in flight is refused, and lets an accepted one go on', () => {
    const refused = greeted();
    refused.send('MAIL FROM:<a@b.c>');
    refused.dispatch({ type: 'shutdown' });
    expect(refused.answer({ action: 'reject' })).toBe(
      `550 5.7.1 Sender rejected\r\n${SHUTTING_DOWN}`,
    );
    expect(refused.closed).toBe(true);

    const accepted = greeted();
    accepted.send('MAIL FROM:<a@b.c>');
    accepted.dispatch({ type: 'shutdown' });
    expect(accepted.answer({ action: 'accept' })).toBe('250 2.1.0 Sender OK\r\n');
    expect(accepted.closed).toBe(false);
  });

  it('closes with 421 after a HELO call in flight is answered', () => {
    const s = connected();
    s.send('HELO client.example');
    s.dispatch({ type: 'shutdown' });
    expect(s.answer({ action: 'accept' })).toBe(
      `250 mx.example.net greets client.example\r\n${SHUTTING_DOWN}`,
    );
    expect(s.closed).toBe(true);
  });

  it('closes with 421 once a TLS handshake in progress completes', () => {
    const s = greeted();
    s.send('STARTTLS');
    expect(s.dispatch({ type: 'shutdown' })).toBe('');
    expect(s.dispatch({ type: 'tls-started', tls: TLS })).toBe(SHUTTING_DOWN);
    expect(s.closed).toBe(true);
  });
});

const IDLE = '421 4.4.2 Idle timeout, closing connection\r\n';
const DATA_TIMEOUT = '421 4.4.2 Timeout waiting for message data, closing connection\r\n';

describe('timeouts', () => {
  it.each([
    ['waiting for a command', () => greeted(), IDLE],
    ['in a transaction', () => inTransaction(), IDLE],
    ['waiting for a handler', () => new SessionDriver(), IDLE],
    [
      'reading DATA',
      () => {
        const s = inTransaction();
        s.send('DATA');
        return s;
      },
      DATA_TIMEOUT,
    ],
    [
      'reading a BDAT chunk',
      () => {
        const s = inTransaction();
        s.send('BDAT 10');
        return s;
      },
      DATA_TIMEOUT,
    ],
  ])('replies 421 4.4.2 and closes when %s', (_when, start, expected) => {
    const s = start();
    expect(s.dispatch({ type: 'timeout' })).toBe(expected);
    expect(s.lastTypes).toEqual(['reply', 'close']);
    expect(s.closed).toBe(true);
  });
});

describe('early talker', () => {
  it('replies 554 5.5.1 and closes a client that talks before the banner', () => {
    const s = new SessionDriver();
    expect(s.dispatch({ type: 'early-talker' })).toBe(
      '554 5.5.1 Protocol error: client sent data before the greeting\r\n',
    );
    expect(s.lastTypes).toEqual(['reply', 'close']);
    expect(s.closed).toBe(true);
    expect(s.answer({ action: 'accept' })).toBe('');
  });
});
