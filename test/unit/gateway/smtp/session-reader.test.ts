// Tests for the SessionReader: bytes become the right event for the session's phase.
import { describe, expect, it } from 'vitest';
import { type MessageOptions, SessionReader } from '../../../../gateway/smtp/session-reader.ts';
import type { SessionEvent } from '../../../../gateway/smtp/session-state.ts';

const NOW = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
const now = () => NOW;
const DATA = { maxMessageBytes: 1000, bareLf: 'normalize', longLines: 'accept' } as const;
const DATA5K = { ...DATA, maxMessageBytes: 10_000 } as const;

/** A byte budget that remembers the most it held. */
class TestBudget {
  readonly limit: number;
  held = 0;
  highWater = 0;
  constructor(limit: number) {
    this.limit = limit;
  }
  reserve(bytes: number): boolean {
    if (this.held + bytes > this.limit) return false;
    this.held += bytes;
    this.highWater = Math.max(this.highWater, this.held);
    return true;
  }
  release(bytes: number): void {
    this.held -= bytes;
  }
}

const text = (chunks: readonly Buffer[]) => Buffer.concat(chunks).toString('latin1');

/** The message a complete outcome carries, or the outcome kind. */
function outcomeOf(event: SessionEvent | null): { text: string; sizeBytes: number } | string {
  const outcome = event?.type === 'bdat-chunk' || event?.type === 'data-end' ? event.outcome : null;
  if (outcome === null) return 'no outcome';
  if (outcome.kind !== 'complete') return outcome.kind;
  return { text: text(outcome.chunks), sizeBytes: outcome.sizeBytes };
}

