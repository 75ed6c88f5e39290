// The Return-Path rewrite of a data call's message: the header on top, every incoming one gone from
// the header block, whatever the chunk boundaries, without copying the message.
import { describe, expect, it } from 'vitest';
import {
  HEADER_SCAN_MAX_BYTES,
  returnPathFields,
  withReturnPath,
} from '../../../../gateway/middleware/return-path.ts';

const RECEIVED =
  'Received: from client.test ([127.0.0.1])\r\n\tby mx.test (mxhook) with ESMTP id 1.1\r\n';

function message(chunks: readonly Buffer[]) {
  const sizeBytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  return { chunks, sizeBytes, queueId: 'abc.1' };
}

/** The rewrite of `text` split at `cuts`, as text; its size must be its length. */
function rewrite(text: string, cuts: readonly number[], sender = 'a@client.test'): string {
  const bytes = Buffer.from(text, 'latin1');
  const chunks: Buffer[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    chunks.push(bytes.subarray(at, cut));
    at = cut;
  }
  const result = withReturnPath(message(chunks), sender);
  const whole = Buffer.concat(result.chunks);
  expect(result.sizeBytes).toBe(whole.length);
  expect(result.queueId).toBe('abc.1');
  return whole.toString('latin1');
}

/** Every way of cutting `text` in two, and in three around the header block's interesting bytes. */
function everySplit(text: string): number[][] {
  const splits: number[][] = [[]];
  for (let i = 1; i < text.length; i++) splits.push([i]);
  const near = Math.min(text.length, 160);
  for (let i = 1; i < near; i += 3) for (let j = i + 1; j < near; j += 7) splits.push([i, j]);
  return splits;
}

/** One byte per chunk. */
function bytewise(text: string): number[] {
  return Array.from({ length: text.length - 1 }, (_, i) => i + 1);
}

const CASES: readonly { name: string; input: string; expected: string; sender?: string }[] = [
  {
    name: 'no Return-Path: only the new one on top',
    input: `${RECEIVED}Subject: hi\r\n\r\nbody\r\n`,
    expected: `Return-Path: <a@client.test>\r\n${RECEIVED}Subject: hi\r\n\r\nbody\r\n`,
  },
  {
    name: 'one incoming Return-Path is replaced',
    input: `${RECEIVED}Return-Path: <forged@evil.test>\r\nSubject: hi\r\n\r\nbody\r\n`,
    expected: `Return-Path: <a@client.test>\r\n${RECEIVED}Subject: hi\r\n\r\nbody\r\n`,
  },
  {
    name: 'several, in mixed case, folded, first and last in the block',
    input:
      'return-path: <one@x.test>\r\n' +
      'From: a@client.test\r\n' +
      'RETURN-PATH:\r\n <two@x.test>\r\n\t (folded twice)\r\n' +
      'Subject: hi\r\n' +
      'Return-PATH: <three@x.test>\r\n' +
      '\r\nbody\r\n',
    expected: 'Return-Path: <a@client.test>\r\nFrom: a@client.test\r\nSubject: hi\r\n\r\nbody\r\n',
  },
  {
    name: 'the obsolete space before the colon',
    input: 'Return-Path \t: <x@x.test>\r\nSubject: hi\r\n\r\nb\r\n',
    expected: 'Return-Path: <a@client.test>\r\nSubject: hi\r\n\r\nb\r\n',
  },
  {
    name: 'fields that only look like it are kept',
    input:
      'X-Return-Path: <x@x.test>\r\nReturn-Paths: y\r\nReturn\rPath: cr\r\nReturn-Path\r\nReturn-Pat: z\r\n' +
      ' Return-Path: folded into the field before\r\n\r\nb\r\n',
    expected:
      'Return-Path: <a@client.test>\r\nX-Return-Path: <x@x.test>\r\nReturn-Paths: y\r\nReturn\rPath: cr\r\n' +
      'Return-Path\r\nReturn-Pat: z\r\n Return-Path: folded into the field before\r\n\r\nb\r\n',
  },
  {
    name: 'the body is never touched',
    input: 'Subject: hi\r\n\r\nReturn-Path: <body@x.test>\r\n\r\nReturn-Path: <b@x>\r\n',
    expected:
      'Return-Path: <a@client.test>\r\nSubject: hi\r\n\r\nReturn-Path: <body@x.test>\r\n\r\nReturn-Path: <b@x>\r\n',
  },
  {
    name: 'an empty header block ends at once',
    input: '\r\nReturn-Path: <body@x.test>\r\n',
    expected: 'Return-Path: <a@client.test>\r\n\r\nReturn-Path: <body@x.test>\r\n',
  },
  {
    name: 'a message that is all header block, its last field unterminated',
    input: 'Subject: hi\r\nReturn-Path: <x@x.test>\r\n\tstill it',
    expected: 'Return-Path: <a@client.test>\r\nSubject: hi\r\n',
  },
  {
    name: 'a line starting with a lone CR is neither a field nor the end',
    input: 'Subject: hi\r\n\rX\r\nReturn-Path: <x@x.test>\r\n\r\nb\r\n',
    expected: 'Return-Path: <a@client.test>\r\nSubject: hi\r\n\rX\r\n\r\nb\r\n',
  },
  {
    name: 'the null sender',
    input: 'Return-Path: <bounce@x.test>\r\nSubject: bounce\r\n\r\nb\r\n',
    expected: 'Return-Path: <>\r\nSubject: bounce\r\n\r\nb\r\n',
    sender: '',
  },
];

