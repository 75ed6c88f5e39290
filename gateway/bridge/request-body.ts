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
/** Bytes of an encoded piece handed on at a time, as large as a piece of text. */
const SLICE_BYTES = 64 * 1024;

export interface RequestBody {
  readonly byteLength: number;
  /** The body as one Buffer, when it is small enough to be made so. */
  readonly whole: Buffer | null;
  /**
   * The body in order: text to be sent UTF-8 encoded (JSON is UTF-8), or bytes already encoded;
   * every call starts over, as a retry sends the body again. What is made here is text, not new
   * Buffers: a socket copies a string it writes into memory it frees as soon as the write is done,
   * where every Buffer made here would be garbage for V8 to find, so a 25 MiB message would leave
   * tens of MiB to be collected. Bytes that exist already (a parse worker's JSON) go out as views
   * of themselves, never decoded to text only to be encoded again.
   */
  pieces(): Iterable<string | Buffer>;
}

/**
 * A call's body together with its own `id` and `timestamp` members, for signature formats that
 * repeat them in headers (Standard Webhooks), so headers and body always agree.
 */
export interface StampedBody extends RequestBody {
  readonly id: string;
  /** Unix seconds. */
  readonly timestamp: number;
}

/** A body that already is one Buffer. */
export function wholeBody(bytes: Buffer): RequestBody {
  return {
    byteLength: bytes.length,
    whole: bytes,
    pieces: () => [bytes],
  };
}

/**
 * One piece of a body: text as it is, UTF-8 bytes as they are (JSON made elsewhere, such as the
 * `parsed` a parse worker made), or the base64 of message bytes (as if concatenated, `byteLength`
 * long) to stand inside a JSON string without escaping (base64 needs none).
 */
export type BodyPiece =
  | string
  | Uint8Array
  | { readonly base64Of: readonly Buffer[]; readonly byteLength: number };

/** The pieces one after another: the data call's JSON with the message and its parse spliced in. */
export function splicedBody(pieces: readonly BodyPiece[]): RequestBody {
  let byteLength = 0;
  for (const piece of pieces) byteLength += lengthOf(piece);
  const spliced = (): Iterable<string | Buffer> => splicedPieces(pieces);
  if (byteLength > WHOLE_BODY_MAX_BYTES) return { byteLength, whole: null, pieces: spliced };
  // Small enough to make at once (a typical message): each piece is written straight into the
  // body, the message's base64 in one string, without the generators and encoder a streamed body
  // needs — they were a third of the cost of making a 1 KiB message's body.
  const whole = Buffer.allocUnsafe(byteLength);
  let at = 0;
  for (const piece of pieces) {
    if (typeof piece === 'string') at += whole.write(piece, at, 'utf8');
    else if (piece instanceof Uint8Array) {
      whole.set(piece, at);
      at += piece.byteLength;
    } else at += whole.write(base64Of(piece.base64Of), at, 'latin1');
  }
  return wholeBody(whole);
}

/** The base64 of the bytes as if concatenated (a small message: copying it once is cheap). */
function base64Of(raw: readonly Buffer[]): string {
  if (raw.length === 1) return raw[0]!.toString('base64');
  return Buffer.concat(raw).toString('base64');
}

function lengthOf(piece: BodyPiece): number {
  if (typeof piece === 'string') return Buffer.byteLength(piece, 'utf8');
  if (piece instanceof Uint8Array) return piece.byteLength;
  return base64Length(piece.byteLength);
}

function* splicedPieces(pieces: readonly BodyPiece[]): Generator<string | Buffer> {
  for (const piece of pieces) {
    if (typeof piece === 'string') yield piece;
    else if (piece instanceof Uint8Array) yield* slices(piece);
    else yield* base64Texts(piece.base64Of);
  }
}

function* base64Texts(raw: readonly Buffer[]): Generator<string> {
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
}

/** Views of `bytes` of at most SLICE_BYTES each, so a socket write or a signing step stays small. */
function* slices(bytes: Uint8Array): Generator<Buffer> {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at < buffer.length; at += SLICE_BYTES)
    yield buffer.subarray(at, at + SLICE_BYTES);
}
