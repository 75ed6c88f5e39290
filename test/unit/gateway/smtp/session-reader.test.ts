// Tests for the SessionReader: bytes become the right event for the session's phase.
import { describe, expect, it } from 'vitest';
import { SessionReader } from '../../../../gateway/smtp/session-reader.ts';

const NOW = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
const now = () => NOW;
const DATA = { maxMessageBytes: 1000, bareLf: 'normalize', longLines: 'accept' } as const;
const text = (chunks: readonly Buffer[]) => Buffer.concat(chunks).toString('latin1');

describe('SessionReader', () => {
  it('reads command lines in the command and auth phases, and nothing while waiting', () => {
    const reader = new SessionReader();
    reader.push(Buffer.from('NOOP\r\nAGpvZQ==\r\n'));
    expect(reader.next('waiting', now)).toBeNull();
    expect(reader.next('command', now)).toEqual({ type: 'line', line: Buffer.from('NOOP') });
    expect(reader.next('auth', now)).toEqual({ type: 'line', line: Buffer.from('AGpvZQ==') });
    expect(reader.next('command', now)).toBeNull();
  });

  it('ends DATA at <CRLF>.<CRLF> and puts pipelined commands after it back', () => {
    const reader = new SessionReader();
    reader.expectData(DATA);
    reader.push(Buffer.from('Subject: x\r\n\r\nhi\r\n'));
    expect(reader.next('data', now)).toBeNull();
    expect(reader.heldBytes).toBe(18);
    reader.push(Buffer.from('.\r\nQUIT\r\n'));
    const end = reader.next('data', now);
    expect(end).toMatchObject({
      type: 'data-end',
      now: NOW,
      outcome: { kind: 'complete', sizeBytes: 18 },
    });
    expect(reader.takeMessageBytesRead()).toBe(21);
    expect(reader.heldBytes).toBe(18);
    expect(reader.next('command', now)).toEqual({ type: 'line', line: Buffer.from('QUIT') });
    reader.releaseMessage();
    expect(reader.heldBytes).toBe(0);
  });

  it('reads a BDAT chunk of exactly its size, holding kept bytes and not discarded ones', () => {
    const reader = new SessionReader();
    reader.expectBdat(5, true);
    reader.push(Buffer.from('ab'));
    expect(reader.next('bdat', now)).toBeNull();
    reader.push(Buffer.from('cdeRSET\r\n'));
    const chunk = reader.next('bdat', now);
    expect(chunk?.type).toBe('bdat-chunk');
    expect(text(chunk?.type === 'bdat-chunk' ? chunk.chunks : [])).toBe('abcde');
    expect(reader.heldBytes).toBe(5);
    reader.expectBdat(3, false);
    reader.push(Buffer.from('xyz'));
    expect(reader.next('command', now)).toEqual({ type: 'line', line: Buffer.from('RSET') });
    expect(reader.next('bdat', now)).toMatchObject({ type: 'bdat-chunk', chunks: [] });
    expect(reader.heldBytes).toBe(5);
    expect(reader.takeMessageBytesRead()).toBe(8);
  });

  it('drops unread input on request (STARTTLS) and reports how much', () => {
    const reader = new SessionReader();
    reader.push(Buffer.from('MAIL FROM:<evil@x>\r\n'));
    expect(reader.discardBuffered()).toBe(20);
    expect(reader.next('command', now)).toBeNull();
  });
});
