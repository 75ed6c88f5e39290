// Tests for the DATA decoder: table cases whole, one byte at a time and split at every point, then properties.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DataDecoder,
  type DataDecoderOptions,
  type DataOutcome,
} from '../../../../gateway/smtp/data-decoder.ts';
import { dotStuff } from '../../../helpers/dot-stuff.ts';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

const defaults: DataDecoderOptions = {
  maxMessageBytes: 1_000_000,
  bareLf: 'normalize',
  longLines: 'accept',
};

/** What a whole DATA exchange comes to; byte strings are latin1 so every byte maps to one char. */
type Result =
  | { readonly done: false }
  | {
      readonly done: true;
      readonly kind: 'complete';
      readonly message: string;
      readonly sizeBytes: number;
      readonly rest: string;
    }
  | {
      readonly done: true;
      readonly kind: 'too-large';
      readonly sizeBytes: number;
      readonly rest: string;
    }
  | {
      readonly done: true;
      readonly kind: 'bare-lf' | 'long-line' | 'over-budget';
      readonly rest: string;
    };

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

function summarise(outcome: DataOutcome, rest: string): Result {
  switch (outcome.kind) {
    case 'complete': {
      const message = Buffer.concat(outcome.chunks);
      expect(message.length).toBe(outcome.sizeBytes);
      return {
        done: true,
        kind: 'complete',
        message: message.toString('latin1'),
        sizeBytes: outcome.sizeBytes,
        rest,
      };
    }
    case 'too-large':
      return { done: true, kind: 'too-large', sizeBytes: outcome.sizeBytes, rest };
    case 'bare-lf':
    case 'long-line':
    case 'over-budget':
      return { done: true, kind: outcome.kind, rest };
  }
}

/**
 * Feeds `parts` in order as the I/O shell would. Once the decoder is done, the unfed parts belong to
 * the command parser, so they are appended to `rest`. Also checks the memory promise on every push.
 */
function run(parts: readonly Buffer[], options: DataDecoderOptions = defaults): Result {
  const decoder = new DataDecoder(options);
  for (let k = 0; k < parts.length; k += 1) {
    const pushed = decoder.push(parts[k]!);
    if (pushed.done) {
      expect(decoder.bytesHeld).toBe(0);
      const rest = Buffer.concat([pushed.rest, ...parts.slice(k + 1)]).toString('latin1');
      return summarise(pushed.outcome, rest);
    }
    expect(decoder.bytesHeld).toBeLessThanOrEqual(options.maxMessageBytes);
  }
  return { done: false };
}

const whole = (input: Buffer): Buffer[] => [input];
const byteByByte = (input: Buffer): Buffer[] =>
  Array.from({ length: input.length }, (_, k) => input.subarray(k, k + 1));
function splitAt(input: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (input.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const point of points) {
    parts.push(input.subarray(from, point));
    from = point;
  }
  parts.push(input.subarray(from));
  return parts;
}

const complete = (message: string, rest = ''): Result => ({
  done: true,
  kind: 'complete',
  message,
  sizeBytes: Buffer.byteLength(message, 'latin1'),
  rest,
});

interface Case {
  readonly name: string;
  readonly input: string;
  readonly options?: Partial<DataDecoderOptions>;
  readonly expected: Result;
}

const line998 = 'x'.repeat(998);
const line999 = 'x'.repeat(999);
const allBytes = String.fromCharCode(...Array.from({ length: 256 }, (_, k) => k));

