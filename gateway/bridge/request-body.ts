// A request body made on demand, piece by piece, so a large message is never copied whole: the data
// call's JSON is built around the base64 of the message.
import { Base64Encoder, base64Length } from './base64-encoder.ts';

/** Bodies up to this size are built as one Buffer: for them one copy is cheaper than pieces. */
export const WHOLE_BODY_MAX_BYTES = 256 * 1024;
/**
 * Message bytes encoded at a time, so one piece of a large body is 64 Ki characters: strings this
 * size stay in V8's young generation (large-object space starts at 128 KiB), where short-lived
 * garbage is cheap and does not hold on to memory.
 */
const ENCODE_BYTES = 48 * 1024;

export interface RequestBody {
  readonly byteLength: number;
  /** The body as one Buffer, when it is small enough to be made so. */
  readonly whole: Buffer | null;
  /**
   * The body in order, as text to be sent UTF-8 encoded (JSON is UTF-8); every call starts over,
   * as a retry sends the body again. Strings rather than Buffers: a socket copies a string it
   * writes into memory it frees as soon as the write is done, where every Buffer made here would
   * be garbage for V8 to find, so a 25 MiB message would leave tens of MiB to be collected.
   */
  texts(): Iterable<string>;
}

/** A body that already is one Buffer. */
export function wholeBody(bytes: Buffer): RequestBody {
  return {
    byteLength: bytes.length,
    whole: bytes,
    texts: () => [bytes.toString('utf8')],
  };
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
  const byteLength =
    Buffer.byteLength(head, 'utf8') + base64Length(rawBytes) + Buffer.byteLength(tail, 'utf8');
  const texts = (): Iterable<string> => splicedTexts(head, raw, tail);
  if (byteLength > WHOLE_BODY_MAX_BYTES) return { byteLength, whole: null, texts };
  const whole = Buffer.allocUnsafe(byteLength);
  let at = 0;
  for (const text of texts()) at += whole.write(text, at, 'utf8');
  return { byteLength, whole, texts: () => [whole.toString('utf8')] };
}

function* splicedTexts(head: string, raw: readonly Buffer[], tail: string): Generator<string> {
  yield head;
  const encoder = new Base64Encoder('base64');
  const texts: string[] = [];
  const keep = (text: string): void => void texts.push(text);
  for (const chunk of raw) {
    for (let at = 0; at < chunk.length; at += ENCODE_BYTES) {
      encoder.push(chunk.subarray(at, at + ENCODE_BYTES), keep);
      yield* texts;
      texts.length = 0;
    }
  }
  yield encoder.end();
  yield tail;
}
