// Session tests for BDAT (RFC 3030): chunk replies, the last chunk's data call, refused chunks still read.
import { describe, expect, it } from 'vitest';
import { connected, ENDED_TOO_LARGE, greeted, inTransaction } from './driver.ts';

const TOO_BIG = '552 5.3.4 Message size exceeds fixed maximum message size\r\n';

describe('BDAT', () => {
  it('reads the chunk, then replies 250 with its size', () => {
    const s = inTransaction();
    expect(s.send('BDAT 5')).toBe('');
    expect(s.last).toEqual([]);
    expect(s.chunkToRead).toEqual({ sizeBytes: 5, keep: true, first: true, last: false });
    expect(s.state.phase).toBe('bdat');
    expect(s.chunk('hel', 'lo')).toBe('250 2.0.0 5 octets received\r\n');
  });

  it('calls the data step after BDAT LAST with every chunk after the Received header', () => {
    const s = inTransaction();
    s.send('BDAT 5');
    s.chunk('hello');
    expect(s.send('bdat 3 last')).toBe('');
    expect(s.last).toEqual([]);
    expect(s.chunkToRead).toEqual({ sizeBytes: 3, keep: true, first: false, last: true });
    expect(s.chunk('a', 'bc')).toBe('');
    const call = s.dataCall;
    const received =
      'Received: from client.example ([192.0.2.7])\r\n' +
      '\tby mx.example.net (mxhook) with ESMTP id S1.1\r\n' +
      '\tfor <rcpt@example.com>; Tue, 2 Jan 2024 03:04:05 +0000\r\n';
    expect(call.message.chunks.map((c) => c.toString('utf8'))).toEqual([
      received,
      'hello',
      'a',
      'bc',
    ]);
    expect(call.message.sizeBytes).toBe(received.length + 8);
    expect(s.answer({ action: 'accept' })).toBe('250 2.0.0 Message accepted\r\n');
    expect(s.last[0]).toMatchObject({
      type: 'transaction-end',
      outcome: 'accepted',
      queueId: 'S1.1',
    });
    expect(s.send('RCPT TO:<d@e.f>')).toBe('503 5.5.1 Need MAIL command first\r\n');
  });

  it('accepts BDAT 0 LAST as the end of the message', () => {
    const s = inTransaction();
    s.send('BDAT 4');
    s.chunk('abcd');
    s.send('BDAT 0 LAST');
    expect(s.last).toEqual([]);
    expect(s.chunkToRead).toEqual({ sizeBytes: 0, keep: true, first: false, last: true });
    s.chunk();
    expect(s.lastHook).toMatchObject({ step: 'data' });
  });

  it('replies 451 4.3.0 to BDAT LAST when the data call fails', () => {
    const s = inTransaction();
    s.send('BDAT 2 LAST');
    s.chunk('hi');
    expect(s.fail()).toBe('451 4.3.0 Temporary failure, please try again later\r\n');
  });
});

