// Tests for InputBuffer: command lines across chunks, over-long lines, exact BDAT byte counts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputBuffer } from '../../../../gateway/smtp/input-buffer.ts';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

type Read = string | 'TOO-LONG';

/** Every line available now, as latin1 text, with 'TOO-LONG' for an over-long one. */
function drain(input: InputBuffer, maxBytes: number): Read[] {
  const out: Read[] = [];
  for (let r = input.nextLine(maxBytes); r !== null; r = input.nextLine(maxBytes))
    out.push(r.kind === 'line' ? r.line.toString('latin1') : 'TOO-LONG');
  return out;
}

/** Pushes the chunks one by one, draining lines after each, as the I/O shell does. */
function linesOf(chunks: readonly string[], maxBytes: number): { lines: Read[]; left: number } {
  const input = new InputBuffer();
  const lines: Read[] = [];
  for (const chunk of chunks) {
    input.push(bytes(chunk));
    lines.push(...drain(input, maxBytes));
  }
  return { lines, left: input.length };
}

describe('InputBuffer.nextLine', () => {
  it('returns nothing until a line is complete', () => {
    const input = new InputBuffer();
    expect(input.nextLine(512)).toBeNull();
    input.push(bytes('NOOP'));
    expect(input.nextLine(512)).toBeNull();
    expect(input.length).toBe(4);
  });

  it('strips CRLF and a bare LF, and keeps a CR that is not before the LF', () => {
    expect(linesOf(['NOOP\r\nQUIT\nHELO a\rb\r\n'], 512)).toEqual({
      lines: ['NOOP', 'QUIT', 'HELO a\rb'],
      left: 0,
    });
  });

  it('returns empty lines', () => {
    expect(linesOf(['\r\n\n'], 512)).toEqual({ lines: ['', ''], left: 0 });
  });

  it('joins a line split across chunks, including between CR and LF', () => {
    expect(linesOf(['MAIL FR', 'OM:<a@b.c>\r', '\nRC', 'PT TO:<d@e.f>\r\n'], 512)).toEqual({
      lines: ['MAIL FROM:<a@b.c>', 'RCPT TO:<d@e.f>'],
      left: 0,
    });
  });

  it('gives the same lines one byte at a time', () => {
    const stream = 'EHLO a.example\r\nMAIL FROM:<>\nRCPT TO:<x@y.z>\r\nDATA\r\n';
    expect(linesOf([...stream], 512)).toEqual(linesOf([stream], 512));
    expect(linesOf([...stream], 512).lines).toEqual([
      'EHLO a.example',
      'MAIL FROM:<>',
      'RCPT TO:<x@y.z>',
      'DATA',
    ]);
  });

  it('keeps bytes after the last line ending for later', () => {
    const input = new InputBuffer();
    input.push(bytes('NOOP\r\nQU'));
    expect(drain(input, 512)).toEqual(['NOOP']);
    expect(input.length).toBe(2);
    input.push(bytes('IT\r\n'));
    expect(drain(input, 512)).toEqual(['QUIT']);
    expect(input.length).toBe(0);
  });

  it('accepts a line of exactly maxBytes before its LF', () => {
    expect(linesOf([`${'a'.repeat(10)}\n`], 10)).toEqual({ lines: ['a'.repeat(10)], left: 0 });
    expect(linesOf([`${'a'.repeat(9)}\r\n`], 10)).toEqual({ lines: ['a'.repeat(9)], left: 0 });
  });

  it('reports a complete over-long line once and drops it', () => {
    expect(linesOf([`${'a'.repeat(11)}\r\nNOOP\r\n`], 10)).toEqual({
      lines: ['TOO-LONG', 'NOOP'],
      left: 0,
    });
  });

  it('reports an over-long line as soon as it is too long, once, and drops the rest of it unread', () => {
    const input = new InputBuffer();
    input.push(bytes('a'.repeat(10)));
    expect(drain(input, 10)).toEqual([]);
    input.push(bytes('b'));
    expect(drain(input, 10)).toEqual(['TOO-LONG']);
    expect(input.length).toBe(0);
    input.push(bytes('c'.repeat(1000)));
    expect(drain(input, 10)).toEqual([]);
    expect(input.length).toBe(0);
    input.push(bytes('ccc\r\nNOOP\r\n'));
    expect(drain(input, 10)).toEqual(['NOOP']);
    expect(input.length).toBe(0);
  });

  it('reports each over-long line once, one byte at a time too', () => {
    const stream = `${'x'.repeat(30)}\r\nNOOP\r\n${'y'.repeat(12)}\nQUIT\r\n`;
    expect(linesOf([stream], 10).lines).toEqual(['TOO-LONG', 'NOOP', 'TOO-LONG', 'QUIT']);
    expect(linesOf([...stream], 10).lines).toEqual(['TOO-LONG', 'NOOP', 'TOO-LONG', 'QUIT']);
  });
});

