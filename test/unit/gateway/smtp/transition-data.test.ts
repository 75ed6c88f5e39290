// Session tests for DATA: the 354, the end of the message, the data call with our Received header, refusals.
import { describe, expect, it } from 'vitest';
import { ENDED_TOO_LARGE, greeted, INFO, inTransaction, NOW } from './driver.ts';

const RECEIVED =
  'Received: from client.example ([192.0.2.7])\r\n' +
  '\tby mx.example.net (mxhook) with ESMTP id S1.1\r\n' +
  '\tfor <rcpt@example.com>; Tue, 2 Jan 2024 03:04:05 +0000\r\n';

describe('DATA', () => {
  it('calls the data step with the Received header first, then the message bytes', () => {
    const s = inTransaction();
    expect(s.send('DATA')).toBe('354 End data with <CR><LF>.<CR><LF>\r\n');
    const body = Buffer.from('Subject: hi\r\n\r\nhello\r\n');
    expect(s.endData({ kind: 'complete', chunks: [body], sizeBytes: body.length })).toBe('');
    const call = s.dataCall;
    expect(call.message.chunks.map((c) => c.toString('utf8'))).toEqual([
      RECEIVED,
      'Subject: hi\r\n\r\nhello\r\n',
    ]);
    expect(call.message.sizeBytes).toBe(Buffer.byteLength(RECEIVED) + body.length);
    expect(call.message.queueId).toBe('S1.1');
    expect(call.session).toEqual({ ...INFO, helo: 'client.example' });
    expect(call.envelope).toEqual({
      mailFrom: { address: 'sender@example.org', params: {} },
      rcptTo: [{ address: 'rcpt@example.com', params: {} }],
    });
    expect(s.answer({ action: 'accept' })).toBe('250 2.0.0 Message accepted\r\n');
  });

  it('keeps the decoder chunks as they are, after the header', () => {
    const s = inTransaction({}, ['a@example.com', 'b@example.com']);
    s.send('DATA');
    const parts = [Buffer.from('a\r\n'), Buffer.from('b\r\n')];
    s.endData({ kind: 'complete', chunks: parts, sizeBytes: 6 });
    const call = s.dataCall;
    expect(call.message.chunks.slice(1)).toEqual(parts);
    expect(call.message.chunks[0]!.toString('utf8')).toBe(
      'Received: from client.example ([192.0.2.7])\r\n' +
        '\tby mx.example.net (mxhook) with ESMTP id S1.1; Tue, 2 Jan 2024 03:04:05 +0000\r\n',
    );
  });

  it('writes the time of the end of data into the Received header', () => {
    const s = inTransaction();
    s.send('DATA');
    s.endMessage('x\r\n', new Date(Date.UTC(2030, 5, 15, 12, 0, 0)));
    const call = s.dataCall;
    expect(call.message.chunks[0]!.toString('utf8')).toMatch(
      /; Sat, 15 Jun 2030 12:00:00 \+0000\r\n$/,
    );
  });

  /** The Received header of a one-recipient message sent after `hello`. */
  const receivedAfter = (hello: string, mail: string, rcpt: string): string => {
    const s = greeted({}, hello);
    s.sendAnswered(mail);
    s.sendAnswered(rcpt);
    s.send('DATA');
    s.endMessage('x\r\n');
    return s.dataCall.message.chunks[0]!.toString('utf8');
  };

  it('writes with SMTP after HELO', () => {
    expect(receivedAfter('HELO client.example', 'MAIL FROM:<a@b.c>', 'RCPT TO:<d@e.f>')).toBe(
      'Received: from client.example ([192.0.2.7])\r\n' +
        '\tby mx.example.net (mxhook) with SMTP id S1.1\r\n' +
        '\tfor <d@e.f>; Tue, 2 Jan 2024 03:04:05 +0000\r\n',
    );
  });

  it('writes with UTF8SMTP for an SMTPUTF8 transaction (RFC 6531 §3.7.3)', () => {
    expect(
      receivedAfter(
        'EHLO client.example',
        'MAIL FROM:<a@b.c> SMTPUTF8',
        'RCPT TO:<jörg@bücher.example>',
      ),
    ).toBe(
      'Received: from client.example ([192.0.2.7])\r\n' +
        '\tby mx.example.net (mxhook) with UTF8SMTP id S1.1\r\n' +
        '\tfor <jörg@bücher.example>; Tue, 2 Jan 2024 03:04:05 +0000\r\n',
    );
  });

  it('replies 452 4.3.1 to DATA when the memory budget is used up, and keeps the transaction', () => {
    let over = true;
    const s = inTransaction({ settings: { isOverMemoryBudget: () => over } });
    expect(s.send('DATA')).toBe('452 4.3.1 Insufficient system storage, try again later\r\n');
    expect(s.state.phase).toBe('command');
    over = false;
    s.send('NOOP'); // shows the refusal was read (see 'after a refused DATA' below)
    expect(s.send('DATA')).toBe('354 End data with <CR><LF>.<CR><LF>\r\n');
  });
});

describe('end of data without a data call', () => {
  it('replies 552 5.3.4 to a message over the size limit and ends the transaction', () => {
    const s = inTransaction();
    s.send('DATA');
    expect(s.endData({ kind: 'too-large', sizeBytes: 20_000 })).toBe(
      '552 5.3.4 Message size exceeds fixed maximum message size\r\n',
    );
    expect(s.last[0]).toEqual(ENDED_TOO_LARGE);
    expect(s.hooks.map((h) => h.step)).not.toContain('data');
    expect(s.send('RCPT TO:<d@e.f>')).toBe('503 5.5.1 Need MAIL command first\r\n');
  });

  it('replies 550 5.5.2 to a message with a bare LF', () => {
    const s = inTransaction();
    s.send('DATA');
    expect(s.endData({ kind: 'bare-lf' })).toBe(
      '550 5.5.2 Message contains a bare <LF>; lines must end with <CR><LF> (RFC 5321 section 2.3.8)\r\n',
    );
    expect(s.last[0]).toMatchObject({ type: 'transaction-end', outcome: 'refused' });
  });

  it('replies 550 5.5.2 to a message with a line over 1000 octets', () => {
    const s = inTransaction();
    s.send('DATA');
    expect(s.endData({ kind: 'long-line' })).toBe(
      '550 5.5.2 Message contains a line longer than 1000 octets (RFC 5321 section 4.5.3.1.6)\r\n',
    );
    expect(s.last[0]).toMatchObject({ type: 'transaction-end', outcome: 'refused' });
  });

  it('counts a refused message as a transaction for the queue id', () => {
    const s = inTransaction();
    s.send('DATA');
    s.endData({ kind: 'bare-lf' });
    s.sendAnswered('MAIL FROM:<a@b.c>');
    s.sendAnswered('RCPT TO:<d@e.f>');
    s.send('DATA');
    s.endMessage('x\r\n', NOW);
    expect(s.lastHook).toMatchObject({ message: { queueId: 'S1.2' } });
  });

  it('does not count a refused message as a client error', () => {
    const s = inTransaction({ settings: { maxBadCommands: 1 } });
    s.send('DATA');
    s.endData({ kind: 'long-line' });
    expect(s.closed).toBe(false);
  });
});