describe('withReturnPath', () => {
  for (const { name, input, expected, sender } of CASES) {
    it(`${name}, cut anywhere`, () => {
      for (const cuts of everySplit(input))
        expect(rewrite(input, cuts, sender), `cut at ${cuts.join(',')}`).toBe(expected);
      expect(rewrite(input, bytewise(input), sender)).toBe(expected);
    });
  }

  it('writes a UTF-8 sender as UTF-8 (SMTPUTF8)', () => {
    const result = withReturnPath(message([Buffer.from('Subject: x\r\n\r\n')]), 'jörg@bücher.test');
    expect(Buffer.concat(result.chunks).toString('utf8')).toBe(
      'Return-Path: <jörg@bücher.test>\r\nSubject: x\r\n\r\n',
    );
    expect(result.sizeBytes).toBe(Buffer.concat(result.chunks).length);
  });

  it('keeps the chunks it does not cut, and cuts only views of the others', () => {
    const head = Buffer.from(`${RECEIVED}Return-Path: <x@x.test>\r\nSubject: hi\r\n\r\nbody `);
    const body = Buffer.alloc(1024 * 1024, 'b');
    const result = withReturnPath(message([head, body]), 'a@client.test');
    expect(result.chunks.at(-1)).toBe(body);
    for (const chunk of result.chunks.slice(1, -1)) expect(chunk.buffer).toBe(head.buffer);
    const added = 'Return-Path: <a@client.test>\r\n'.length;
    const removed = 'Return-Path: <x@x.test>\r\n'.length;
    expect(result.sizeBytes).toBe(head.length + body.length + added - removed);
  });
});

describe('returnPathFields', () => {
  it('gives each field with its folded lines as byte ranges', () => {
    const text =
      'A: 1\r\nReturn-Path: <x>\r\n\tmore\r\nB: 2\r\nreturn-path: <y>\r\n\r\nReturn-Path: <z>\r\n';
    const start1 = text.indexOf('Return-Path');
    const start2 = text.indexOf('return-path');
    expect(returnPathFields([Buffer.from(text)])).toEqual([
      [start1, text.indexOf('B: 2')],
      [start2, text.indexOf('\r\n\r\n') + 2],
    ]);
  });

  it('reads no further than its limit: fields past it, or open at it, are left alone', () => {
    const filler = `X-Filler: ${'f'.repeat(70)}\r\n`.repeat(10);
    const text = `Return-Path: <early>\r\n${filler}Return-Path: <late>\r\n\r\n`;
    const late = text.lastIndexOf('Return-Path');
    const chunks = [Buffer.from(text)];
    expect(returnPathFields(chunks, late)).toEqual([[0, text.indexOf('X-Filler')]]);
    // Inside the late field: where it ends is not known, so it stays.
    expect(returnPathFields(chunks, late + 5)).toEqual([[0, text.indexOf('X-Filler')]]);
    expect(returnPathFields(chunks)).toHaveLength(2);
  });

  it('stops within its default limit in a message with no end to its header block', () => {
    const endless = Buffer.alloc(HEADER_SCAN_MAX_BYTES + 10, 'x');
    Buffer.from('\r\nReturn-Path: <x>\r\n').copy(endless, HEADER_SCAN_MAX_BYTES - 4);
    expect(returnPathFields([Buffer.from('A: b\r\n'), endless])).toEqual([]);
  });
});