describe('InputBuffer work on trickled input', () => {
  /** Runs `body` counting Buffer#indexOf calls and the bytes they could have searched. */
  function countSearches(body: () => void): { calls: number; bytes: number } {
    const original = Buffer.prototype.indexOf;
    const counted = { calls: 0, bytes: 0 };
    Buffer.prototype.indexOf = function indexOf(
      this: Buffer,
      ...args: Parameters<typeof original>
    ) {
      counted.calls += 1;
      counted.bytes += this.length - (typeof args[1] === 'number' ? args[1] : 0);
      return original.apply(this, args);
    } as typeof original;
    try {
      body();
    } finally {
      Buffer.prototype.indexOf = original;
    }
    return counted;
  }

  it('searches each byte of a line sent one byte per chunk once, not once per chunk', () => {
    const lineBytes = 4000;
    const input = new InputBuffer();
    let lines: Read[] = [];
    const work = countSearches(() => {
      for (let k = 0; k < lineBytes; k += 1) {
        input.push(bytes('x'));
        expect(drain(input, 12_288)).toEqual([]);
      }
      input.push(bytes('\r\n'));
      lines = drain(input, 12_288);
    });
    expect(lines).toEqual(['x'.repeat(lineBytes)]);
    // Linear: one search per chunk, each over that chunk alone (rescanning was 8 million calls).
    expect(work.calls).toBeLessThanOrEqual(lineBytes + 2);
    expect(work.bytes).toBeLessThanOrEqual(lineBytes + 2);
  });
});

describe('InputBuffer.takeBytes', () => {
  it('returns null until that many bytes are held, and takes nothing meanwhile', () => {
    const input = new InputBuffer();
    input.push(bytes('abc'));
    expect(input.takeBytes(4)).toBeNull();
    expect(input.length).toBe(3);
  });

  it('takes exactly the count across chunk boundaries, as the pieces they arrived in', () => {
    const input = new InputBuffer();
    input.push(bytes('abc'));
    input.push(bytes('defg'));
    input.push(bytes('hi'));
    const taken = input.takeBytes(5)!;
    expect(taken.map((b) => b.toString('latin1'))).toEqual(['abc', 'de']);
    expect(input.length).toBe(4);
    expect(input.takeBytes(4)!.map((b) => b.toString('latin1'))).toEqual(['fg', 'hi']);
    expect(input.length).toBe(0);
  });

  it('takes zero bytes as an empty list', () => {
    const input = new InputBuffer();
    expect(input.takeBytes(0)).toEqual([]);
    input.push(bytes('x'));
    expect(input.takeBytes(0)).toEqual([]);
    expect(input.length).toBe(1);
  });

  it('reads a BDAT chunk that contains line endings byte-exact, then the next command', () => {
    const input = new InputBuffer();
    input.push(bytes('BDAT 7\r\na\r\n.\r\nbQUIT\r\n'));
    expect(input.nextLine(512)).toEqual({ kind: 'line', line: bytes('BDAT 7') });
    expect(Buffer.concat(input.takeBytes(7)!).toString('latin1')).toBe('a\r\n.\r\nb');
    expect(drain(input, 512)).toEqual(['QUIT']);
  });
});