const cases: readonly Case[] = [
  {
    name: 'decodes a simple message up to <CRLF>.<CRLF>, keeping the CRLF before the dot',
    input: 'Subject: hi\r\n\r\nHello\r\n.\r\n',
    expected: complete('Subject: hi\r\n\r\nHello\r\n'),
  },
  {
    name: 'decodes `.` CRLF right after DATA as an empty message',
    input: '.\r\n',
    expected: complete(''),
  },
  {
    name: 'returns pipelined commands after an empty message as rest',
    input: '.\r\nQUIT\r\n',
    expected: complete('', 'QUIT\r\n'),
  },
  {
    name: 'keeps an empty first line (data starting with CRLF)',
    input: '\r\n.\r\n',
    expected: complete('\r\n'),
  },
  {
    name: 'removes the first dot of a line (RFC 5321 §4.5.2): `..` → `.`, `...x` → `..x`, `.a` → `a`',
    input: '..\r\n...x\r\n.a\r\nb.c\r\n.\r\n',
    expected: complete('.\r\n..x\r\na\r\nb.c\r\n'),
  },
  {
    name: 'removes a stuffed dot on the very first line',
    input: '..hidden\r\n.\r\n',
    expected: complete('.hidden\r\n'),
  },
  {
    name: 'returns pipelined commands after the marker as rest',
    input: 'hi\r\n.\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n',
    expected: complete('hi\r\n', 'MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n'),
  },
  {
    name: 'ends at the first marker and leaves a second one in rest',
    input: 'a\r\n.\r\n.\r\n',
    expected: complete('a\r\n', '.\r\n'),
  },
  // SMTP smuggling (CVE-2023-51764 family): none of these end the data.
  {
    name: 'treats <LF>.<LF> as content (smuggling)',
    input: 'a\n.\nMAIL FROM:<x@evil.example>\r\n.\r\nQUIT\r\n',
    expected: complete('a\r\n.\r\nMAIL FROM:<x@evil.example>\r\n', 'QUIT\r\n'),
  },
  {
    name: 'treats <LF>.<CRLF> as content and keeps its dot (smuggling)',
    input: 'a\n.\r\nMAIL FROM:<x@evil.example>\r\n.\r\nQUIT\r\n',
    expected: complete('a\r\n.\r\nMAIL FROM:<x@evil.example>\r\n', 'QUIT\r\n'),
  },
  {
    name: 'treats <CRLF>.<LF> as content, removing the line-start dot (smuggling)',
    input: 'a\r\n.\nMAIL FROM:<x@evil.example>\r\n.\r\nQUIT\r\n',
    expected: complete('a\r\n\r\nMAIL FROM:<x@evil.example>\r\n', 'QUIT\r\n'),
  },
  {
    name: 'treats <CR>.<CRLF> as content (smuggling)',
    input: 'a\r.\r\nMAIL FROM:<x@evil.example>\r\n.\r\nQUIT\r\n',
    expected: complete('a\r.\r\nMAIL FROM:<x@evil.example>\r\n', 'QUIT\r\n'),
  },
  {
    name: 'accepts <CR>.<CRLF> even when bare LF is rejected, as it holds no bare LF',
    input: 'a\r.\r\nb\r\n.\r\nQUIT\r\n',
    options: { bareLf: 'reject' },
    expected: complete('a\r.\r\nb\r\n', 'QUIT\r\n'),
  },
  {
    name: 'treats <CR>.<LF> as content (smuggling)',
    input: 'a\r.\nMAIL FROM:<x@evil.example>\r\n.\r\nQUIT\r\n',
    expected: complete('a\r.\r\nMAIL FROM:<x@evil.example>\r\n', 'QUIT\r\n'),
  },
  {
    name: 'treats <CRLF>.<CR> followed by other bytes as a stuffed dot and a bare CR',
    input: 'a\r\n.\rx\r\n.\r\n',
    expected: complete('a\r\n\rx\r\n'),
  },
  {
    name: 'does not unstuff a dot after a bare LF',
    input: 'a\n..b\r\n.\r\n',
    expected: complete('a\r\n..b\r\n'),
  },
  {
    name: 'normalises bare LF to CRLF (exact bytes) and leaves bare CR alone',
    input: 'line1\nline2\r\n\nx\ry\r\n.\r\n',
    expected: complete('line1\r\nline2\r\n\r\nx\ry\r\n'),
  },
  {
    name: 'normalises a bare LF at the very start of the data',
    input: '\n.\r\n.\r\n',
    expected: complete('\r\n.\r\n'),
  },
  {
    name: 'rejects bare LF only after draining to the real end, with rest intact',
    input: 'a\nb\r\n.\r\nRSET\r\n',
    options: { bareLf: 'reject' },
    expected: { done: true, kind: 'bare-lf', rest: 'RSET\r\n' },
  },
  {
    name: 'rejects <LF>.<LF> as bare LF and drains past it',
    input: 'a\n.\nb\r\n.\r\nQUIT\r\n',
    options: { bareLf: 'reject' },
    expected: { done: true, kind: 'bare-lf', rest: 'QUIT\r\n' },
  },
  {
    name: 'rejects <CRLF>.<LF> as bare LF and drains past it',
    input: 'a\r\n.\nb\r\n.\r\nQUIT\r\n',
    options: { bareLf: 'reject' },
    expected: { done: true, kind: 'bare-lf', rest: 'QUIT\r\n' },
  },
  {
    name: 'accepts a message of exactly maxMessageBytes decoded bytes',
    input: '12345678\r\n.\r\nQUIT\r\n',
    options: { maxMessageBytes: 10 },
    expected: complete('12345678\r\n', 'QUIT\r\n'),
  },
  {
    name: 'counts decoded bytes, so a stuffed dot does not count against the limit',
    input: '..345678\r\n.\r\n',
    options: { maxMessageBytes: 10 },
    expected: complete('.345678\r\n'),
  },
  {
    name: 'reports too-large at maxMessageBytes + 1 after draining, with rest intact',
    input: '123456789\r\n.\r\nQUIT\r\n',
    options: { maxMessageBytes: 10 },
    expected: { done: true, kind: 'too-large', sizeBytes: 11, rest: 'QUIT\r\n' },
  },
  {
    name: 'reports how many decoded bytes were seen in too-large',
    input: '0123456789\r\n0123456789\r\n.\r\n',
    options: { maxMessageBytes: 5 },
    expected: { done: true, kind: 'too-large', sizeBytes: 24, rest: '' },
  },
  {
    name: 'accepts an empty message with a limit of 0',
    input: '.\r\n',
    options: { maxMessageBytes: 0 },
    expected: complete(''),
  },
  {
    name: 'accepts a 1000-octet line (RFC 5321 §4.5.3.1.6) when long lines are rejected',
    input: `${line998}\r\n.\r\n`,
    options: { longLines: 'reject' },
    expected: complete(`${line998}\r\n`),
  },
  {
    name: 'reports long-line for a 1001-octet line after draining, with rest intact',
    input: `${line999}\r\nok\r\n.\r\nQUIT\r\n`,
    options: { longLines: 'reject' },
    expected: { done: true, kind: 'long-line', rest: 'QUIT\r\n' },
  },
  {
    name: 'passes a 1001-octet line through when long lines are accepted',
    input: `${line999}\r\n.\r\n`,
    options: { longLines: 'accept' },
    expected: complete(`${line999}\r\n`),
  },
  {
    name: 'does not count the stuffed dot in the line length',
    input: `..${'x'.repeat(997)}\r\n.\r\n`,
    options: { longLines: 'reject' },
    expected: complete(`.${'x'.repeat(997)}\r\n`),
  },
  {
    name: 'counts a bare CR after a stuffed dot in the line length (1000 octets accepted)',
    input: `.\r${'x'.repeat(997)}\r\n.\r\n`,
    options: { longLines: 'reject' },
    expected: complete(`\r${'x'.repeat(997)}\r\n`),
  },
  {
    name: 'counts a bare CR after a stuffed dot in the line length (1001 octets rejected)',
    input: `.\r${line998}\r\n.\r\n`,
    options: { longLines: 'reject' },
    expected: { done: true, kind: 'long-line', rest: '' },
  },
  {
    name: 'counts the CR inserted before a bare LF in the line length',
    input: `${line999}\nok\r\n.\r\n`,
    options: { longLines: 'reject' },
    expected: { done: true, kind: 'long-line', rest: '' },
  },
  {
    name: 'measures the last line before the marker',
    input: `a\r\n${line999}\r\n.\r\n`,
    options: { longLines: 'reject' },
    expected: { done: true, kind: 'long-line', rest: '' },
  },
  {
    name: 'reports too-large before bare-lf and long-line',
    input: `${line999}\nok\r\n.\r\n`,
    options: { maxMessageBytes: 10, bareLf: 'reject', longLines: 'reject' },
    expected: { done: true, kind: 'too-large', sizeBytes: 1004, rest: '' },
  },
  {
    name: 'reports bare-lf before long-line',
    input: `${line999}\nok\r\n.\r\n`,
    options: { bareLf: 'reject', longLines: 'reject' },
    expected: { done: true, kind: 'bare-lf', rest: '' },
  },
  {
    name: 'passes NUL and 8-bit bytes through',
    input: '\x00\xff\xe9t\xe9\r\n\x00.\r\n.\r\n',
    expected: complete('\x00\xff\xe9t\xe9\r\n\x00.\r\n'),
  },
  {
    name: 'passes every byte value through, adding only the CR before the bare LF',
    input: `${allBytes}\r\n.\r\n`,
    expected: complete(`${allBytes.slice(0, 10)}\r${allBytes.slice(10)}\r\n`),
  },
];

