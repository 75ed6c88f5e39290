// Session tests for handler answers at every step: accept, reject, defer, explicit codes and failures.
import { describe, expect, it } from 'vitest';
import { connected, greeted, INFO, inTransaction, SessionDriver } from './driver.ts';

const TEMPORARY = '451 4.3.0 Temporary failure, please try again later\r\n';

describe('connect step', () => {
  it.each([
    ['reject', { action: 'reject' }, '554 5.7.1 Connection refused\r\n'],
    ['defer', { action: 'defer' }, '421 4.7.1 Service not available, try again later\r\n'],
    ['an explicit 554', { code: 554, message: 'listed' }, '554 5.7.1 listed\r\n'],
    ['an explicit 421', { code: 421, enhanced: '4.7.0', message: 'busy' }, '421 4.7.0 busy\r\n'],
    [
      'a code connect cannot use',
      { code: 250 },
      '421 4.3.0 Service temporarily unavailable, try again later\r\n',
    ],
    ['an unusable body', 'OK', '421 4.3.0 Service temporarily unavailable, try again later\r\n'],
  ])('replies to %s with its code and closes', (_what, response, wire) => {
    const s = new SessionDriver();
    expect(s.answer(response)).toBe(wire);
    expect(s.lastTypes).toEqual(['reply', 'close']);
    expect(s.closed).toBe(true);
  });

  it('replies 421 4.3.0 and closes when the connect call fails', () => {
    const s = new SessionDriver();
    expect(s.fail('ERR_HOOK_TIMEOUT')).toBe(
      '421 4.3.0 Service temporarily unavailable, try again later\r\n',
    );
    expect(s.lastTypes).toEqual(['reply', 'close']);
  });
});

describe('helo step', () => {
  it.each([
    ['reject', { action: 'reject' }, '550 5.7.1 Hostname rejected\r\n'],
    ['defer', { action: 'defer' }, '451 4.7.1 Try again later\r\n'],
    [
      'an explicit 550',
      { code: 550, enhanced: '5.7.1', message: 'no thanks' },
      '550 5.7.1 no thanks\r\n',
    ],
    ['a code helo cannot use', { code: 552 }, TEMPORARY],
  ])('replies to %s exactly, and the client is still not greeted', (_what, response, wire) => {
    const s = connected();
    expect(s.sendAnswered('EHLO client.example', response)).toBe(wire);
    expect(s.send('MAIL FROM:<a@b.c>')).toBe('503 5.5.1 Send HELO/EHLO first\r\n');
  });

  it('replies 451 4.3.0 when the helo call fails', () => {
    const s = connected();
    s.send('EHLO client.example');
    expect(s.fail('ERR_HOOK_NETWORK')).toBe(TEMPORARY);
    expect(s.closed).toBe(false);
  });

  it('replies 421 and closes when the function answers 421', () => {
    const s = connected();
    expect(s.sendAnswered('EHLO client.example', { code: 421, message: 'go away' })).toBe(
      '421 4.0.0 go away\r\n',
    );
    expect(s.closed).toBe(true);
  });

  it('sends the EHLO extension list, not the message, for an explicit 250', () => {
    const s = connected({ settings: { tlsAvailable: false } });
    expect(s.sendAnswered('EHLO client.example', { code: 250, message: 'hi there' })).toMatch(
      /^250-mx\.example\.net greets client\.example\r\n250-PIPELINING\r\n/,
    );
  });

  it('passes the session with the new HELO name to the call', () => {
    const s = connected();
    s.send('HELO client.example');
    expect(s.lastHook).toEqual({
      step: 'helo',
      session: { ...INFO, helo: 'client.example' },
      envelope: { mailFrom: null, rcptTo: [] },
      helo: { hostname: 'client.example', esmtp: false },
    });
  });
});