describe('InputBuffer.unshift, takeAll and clear', () => {
  it('puts bytes back in front of what is held', () => {
    const input = new InputBuffer();
    input.push(bytes('\r\nNOOP\r\n'));
    input.unshift(bytes('QUIT'));
    input.unshift(Buffer.alloc(0));
    expect(input.length).toBe(12);
    expect(drain(input, 512)).toEqual(['QUIT', 'NOOP']);
  });

  it('hands out and empties everything held', () => {
    const input = new InputBuffer();
    input.push(bytes('ab'));
    input.push(Buffer.alloc(0));
    input.push(bytes('c'));
    expect(input.takeAll().map((b) => b.toString('latin1'))).toEqual(['ab', 'c']);
    expect(input.length).toBe(0);
    input.push(bytes('xyz'));
    expect(input.clear()).toBe(3);
    expect(input.length).toBe(0);
    expect(input.nextLine(512)).toBeNull();
  });
});

describe('InputBuffer properties', () => {
  /** The lines of a stream by definition: split at LF, drop one CR before it, too long past maxBytes. */
  function modelLines(stream: string, maxBytes: number): { lines: Read[]; left: number } {
    const lines: Read[] = [];
    let start = 0;
    for (let lf = stream.indexOf('\n'); lf !== -1; lf = stream.indexOf('\n', start)) {
      const raw = stream.slice(start, lf);
      lines.push(raw.length > maxBytes ? 'TOO-LONG' : raw.endsWith('\r') ? raw.slice(0, -1) : raw);
      start = lf + 1;
    }
    const tail = stream.length - start;
    if (tail > maxBytes) return { lines: [...lines, 'TOO-LONG'], left: 0 };
    return { lines, left: tail };
  }

  const byteChar = fc.constantFrom('a', 'Z', ' ', ':', '<', '>', '\r', '\n', '\0', '\xff', '.');
  const stream = fc.array(byteChar, { maxLength: 200 }).map((cs) => cs.join(''));

  /** The cut points for a sequence of `length`: offsets wrapped into range, sorted, deduplicated. */
  function cutPoints(length: number, offsets: readonly number[]): number[] {
    return [...new Set(offsets.map((o) => o % (length + 1))), length].sort((a, b) => a - b);
  }

  function cut(text: string, offsets: readonly number[]): string[] {
    const points = cutPoints(text.length, offsets);
    return points.map((p, i) => text.slice(points[i - 1] ?? 0, p));
  }

  function cutBytes(data: Buffer, offsets: readonly number[]): Buffer[] {
    const points = cutPoints(data.length, offsets);
    return points.map((p, i) => data.subarray(points[i - 1] ?? 0, p));
  }

  it('splits any stream into the lines the definition gives, however it is chunked', () => {
    fc.assert(
      fc.property(
        stream,
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.integer({ min: 0, max: 40 }),
        (text, offsets, maxBytes) => {
          const expected = modelLines(text, maxBytes);
          expect(linesOf(cut(text, offsets), maxBytes)).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  const commandLine = fc.oneof(
    fc.constantFrom(
      'EHLO client.example',
      'MAIL FROM:<a@b.c> SIZE=100',
      'RCPT TO:<d@e.f>',
      'DATA',
      'BDAT 10 LAST',
      'RSET',
      'NOOP',
      'QUIT',
    ),
    fc.string({ maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, '')),
  );

  it('yields the same command lines for any split of a pipelined command stream', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(commandLine, fc.constantFrom('\r\n', '\n')), { maxLength: 15 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (commands, offsets) => {
          const encoded = Buffer.from(commands.map(([line, end]) => line + end).join(''));
          const input = new InputBuffer();
          const got: string[] = [];
          for (const chunk of cutBytes(encoded, offsets)) {
            input.push(chunk);
            for (let r = input.nextLine(512); r !== null; r = input.nextLine(512)) {
              expect(r.kind).toBe('line');
              if (r.kind === 'line') got.push(r.line.toString('utf8'));
            }
          }
          expect(got).toEqual(commands.map(([line]) => line));
          expect(input.length).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('takes exactly the requested bytes, in order, however the input was chunked', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 100 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.array(fc.nat({ max: 30 }), { maxLength: 10 }),
        (data, offsets, takes) => {
          const all = Buffer.from(data);
          const input = new InputBuffer();
          for (const chunk of cutBytes(all, offsets)) input.push(chunk);
          let position = 0;
          for (const count of takes) {
            const taken = input.takeBytes(count);
            if (position + count > all.length) {
              expect(taken).toBeNull();
              continue;
            }
            expect(Buffer.concat(taken!)).toEqual(all.subarray(position, position + count));
            position += count;
            expect(input.length).toBe(all.length - position);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