const neverEnding: readonly string[] = [
  'a\n.\n',
  'a\n.\r\n',
  'a\r\n.\n',
  'a\r.\r\n',
  'a\r.\n',
  '\n.\r\n',
  '.\n',
  '.\r',
  '.',
  'a\r\n.\r',
  'a\r\n',
  '',
];

describe('DataDecoder table cases', () => {
  for (const { name, input, options, expected } of cases) {
    const decoderOptions = { ...defaults, ...options };
    const data = bytes(input);
    it(name, () => {
      expect(run(whole(data), decoderOptions)).toEqual(expected);
    });
    it(`${name} (one byte at a time)`, () => {
      expect(run(byteByByte(data), decoderOptions)).toEqual(expected);
    });
    it(`${name} (split at every point)`, () => {
      for (let point = 0; point <= data.length; point += 1) {
        expect(run(splitAt(data, [point]), decoderOptions)).toEqual(expected);
      }
    });
  }

  for (const input of neverEnding) {
    it(`does not end data on ${JSON.stringify(input)}`, () => {
      const data = bytes(input);
      expect(run(whole(data))).toEqual({ done: false });
      expect(run(byteByByte(data))).toEqual({ done: false });
      expect(run(whole(data), { ...defaults, bareLf: 'reject' })).toEqual({ done: false });
    });
  }
});