describe('mail step', () => {
  it.each([
    ['accept', { action: 'accept' }, '250 2.1.0 Sender OK\r\n'],
    ['reject', { action: 'reject' }, '550 5.7.1 Sender rejected\r\n'],
    ['defer', { action: 'defer' }, '451 4.7.1 Try again later\r\n'],
    [
      'an explicit 553',
      { code: 553, enhanced: '5.1.8', message: 'bad domain' },
      '553 5.1.8 bad domain\r\n',
    ],
    ['an explicit 452 without text', { code: 452 }, '452 4.0.0 Insufficient system storage\r\n'],
    ['a code mail cannot use', { code: 354 }, TEMPORARY],
    ['an enhanced code of the wrong class', { code: 550, enhanced: '4.1.1' }, TEMPORARY],
  ])('replies to %s exactly', (_what, response, wire) => {
    expect(greeted().sendAnswered('MAIL FROM:<a@b.c>', response)).toBe(wire);
  });

  it('starts no transaction when the sender is refused', () => {
    const s = greeted();
    s.sendAnswered('MAIL FROM:<a@b.c>', { action: 'reject' });
    expect(s.send('RCPT TO:<d@e.f>')).toBe('503 5.5.1 Need MAIL command first\r\n');
    expect(s.sendAnswered('MAIL FROM:<x@y.z>')).toBe('250 2.1.0 Sender OK\r\n');
  });

  it('replies 451 4.3.0 when the mail call fails', () => {
    const s = greeted();
    s.send('MAIL FROM:<a@b.c>');
    expect(s.fail('ERR_HOOK_STATUS')).toBe(TEMPORARY);
    expect(s.send('RCPT TO:<d@e.f>')).toBe('503 5.5.1 Need MAIL command first\r\n');
  });

  it('replies 421 and closes when the function answers 421', () => {
    const s = greeted();
    expect(
      s.sendAnswered('MAIL FROM:<a@b.c>', { code: 421, enhanced: '4.7.0', message: 'later' }),
    ).toBe('421 4.7.0 later\r\n');
    expect(s.lastTypes).toEqual(['reply', 'close']);
  });
});

describe('rcpt step', () => {
  it.each([
    ['accept', { action: 'accept' }, '250 2.1.5 Recipient OK\r\n'],
    ['an explicit 251', { code: 251, message: 'forwarding' }, '251 2.1.5 forwarding\r\n'],
    ['reject', { action: 'reject' }, '550 5.1.1 No such user\r\n'],
    ['defer', { action: 'defer' }, '451 4.7.1 Try again later\r\n'],
    [
      'an explicit 550',
      { code: 550, enhanced: '5.1.1', message: 'no such user' },
      '550 5.1.1 no such user\r\n',
    ],
    [
      'a multi-line answer',
      { code: 450, message: 'greylisted\ncome back later' },
      '450-4.0.0 greylisted\r\n450 4.0.0 come back later\r\n',
    ],
    ['a code rcpt cannot use', { code: 220 }, TEMPORARY],
  ])('replies to %s exactly', (_what, response, wire) => {
    expect(inTransaction({}, []).sendAnswered('RCPT TO:<d@e.f>', response)).toBe(wire);
  });

  it('keeps the transaction, without the recipient, when the rcpt call fails', () => {
    const s = inTransaction({}, []);
    s.send('RCPT TO:<d@e.f>');
    expect(s.fail()).toBe(TEMPORARY);
    expect(s.send('DATA')).toBe('554 5.5.1 No valid recipients\r\n');
    s.send('NOOP'); // shows the refusal was read (transition-data.test.ts, refused DATA)
    s.sendAnswered('RCPT TO:<g@h.i>');
    expect(s.send('DATA')).toBe('354 End data with <CR><LF>.<CR><LF>\r\n');
  });

  it('replies 421 and closes when the function answers 421', () => {
    const s = inTransaction({}, []);
    expect(s.sendAnswered('RCPT TO:<d@e.f>', { code: 421 })).toBe(
      '421 4.0.0 Service not available, closing transmission channel\r\n',
    );
    expect(s.closed).toBe(true);
  });

  it('cleans reply text of control characters so a function cannot inject protocol lines', () => {
    expect(
      inTransaction({}, []).sendAnswered('RCPT TO:<d@e.f>', {
        code: 550,
        message: 'no\r250 2.0.0 OK\u0000',
      }),
    ).toBe('550 5.1.1 no250 2.0.0 OK\r\n');
  });
});