describe('SessionReader', () => {
  it('reads command lines in the command and auth phases, and nothing while waiting', () => {
    const reader = new SessionReader();
    reader.push(Buffer.from('NOOP\r\nAGpvZQ==\r\n'));
    expect(reader.next('waiting', now)).toBeNull();
    expect(reader.next('command', now)).toEqual({
      type: 'line',
      line: Buffer.from('NOOP'),
      pipelined: true,
    });
    expect(reader.next('auth', now)).toEqual({
      type: 'line',
      line: Buffer.from('AGpvZQ=='),
      pipelined: false,
    });
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
    expect(reader.next('command', now)).toEqual({
      type: 'line',
      line: Buffer.from('QUIT'),
      pipelined: false,
    });
    reader.releaseMessage();
    expect(reader.heldBytes).toBe(0);
  });

  it('reads a BDAT chunk of exactly its size, holding kept bytes and not discarded ones', () => {
    const reader = new SessionReader();
    reader.expectBdat({ sizeBytes: 5, keep: true, first: true, last: false }, DATA);
    reader.push(Buffer.from('ab'));
    expect(reader.next('bdat', now)).toBeNull();
    reader.push(Buffer.from('cdeRSET\r\n'));
    expect(reader.next('bdat', now)).toEqual({ type: 'bdat-chunk', outcome: null, now: NOW });
    expect(reader.heldBytes).toBe(5);
    reader.expectBdat({ sizeBytes: 3, keep: false, first: false, last: true }, DATA);
    reader.push(Buffer.from('xyz'));
    expect(reader.next('command', now)).toEqual({
      type: 'line',
      line: Buffer.from('RSET'),
      pipelined: true,
    });
    expect(reader.next('bdat', now)).toEqual({ type: 'bdat-chunk', outcome: null, now: NOW });
    expect(reader.heldBytes).toBe(5);
    expect(reader.takeMessageBytesRead()).toBe(8);
  });

  it('ends a BDAT message at its LAST chunk with all kept chunks, and starts afresh after', () => {
    const reader = new SessionReader();
    reader.expectBdat({ sizeBytes: 3, keep: true, first: true, last: false }, DATA);
    reader.push(Buffer.from('abc'));
    reader.next('bdat', now);
    reader.expectBdat({ sizeBytes: 2, keep: true, first: false, last: true }, DATA);
    reader.push(Buffer.from('de'));
    expect(outcomeOf(reader.next('bdat', now))).toEqual({ text: 'abcde', sizeBytes: 5 });
    reader.expectBdat({ sizeBytes: 1, keep: true, first: true, last: true }, DATA);
    reader.push(Buffer.from('z'));
    expect(outcomeOf(reader.next('bdat', now))).toEqual({ text: 'z', sizeBytes: 1 });
  });

  it('tells a line whether more input had arrived after it (RFC 2920 §3.1 checks)', () => {
    const reader = new SessionReader();
    reader.push(Buffer.from('DATA\r\nSubj'));
    expect(reader.next('command', now)).toMatchObject({ type: 'line', pipelined: true });
    reader.push(Buffer.from('ect\r\n'));
    expect(reader.next('command', now)).toMatchObject({ type: 'line', pipelined: false });
  });

  it('holds a BDAT message trickled one byte per chunk in a few blocks, as DATA', () => {
    const message = Buffer.from(`${'Subject: trickle\r\n\r\n'.padEnd(4998, 'x')}\r\n`);
    const pieces = (event: SessionEvent | null) =>
      (event?.type === 'bdat-chunk' || event?.type === 'data-end') &&
      event.outcome?.kind === 'complete'
        ? event.outcome.chunks
        : [];
    const bdat = new SessionReader();
    bdat.expectBdat({ sizeBytes: message.length, keep: true, first: true, last: true }, DATA5K);
    let event: SessionEvent | null = null;
    for (const byte of message) {
      expect(event).toBeNull();
      bdat.push(Buffer.from([byte]));
      event = bdat.next('bdat', now);
    }
    expect(Buffer.concat(pieces(event)).equals(message)).toBe(true);
    // 1 KiB, 2 KiB and 4 KiB blocks; it was one Buffer per byte (5,000).
    expect(pieces(event).length).toBeLessThanOrEqual(3);

    const data = new SessionReader();
    data.expectData(DATA5K);
    let end: SessionEvent | null = null;
    for (const byte of Buffer.concat([message, Buffer.from('.\r\n')])) {
      data.push(Buffer.from([byte]));
      end = data.next('data', now) ?? end;
    }
    expect(pieces(end).length).toBe(pieces(event).length);
  });

  it('applies the DATA line rules to BDAT, across chunk and BDAT command boundaries', () => {
    const read = (chunks: readonly string[], options: MessageOptions) => {
      const reader = new SessionReader();
      let event: SessionEvent | null = null;
      chunks.forEach((chunk, k) => {
        const last = k === chunks.length - 1;
        reader.expectBdat({ sizeBytes: chunk.length, keep: true, first: k === 0, last }, options);
        reader.push(Buffer.from(chunk, 'latin1'));
        event = reader.next('bdat', now);
      });
      return outcomeOf(event);
    };
    // The CR of a CRLF in one BDAT chunk and its LF in the next are still one line ending.
    expect(read(['a\r', '\nb\n', '\n.\n'], DATA)).toEqual({
      text: 'a\r\nb\r\n\r\n.\r\n',
      sizeBytes: 11,
    });
    expect(read(['a\r', '\nb\r\n'], { ...DATA, bareLf: 'reject' })).toMatchObject({
      text: 'a\r\nb\r\n',
    });
    expect(read(['a\r', '\nb\n'], { ...DATA, bareLf: 'reject' })).toBe('bare-lf');
    const long = 'y'.repeat(999);
    expect(
      read([long.slice(0, 500), `${long.slice(500)}\r\n`], {
        ...DATA,
        maxMessageBytes: 2000,
        longLines: 'reject',
      }),
    ).toBe('long-line');
    expect(
      read([long.slice(0, 998), '\r\n'], { ...DATA, maxMessageBytes: 2000, longLines: 'reject' }),
    ).toMatchObject({ sizeBytes: 1000 });
    // A last line without its CRLF is measured as if it had one.
    expect(read([long], { ...DATA, maxMessageBytes: 2000, longLines: 'reject' })).toBe('long-line');
  });

  it('charges kept message bytes to the budget as they arrive, and refuses what would pass it', () => {
    const budget = new TestBudget(100);
    const reader = new SessionReader(budget);
    reader.expectData(DATA);
    reader.push(Buffer.from('x'.repeat(60)));
    expect(reader.next('data', now)).toBeNull();
    expect(budget.held).toBe(60);
    const other = new SessionReader(budget);
    other.expectBdat({ sizeBytes: 50, keep: true, first: true, last: true }, DATA);
    other.push(Buffer.from('y'.repeat(50)));
    // Read to the end of the chunk, holding nothing, and refused there.
    expect(outcomeOf(other.next('bdat', now))).toBe('over-budget');
    expect(budget.held).toBe(60);
    reader.push(Buffer.from('\r\n.\r\nQUIT\r\n'));
    expect(outcomeOf(reader.next('data', now))).toMatchObject({ sizeBytes: 62 });
    expect(reader.heldBytes).toBe(62);
    reader.releaseMessage();
    expect(budget.held).toBe(0);
    expect(budget.highWater).toBe(62);
  });

  it('drops unread input on request (STARTTLS) and reports how much', () => {
    const reader = new SessionReader();
    reader.push(Buffer.from('MAIL FROM:<evil@x>\r\n'));
    expect(reader.discardBuffered()).toBe(20);
    expect(reader.next('command', now)).toBeNull();
  });
});