describe('DataDecoder contract', () => {
  it('refuses a push after the end was reported', () => {
    const decoder = new DataDecoder(defaults);
    expect(decoder.push(bytes('.\r\n')).done).toBe(true);
    expect(() => decoder.push(bytes('x'))).toThrow(/after the end of data/);
  });

  it('consumes an empty chunk without changing state', () => {
    const decoder = new DataDecoder(defaults);
    expect(decoder.push(bytes('a\r\n.\r'))).toEqual({ done: false });
    expect(decoder.push(Buffer.alloc(0))).toEqual({ done: false });
    const pushed = decoder.push(bytes('\nNOOP\r\n'));
    expect(pushed.done && summarise(pushed.outcome, pushed.rest.toString('latin1'))).toEqual(
      complete('a\r\n', 'NOOP\r\n'),
    );
  });

  it.each([
    [{ maxMessageBytes: -1 }, /maxMessageBytes/],
    [{ maxMessageBytes: 1.5 }, /maxMessageBytes/],
    [{ maxMessageBytes: Number.NaN }, /maxMessageBytes/],
    [{ bareLf: 'strip' }, /bareLf/],
    [{ longLines: 'truncate' }, /longLines/],
  ])('refuses invalid options %o', (override, message) => {
    expect(() => new DataDecoder({ ...defaults, ...override } as DataDecoderOptions)).toThrow(
      message,
    );
  });

  it('reports decoded bytes held, and none once the limit is passed', () => {
    const decoder = new DataDecoder({ ...defaults, maxMessageBytes: 10 });
    decoder.push(bytes('..23\r\n'));
    expect(decoder.bytesHeld).toBe(5);
    decoder.push(bytes('12345'));
    expect(decoder.bytesHeld).toBe(10);
    decoder.push(bytes('6'));
    expect(decoder.bytesHeld).toBe(0);
  });

  it('holds nothing once a bare LF is seen under the reject policy', () => {
    const decoder = new DataDecoder({ ...defaults, bareLf: 'reject' });
    decoder.push(bytes('abc\r\n'));
    expect(decoder.bytesHeld).toBe(5);
    decoder.push(bytes('d\ne'));
    expect(decoder.bytesHeld).toBe(0);
    expect(decoder.push(bytes('\r\n.\r\n'))).toMatchObject({
      done: true,
      outcome: { kind: 'bare-lf' },
    });
  });

  it('keeps few Buffers when fed one byte at a time', () => {
    const message = bytes(`${'abcdefg\r\n'.repeat(20_000)}.x\r\n`);
    const decoder = new DataDecoder(defaults);
    let pushed = decoder.push(message.subarray(0, 1));
    for (let k = 1; k < message.length && !pushed.done; k += 1) {
      pushed = decoder.push(message.subarray(k, k + 1));
    }
    pushed = decoder.push(bytes('.\r\n'));
    expect(pushed.done).toBe(true);
    if (!pushed.done || pushed.outcome.kind !== 'complete') throw new Error('not complete');
    expect(pushed.outcome.sizeBytes).toBe(message.length - 1);
    // Blocks of 1, 2, 4, … 32 KiB, then 64 KiB each: six growing blocks plus one per 64 KiB.
    const growing = 6;
    const full = Math.ceil(pushed.outcome.sizeBytes / (64 * 1024));
    expect(pushed.outcome.chunks.length).toBeLessThanOrEqual(growing + full);
    expect(pushed.outcome.chunks.length).toBeLessThan(pushed.outcome.sizeBytes / 10_000);
  });

  it('holds a small message arriving in one chunk in one Buffer of about its size', () => {
    const message = bytes(`${'abcdefg\r\n'.repeat(100)}..stuffed\r\n.\r\n`);
    const decoder = new DataDecoder(defaults);
    const pushed = decoder.push(message);
    if (!pushed.done || pushed.outcome.kind !== 'complete') throw new Error('not complete');
    expect(pushed.outcome.chunks).toHaveLength(1);
    // Cut from Node's shared pool, so not one ArrayBuffer per message; certainly not 64 KiB.
    expect(pushed.outcome.chunks[0]!.buffer.byteLength).toBeLessThanOrEqual(Buffer.poolSize);
  });

  it('keeps large contiguous spans as views of the pushed chunk', () => {
    const body = Buffer.alloc(100_000, 'a');
    body.write('\r\n', body.length - 2, 'latin1');
    const decoder = new DataDecoder(defaults);
    decoder.push(body);
    const pushed = decoder.push(bytes('.\r\n'));
    if (!pushed.done || pushed.outcome.kind !== 'complete') throw new Error('not complete');
    expect(pushed.outcome.chunks).toHaveLength(1);
    expect(pushed.outcome.chunks[0]!.buffer).toBe(body.buffer);
  });
});