describe('refused chunks are still read (RFC 3030 §2)', () => {
  it('reads and discards a chunk before MAIL, then replies 503 5.5.1', () => {
    const s = greeted();
    expect(s.send('BDAT 4')).toBe('');
    expect(s.last).toEqual([]);
    expect(s.chunkToRead).toEqual({ sizeBytes: 4, keep: false, first: true, last: false });
    expect(s.chunk()).toBe('503 5.5.1 Need MAIL command first\r\n');
    expect(s.state.phase).toBe('command');
  });

  it('reads and discards a chunk before HELO, then replies 503 5.5.1', () => {
    const s = connected();
    s.send('BDAT 4 LAST');
    expect(s.last).toEqual([]);
    expect(s.chunkToRead).toEqual({ sizeBytes: 4, keep: false, first: true, last: true });
    expect(s.chunk()).toBe('503 5.5.1 Send HELO/EHLO first\r\n');
  });

  it('replies 554 5.5.1 after a chunk without an accepted recipient', () => {
    const s = inTransaction({}, []);
    s.send('BDAT 4 LAST');
    expect(s.last).toEqual([]);
    expect(s.chunkToRead).toEqual({ sizeBytes: 4, keep: false, first: true, last: true });
    expect(s.chunk()).toBe('554 5.5.1 No valid recipients\r\n');
    expect(s.last[0]).toMatchObject({ type: 'transaction-end', outcome: 'refused' });
  });

  it('replies 552 5.3.4 to a chunk over the size limit, and to every later chunk of the message', () => {
    const s = inTransaction();
    s.send('BDAT 10001');
    expect(s.last).toEqual([]);
    expect(s.chunkToRead).toEqual({ sizeBytes: 10_001, keep: false, first: true, last: false });
    expect(s.chunk()).toBe(TOO_BIG);
    s.send('BDAT 1');
    expect(s.last).toEqual([]);
    expect(s.chunkToRead).toEqual({ sizeBytes: 1, keep: false, first: false, last: false });
    expect(s.chunk()).toBe(TOO_BIG);
    s.send('BDAT 1 LAST');
    expect(s.last).toEqual([]);
    expect(s.chunkToRead).toEqual({ sizeBytes: 1, keep: false, first: false, last: true });
    expect(s.chunk()).toBe(TOO_BIG);
    expect(s.last[0]).toEqual(ENDED_TOO_LARGE);
    expect(s.hooks.map((h) => h.step)).not.toContain('data');
    expect(s.sendAnswered('MAIL FROM:<a@b.c>')).toBe('250 2.1.0 Sender OK\r\n');
  });

  it('replies 552 5.3.4 once the chunks together pass the size limit', () => {
    const s = inTransaction();
    s.send('BDAT 6000');
    expect(s.chunk('x'.repeat(6000))).toBe('250 2.0.0 6000 octets received\r\n');
    s.send('BDAT 4000');
    expect(s.chunk('y'.repeat(4000))).toBe('250 2.0.0 4000 octets received\r\n');
    s.send('BDAT 1 LAST');
    expect(s.last).toEqual([]);
    expect(s.chunkToRead).toEqual({ sizeBytes: 1, keep: false, first: false, last: true });
    expect(s.chunk()).toBe(TOO_BIG);
  });

  it('replies 452 4.3.1 to the first chunk when the memory budget is used up', () => {
    const s = inTransaction({ settings: { isOverMemoryBudget: () => true } });
    s.send('BDAT 3 LAST');
    expect(s.last).toEqual([]);
    expect(s.chunkToRead).toEqual({ sizeBytes: 3, keep: false, first: true, last: true });
    expect(s.chunk()).toBe('452 4.3.1 Insufficient system storage, try again later\r\n');
    expect(s.last[0]).toMatchObject({ type: 'transaction-end', outcome: 'refused' });
  });

  it('lets RSET end a failed chunked transaction', () => {
    const s = inTransaction();
    s.send('BDAT 20000');
    s.chunk();
    expect(s.send('MAIL FROM:<a@b.c>')).toBe('503 5.5.1 Sender already specified\r\n');
    s.send('RSET');
    expect(s.sendAnswered('MAIL FROM:<a@b.c>')).toBe('250 2.1.0 Sender OK\r\n');
  });
});

describe('unparsable BDAT', () => {
  it.each([
    'BDAT',
    'BDAT x',
    'BDAT -1',
    'BDAT 5 FIRST',
    'BDAT 5LAST',
    'BDAT 123456789012345678901',
  ])('replies 501 5.5.4 to %j and closes, since the chunk cannot be skipped', (line) => {
    const s = inTransaction();
    expect(s.send(line)).toBe(
      '501 5.5.4 Syntax error: BDAT needs a chunk size and optional LAST\r\n',
    );
    expect(s.lastTypes).toEqual(['reply', 'close']);
    expect(s.closed).toBe(true);
  });
});

describe('BDAT sizes that cannot be a message', () => {
  it.each(['BDAT 99999999999999999999 LAST', 'BDAT 9007199254740993', 'BDAT 20001'])(
    'replies 552 5.3.4 to %j and closes, since its bytes cannot be skipped',
    (line) => {
      const s = inTransaction();
      expect(s.send(line)).toBe(TOO_BIG);
      expect(s.lastTypes).toEqual(['reply', 'close']);
      expect(s.closed).toBe(true);
    },
  );

  it('closes once the announced chunks of one message pass twice the size limit', () => {
    const s = inTransaction();
    s.send('BDAT 10001');
    expect(s.chunk()).toBe(TOO_BIG);
    expect(s.send('BDAT 9999')).toBe('');
    expect(s.chunk()).toBe(TOO_BIG);
    expect(s.send('BDAT 1 LAST')).toBe(TOO_BIG);
    expect(s.closed).toBe(true);
  });

  it('still reads and refuses a chunk within the skip allowance, before MAIL too', () => {
    const s = greeted();
    expect(s.send('BDAT 20000 LAST')).toBe('');
    expect(s.last).toEqual([]);
    expect(s.chunkToRead).toEqual({ sizeBytes: 20_000, keep: false, first: true, last: true });
  });
});

describe('DATA and BDAT do not mix', () => {
  it('replies 503 5.5.1 to DATA after a BDAT chunk', () => {
    const s = inTransaction();
    s.send('BDAT 2');
    s.chunk('ab');
    expect(s.send('DATA')).toBe('503 5.5.1 DATA and BDAT cannot be mixed in one transaction\r\n');
    s.send('NOOP'); // shows the refusal was read (transition-data.test.ts, refused DATA)
    s.send('BDAT 0 LAST');
    s.chunk();
    expect(s.lastHook).toMatchObject({ step: 'data' });
  });
});
