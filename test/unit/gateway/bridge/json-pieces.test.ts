// JSON written in pieces: the same bytes as JSON.stringify, however the long strings are sliced.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonPieces } from '../../../../gateway/bridge/json-pieces.ts';

const PIECE_CHARS = 64 * 1024;
const text = (pieces: readonly Uint8Array[]): string => Buffer.concat(pieces).toString('utf8');

describe('JsonPieces', () => {
  it.each([
    [
      'a surrogate pair across a slice boundary',
      `${'a'.repeat(PIECE_CHARS - 1)}😀${'b'.repeat(10)}`,
    ],
    ['escapes at a slice boundary', `${'"'.repeat(PIECE_CHARS + 3)}\n\u0000\\`],
    ['a lone surrogate', `${'x'.repeat(PIECE_CHARS)}\ud800y`],
    ['several slices of non-ASCII text', 'Grüße — 日本語 ✓ '.repeat(20_000)],
  ])('writes %s exactly as JSON.stringify does', (_name, value) => {
    const pieces = new JsonPieces().raw('{"v":').string(value).raw('}').end();
    expect(text(pieces)).toBe(JSON.stringify({ v: value }));
    expect(pieces.length).toBeGreaterThan(1);
    // Each piece is its own buffer, so it can be transferred to another thread.
    expect(new Set(pieces.map((piece) => piece.buffer)).size).toBe(pieces.length);
  });

  it('writes null and small values whole', () => {
    expect(
      text(
        new JsonPieces()
          .string(null)
          .raw(',')
          .value({ a: [1] })
          .end(),
      ),
    ).toBe('null,{"a":[1]}');
  });

  it('equals JSON.stringify for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 3 * PIECE_CHARS }), (value) => {
        expect(text(new JsonPieces().string(value).end())).toBe(JSON.stringify(value));
      }),
      { numRuns: 40 },
    );
  });
});