describe('SessionReader message sinks', () => {
  /** A reader whose every message gets a sink recording what it is told, in order. */
  function readerWithSinks(budget?: TestBudget) {
    const told: Buffer[][] = [];
    const reader = new SessionReader(budget, () => {
      const pieces: Buffer[] = [];
      told.push(pieces);
      return (bytes) => pieces.push(Buffer.from(bytes));
    });
    return { reader, told };
  }

  it('tells the sink exactly the kept message, however the bytes arrived (DATA)', () => {
    const wire = 'Subject: a\r\n..stuffed\r\nbare\nLF\r\n'.padEnd(6000, 'x');
    const message = `${wire}\r\n.\r\n`;
    for (const size of [1, 7, 4096, message.length]) {
      const { reader, told } = readerWithSinks();
      reader.expectData(DATA5K);
      let event: SessionEvent | null = null;
      for (let at = 0; at < message.length; at += size) {
        reader.push(Buffer.from(message.slice(at, at + size), 'latin1'));
        event = reader.next('data', now) ?? event;
      }
      const outcome = outcomeOf(event);
      if (typeof outcome === 'string') throw new Error(outcome);
      expect(told).toHaveLength(1);
      expect(text(told[0]!)).toBe(outcome.text);
      expect(outcome.text.startsWith('Subject: a\r\n.stuffed\r\nbare\r\nLF\r\n')).toBe(true);
    }
  });

  it('gives each message its own sink, and a BDAT message one for all its chunks', () => {
    const { reader, told } = readerWithSinks();
    reader.expectBdat({ sizeBytes: 5, keep: true, first: true, last: false }, DATA);
    reader.push(Buffer.from('ab\r\ncd'));
    reader.next('bdat', now);
    reader.expectBdat({ sizeBytes: 1, keep: true, first: false, last: true }, DATA);
    expect(outcomeOf(reader.next('bdat', now))).toEqual({ text: 'ab\r\ncd', sizeBytes: 6 });
    reader.expectData(DATA);
    reader.push(Buffer.from('x\r\n.\r\n'));
    reader.next('data', now);
    expect(told.map(text)).toEqual(['ab\r\ncd', 'x\r\n']);
  });

  it('asks for no sink for a discarded BDAT chunk', () => {
    const { reader, told } = readerWithSinks();
    reader.expectBdat({ sizeBytes: 3, keep: false, first: true, last: true }, DATA);
    reader.push(Buffer.from('abc'));
    reader.next('bdat', now);
    expect(told).toEqual([]);
  });
});