// ---- properties -------------------------------------------------------------------------------

/** Bytes weighted towards the ones the decoder cares about, so edge cases are hit. */
const protocolByte = fc.oneof(
  { arbitrary: fc.constantFrom(CR, LF, DOT), weight: 6 },
  { arbitrary: fc.constant(0x61), weight: 3 },
  { arbitrary: fc.integer({ min: 0, max: 255 }), weight: 1 },
);
const protocolBytes = fc
  .array(protocolByte, { maxLength: 200 })
  .map((values) => Buffer.from(values));

/** Inputs made of protocol fragments (markers, smuggling sequences, near-limit lines). */
const fragment = fc.constantFrom(
  '\r\n.\r\n',
  '\r\n',
  '\n',
  '\r',
  '.',
  '..',
  'a',
  'bc',
  '\n.\n',
  '\n.\r\n',
  '\r\n.\n',
  '\r.\r\n',
  '\r.\n',
  '\x00\xff',
  'x'.repeat(997),
  'x'.repeat(998),
);
const fragmentBytes = fc.array(fragment, { maxLength: 30 }).map((parts) => bytes(parts.join('')));

const anyInput = fc.oneof(
  protocolBytes,
  fragmentBytes,
  fc.uint8Array({ maxLength: 300 }).map((array) => Buffer.from(array)),
);
const cuts = fc.array(fc.nat(), { maxLength: 12 });
const options = fc.record({
  maxMessageBytes: fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.constant(1_000_000)),
  bareLf: fc.constantFrom<DataDecoderOptions['bareLf']>('normalize', 'reject'),
  longLines: fc.constantFrom<DataDecoderOptions['longLines']>('accept', 'reject'),
});

