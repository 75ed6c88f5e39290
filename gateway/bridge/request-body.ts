// A request body as a sequence of Buffers made on demand, so a large message is never copied whole:
// the data call's JSON is built around the base64 of the message, piece by piece.
import { Base64Encoder, base64Length } from './base64-encoder.ts';

/** Bodies up to this size are built as one Buffer: for them one copy is cheaper than pieces. */
export const WHOLE_BODY_MAX_BYTES = 256 * 1024;
/**
 * Message bytes encoded at a time, and about how much base64 text one piece of a large body
 * carries: strings this size stay in V8's young generation (large-object space starts at 128 KiB),
 * where short-lived garbage is cheap and does not hold on to memory.
 */
const ENCODE_BYTES = 48 * 1024;
const PIECE_TEXT_BYTES = 64 * 1024;

export interface RequestBody {
  readonly byteLength: number;
  /** The body as one Buffer, when it is small enough to be made so. */
  readonly whole: Buffer | null;
  /** The body's bytes in order; every call starts over (a retry sends the body again). */
  pieces(): Iterable<Buffer>;
}

/** A body that already is one Buffer. */
export function wholeBody(bytes: Buffer): RequestBody {
  return { byteLength: bytes.length, whole: bytes, pieces: () => [bytes] };
}

/**
 * `head`, then the base64 of `raw` (as if concatenated, `rawBytes` long), then `tail`: the data
 * call's JSON with the message spliced in as a string value, without escaping (base64 needs none).
 */
export function splicedBody(
  head: string,
  raw: readonly Buffer[],
  rawBytes: number,
  tail: string,
): RequestBody {
  const headBytes = Buffer.from(head, 'utf8');
  const tailBytes = Buffer.from(tail, 'utf8');
  const byteLength = headBytes.length + base64Length(rawBytes) + tailBytes.length;
  const pieces = (): Iterable<Buffer> => splicedPieces(headBytes, raw, tailBytes);
  if (byteLength > WHOLE_BODY_MAX_BYTES) return { byteLength, whole: null, pieces };
  const whole = Buffer.allocUnsafe(byteLength);
  let at = headBytes.copy(whole, 0);
  const encoder = new Base64Encoder('base64');
  for (const chunk of raw) at += whole.write(encoder.push(chunk), at, 'latin1');
  at += whole.write(encoder.end(), at, 'latin1');
  tailBytes.copy(whole, at);
  return { byteLength, whole, pieces: () => [whole] };
}

function* splicedPieces(head: Buffer, raw: readonly Buffer[], tail: Buffer): Generator<Buffer> {
  yield head;
  const encoder = new Base64Encoder('base64');
  let text = '';
  for (const chunk of raw) {
    for (let at = 0; at < chunk.length; at += ENCODE_BYTES) {
      text += encoder.push(chunk.subarray(at, at + ENCODE_BYTES));
      if (text.length >= PIECE_TEXT_BYTES) {
        yield Buffer.from(text, 'latin1');
        text = '';
      }
    }
  }
  text += encoder.end();
  if (text !== '') yield Buffer.from(text, 'latin1');
  yield tail;
}
