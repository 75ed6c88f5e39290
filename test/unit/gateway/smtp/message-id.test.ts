// The Message-ID for the transaction log line: the header block only, bounded, never the body.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findMessageId, MESSAGE_ID_SCAN_BYTES } from '../../../../gateway/smtp/message-id.ts';

const CASES: readonly (readonly [string, string, string | null])[] = [
  ['a plain field', 'Message-ID: <1@a.example>\r\nSubject: x\r\n\r\nbody\r\n', '<1@a.example>'],
  ['any case, no space', 'message-id:<2@a.example>\r\n\r\n', '<2@a.example>'],
  ['after other fields', 'From: a@b\r\nSubject: x\r\nMessage-Id: <3@a>\r\n\r\n', '<3@a>'],
  [
    'folded onto the next line (RFC 5322 §2.2.3)',
    'Message-ID:\r\n <4@a.example>\r\n\r\n',
    '<4@a.example>',
  ],
  ['a comment around it', 'Message-ID: (note) <5@a> (more)\r\n\r\n', '<5@a>'],
  ['no angle brackets', 'Message-ID: 6@a.example\r\n\r\n', '6@a.example'],
  ['bare LF line ends', 'Subject: x\nMessage-ID: <7@a>\n\nbody\n', '<7@a>'],
  ['the first of two', 'Message-ID: <8@a>\r\nMessage-ID: <9@a>\r\n\r\n', '<8@a>'],
  ['only in the body', 'Subject: x\r\n\r\nMessage-ID: <body@a>\r\n', null],
  ['a message without a header block', '\r\nMessage-ID: <body@a>\r\n', null],
  ['no Message-ID at all', 'Subject: x\r\n\r\nbody\r\n', null],
  ['an empty value', 'Message-ID:   \r\n\r\n', null],
  ['a field whose name only ends in Message-ID', 'X-Original-Message-ID: <10@a>\r\n\r\n', null],
  ['no body and no end of headers', 'Message-ID: <11@a>', '<11@a>'],
];

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('findMessageId', () => {
  it.each(CASES)('finds it in %s', (_what, message, expected) => {
    expect(findMessageId([bytes(message)])).toBe(expected);
  });

  it.each(CASES)('finds the same one byte at a time: %s', (_what, message, expected) => {
    const oneByteChunks = [...bytes(message)].map((byte) => Buffer.from([byte]));
    expect(findMessageId(oneByteChunks)).toBe(expected);
  });

  it('does not look past the scan limit, however long the header block', () => {
    const filler = `X-Filler: ${'a'.repeat(900)}\r\n`.repeat(
      Math.ceil(MESSAGE_ID_SCAN_BYTES / 900),
    );
    expect(findMessageId([bytes(`${filler}Message-ID: <late@a>\r\n\r\n`)])).toBeNull();
    expect(findMessageId([bytes(`Message-ID: <early@a>\r\n${filler}\r\n`)])).toBe('<early@a>');
  });

  it('cuts a value longer than a line may be (RFC 5322 §2.1.1) to 998 characters', () => {
    const id = findMessageId([bytes(`Message-ID: ${'x'.repeat(5000)}\r\n\r\n`)]);
    expect(id).toHaveLength(998);
  });

  it('never throws, and re-chunking never changes the answer', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.nat(300), { maxLength: 8 }),
        (message, cuts) => {
          const whole = Buffer.from(message);
          const points = [...new Set(cuts.map((cut) => Math.min(cut, whole.length)))].sort(
            (a, b) => a - b,
          );
          const chunks = [0, ...points].map((start, i) =>
            whole.subarray(start, points[i] ?? whole.length),
          );
          expect(findMessageId(chunks)).toBe(findMessageId([whole]));
        },
      ),
    );
  });
});
