// The incremental base64 encoder: any split of the input gives exactly the text of the whole.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Base64Encoder, base64Length } from '../../../../gateway/bridge/base64-encoder.ts';

function encodeInPieces(pieces: readonly Uint8Array[], alphabet: 'base64' | 'base64url'): string {
  const encoder = new Base64Encoder(alphabet);
  const texts: string[] = [];
  for (const piece of pieces) encoder.push(piece, (text) => texts.push(text));
  return texts.join('') + encoder.end();
}

describe('Base64Encoder', () => {
  it.each([
    [[], ''],
    [['f'], 'Zg=='],
    [['fo'], 'Zm8='],
    [['foo'], 'Zm9v'],
    [['f', 'o', 'o', 'b', 'a', 'r'], 'Zm9vYmFy'], // RFC 4648 §10, one byte at a time
    [['fooba'], 'Zm9vYmE='],
  ])('encodes %j as %s', (pieces, expected) => {
    expect(
      encodeInPieces(
        pieces.map((p) => Buffer.from(p)),
        'base64',
      ),
    ).toBe(expected);
  });

  it('writes base64url without padding, as JWS needs (RFC 7515 §2)', () => {
    expect(encodeInPieces([Buffer.from([0xfb]), Buffer.from([0xff])], 'base64url')).toBe('-_8');
  });

  it('gives the text of the concatenation for any split, in both alphabets', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 12 }), (pieces) => {
        const whole = Buffer.concat(pieces);
        for (const alphabet of ['base64', 'base64url'] as const)
          expect(encodeInPieces(pieces, alphabet)).toBe(whole.toString(alphabet));
        expect(whole.toString('base64')).toHaveLength(base64Length(whole.length));
      }),
    );
  });
});