/** Index just past the first <CRLF>.<CRLF> (or a leading `.` CRLF), or -1. */
function referenceEnd(input: Buffer): number {
  if (input[0] === DOT && input[1] === CR && input[2] === LF) return 3;
  const at = input.indexOf('\r\n.\r\n', 0, 'latin1');
  return at === -1 ? -1 : at + 5;
}

/** A deliberately naive byte-at-a-time model of the rules in data-decoder.ts's header. */
function referenceDecode(input: Buffer, opts: DataDecoderOptions): Result {
  const end = referenceEnd(input);
  if (end === -1) return { done: false };
  const output: number[] = [];
  let bareLf = false;
  let longLine = false;
  let lineBytes = 0;
  let lineStart = true;
  for (let i = 0; i < end - 3; i += 1) {
    const byte = input[i]!;
    if (lineStart && byte === DOT) {
      lineStart = false;
      continue;
    }
    lineStart = false;
    if (byte === LF) {
      if (i > 0 && input[i - 1] === CR) {
        lineStart = true;
      } else {
        bareLf = true;
        if (opts.bareLf === 'normalize') {
          output.push(CR);
          lineBytes += 1;
        }
      }
      if (lineBytes + 1 > 1000) longLine = true;
      lineBytes = 0;
    } else {
      lineBytes += 1;
    }
    output.push(byte);
  }
  const rest = input.subarray(end).toString('latin1');
  if (output.length > opts.maxMessageBytes) {
    return { done: true, kind: 'too-large', sizeBytes: output.length, rest };
  }
  if (bareLf && opts.bareLf === 'reject') return { done: true, kind: 'bare-lf', rest };
  if (longLine && opts.longLines === 'reject') return { done: true, kind: 'long-line', rest };
  return complete(Buffer.from(output).toString('latin1'), rest);
}

/** The message dotStuff + decode gives back: bare LF → CRLF, then a final CRLF if missing. */
function normalised(message: Buffer): string {
  let text = message.toString('latin1').replace(/(?<!\r)\n/g, '\r\n');
  if (text.length > 0 && !text.endsWith('\r\n')) text += '\r\n';
  return text;
}

