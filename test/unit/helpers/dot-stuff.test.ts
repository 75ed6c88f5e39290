// Tests for dotStuff: the exact bytes a client sends after `354` for a given message.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dotStuff } from '../../helpers/dot-stuff.ts';

const wire = (message: string): string =>
  dotStuff(Buffer.from(message, 'latin1')).toString('latin1');

describe('dotStuff', () => {
  it.each([
    ['sends an empty message as the terminator alone', '', '.\r\n'],
    ['appends the terminator to a CRLF-terminated message', 'a\r\nb\r\n', 'a\r\nb\r\n.\r\n'],
    ['adds the missing final CRLF', 'a\r\nb', 'a\r\nb\r\n.\r\n'],
    [
      'doubles a leading dot on each line (RFC 5321 §4.5.2)',
      '.\r\n..x\r\na.b\r\n',
      '..\r\n...x\r\na.b\r\n.\r\n',
    ],
    ['doubles a dot on the first line', '.hidden', '..hidden\r\n.\r\n'],
    ['sends bare LF as CRLF and stuffs the dot after it', 'a\n.\nb', 'a\r\n..\r\nb\r\n.\r\n'],
    ['turns a final bare LF into the final CRLF', 'a\n', 'a\r\n.\r\n'],
    ['sends a lone bare LF as CRLF', '\n', '\r\n.\r\n'],
    ['leaves bare CR alone, and does not treat it as a line end', 'a\r.b\r', 'a\r.b\r\r\n.\r\n'],
    ['passes NUL and 8-bit bytes through', '\x00\xff.\r\n', '\x00\xff.\r\n.\r\n'],
  ])('%s', (_name, message, expected) => {
    expect(wire(message)).toBe(expected);
  });

  it('never emits a bare LF, and emits <CRLF>.<CRLF> only as the terminator', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('\r', '\n', '.', 'a', '\x00'), { maxLength: 100 }),
        (parts) => {
          const sent = wire(parts.join(''));
          expect(sent).not.toMatch(/(?<!\r)\n/);
          expect(sent.endsWith('.\r\n')).toBe(true);
          const body = sent.slice(0, -3);
          expect(body === '' || body.endsWith('\r\n')).toBe(true);
          expect(`\r\n${body}`.includes('\r\n.\r\n')).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });
});