describe('data step', () => {
  const MESSAGE = 'Message-ID: <m1@client.example>\r\nSubject: hi\r\n\r\nhello\r\n';
  /** What the transaction log line says: envelope, size as sent and Message-ID, never the body. */
  const SUMMARY = {
    mailFrom: 'sender@example.org',
    rcptTo: ['rcpt@example.com'],
    sizeBytes: MESSAGE.length,
    messageId: '<m1@client.example>',
  };
  const atData = (): SessionDriver => {
    const s = inTransaction();
    s.send('DATA');
    s.endMessage(MESSAGE);
    return s;
  };

  it.each([
    ['accept', { action: 'accept' }, '250 2.0.0 Message accepted\r\n', 'accepted'],
    [
      'an explicit 250',
      { code: 250, message: 'queued as 42' },
      '250 2.0.0 queued as 42\r\n',
      'accepted',
    ],
    ['reject', { action: 'reject' }, '554 5.7.1 Message rejected\r\n', 'rejected'],
    [
      'an explicit 550',
      { code: 550, enhanced: '5.7.1', message: 'spam' },
      '550 5.7.1 spam\r\n',
      'rejected',
    ],
    ['defer', { action: 'defer' }, '451 4.7.1 Try again later\r\n', 'deferred'],
    [
      'an explicit 452',
      { code: 452, enhanced: '4.3.1' },
      '452 4.3.1 Insufficient system storage\r\n',
      'deferred',
    ],
    ['a 2xx code data cannot use', { code: 251 }, TEMPORARY, 'failed'],
    ['an action with a code', { action: 'accept', code: 250 }, TEMPORARY, 'failed'],
    ['an empty object', {}, TEMPORARY, 'failed'],
  ])('replies to %s exactly and ends the transaction as %s', (_what, response, wire, outcome) => {
    const s = atData();
    expect(s.answer(response)).toBe(wire);
    expect(s.last[0]).toEqual({
      type: 'transaction-end',
      outcome,
      queueId: 'S1.1',
      headers: {},
      summary: SUMMARY,
    });
    expect(s.send('RCPT TO:<d@e.f>')).toBe('503 5.5.1 Need MAIL command first\r\n');
  });

  it('replies 451 4.3.0 when the data call fails, never 250', () => {
    const s = atData();
    expect(s.fail('ERR_HOOK_TIMEOUT')).toBe(TEMPORARY);
    expect(s.last).toEqual([
      {
        type: 'transaction-end',
        outcome: 'failed',
        queueId: 'S1.1',
        headers: {},
        summary: SUMMARY,
      },
      {
        type: 'reply',
        reply: {
          code: 451,
          enhanced: '4.3.0',
          lines: ['Temporary failure, please try again later'],
        },
      },
    ]);
  });

  it('reports the headers the data answer asks to record', () => {
    const s = atData();
    s.answer({ action: 'accept', headers: { 'X-Verdict': 'clean' } });
    expect(s.last[0]).toEqual({
      type: 'transaction-end',
      outcome: 'accepted',
      queueId: 'S1.1',
      headers: { 'X-Verdict': 'clean' },
      summary: SUMMARY,
    });
  });

  it('replies 421 and closes when the function answers 421', () => {
    const s = atData();
    expect(s.answer({ code: 421, enhanced: '4.3.2', message: 'restarting' })).toBe(
      '421 4.3.2 restarting\r\n',
    );
    expect(s.lastTypes).toEqual(['transaction-end', 'reply', 'close']);
  });

  it('numbers queue ids per transaction in the session', () => {
    const s = atData();
    s.answer({ action: 'accept' });
    s.sendAnswered('MAIL FROM:<a@b.c>');
    s.sendAnswered('RCPT TO:<d@e.f>');
    s.send('DATA');
    s.endMessage('x\r\n');
    expect(s.lastHook).toMatchObject({ step: 'data', message: { queueId: 'S1.2' } });
  });
});