describe('DataDecoder properties', () => {
  it('decodes dotStuff(message) back to the normalised message, under any chunking and bare-LF policy', () => {
    fc.assert(
      fc.property(
        fc.oneof(protocolBytes, fragmentBytes),
        protocolBytes,
        cuts,
        fc.constantFrom<DataDecoderOptions['bareLf']>('normalize', 'reject'),
        (message, next, points, bareLf) => {
          const wire = Buffer.concat([dotStuff(message), next]);
          const result = run(splitAt(wire, points), { ...defaults, bareLf });
          expect(result).toEqual(complete(normalised(message), next.toString('latin1')));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('gives the same outcome and rest for any re-chunking', () => {
    fc.assert(
      fc.property(anyInput, cuts, options, (input, points, opts) => {
        expect(run(splitAt(input, points), opts)).toEqual(run(whole(input), opts));
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on arbitrary bytes in arbitrary chunks', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 500 }), cuts, options, (array, points, opts) => {
        const decoder = new DataDecoder(opts);
        for (const part of splitAt(Buffer.from(array), points)) {
          if (decoder.push(part).done) break;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('is done exactly when the input holds <CRLF>.<CRLF> (or starts with `.` CRLF), with rest after the first', () => {
    fc.assert(
      fc.property(anyInput, cuts, (input, points) => {
        const result = run(splitAt(input, points));
        const end = referenceEnd(input);
        expect(result.done).toBe(end !== -1);
        if (result.done) expect(result.rest).toBe(input.subarray(end).toString('latin1'));
      }),
      { numRuns: 1_000 },
    );
  });

  it('agrees with a byte-at-a-time reference model', () => {
    fc.assert(
      fc.property(anyInput, cuts, options, (input, points, opts) => {
        expect(run(splitAt(input, points), opts)).toEqual(referenceDecode(input, opts));
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('DataDecoder for BDAT content (no dot-stuffing)', () => {
  /** What a client sends after 354 for `content` (which ends with CRLF): dots doubled at line starts. */
  const stuffed = (content: string): string => `${content.replace(/(^|\r\n)\./g, '$1..')}.\r\n`;

  /** Feeds `parts` as BDAT chunk bytes and ends the message as BDAT LAST does. */
  function runBdat(parts: readonly Buffer[], options: DataDecoderOptions): Result {
    const decoder = new DataDecoder({ ...options, dotStuffing: false });
    for (const part of parts) expect(decoder.push(part).done).toBe(false);
    return summarise(decoder.end(), '');
  }

  const piece = fc.oneof(
    fc.constantFrom('a', '.', '\r', '\n', '\r\n', '\r\n.', '\n.\n', '\r\n.\r\n'),
    fc.integer({ min: 995, max: 1002 }).map((n) => 'x'.repeat(n)),
  );
  const content = fc.array(piece, { maxLength: 12 }).map((ps) => `${ps.join('')}\r\n`);
  const policies = fc.record({
    maxMessageBytes: fc.constantFrom(40, 3000),
    bareLf: fc.constantFrom<DataDecoderOptions['bareLf']>('normalize', 'reject'),
    longLines: fc.constantFrom<DataDecoderOptions['longLines']>('accept', 'reject'),
  });

  it('gives the same outcome as DATA for the same message, however either is chunked', () => {
    fc.assert(
      fc.property(
        content,
        policies,
        fc.array(fc.nat(), { maxLength: 8 }),
        (text, options, offsets) => {
          const data = run(splitAt(bytes(stuffed(text)), offsets), options);
          const bdat = runBdat(splitAt(bytes(text), offsets), options);
          expect(bdat).toEqual(data);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('normalizes bare LFs to CRLF without ever seeing an end marker', () => {
    expect(runBdat([bytes('a\n.\nb\r'), bytes('\n.\r'), bytes('\n')], defaults)).toEqual({
      done: true,
      kind: 'complete',
      message: 'a\r\n.\r\nb\r\n.\r\n',
      sizeBytes: 12,
      rest: '',
    });
  });
});
