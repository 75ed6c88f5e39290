// Signs an input made of a short ASCII prefix and a request body's bytes (or their base64url), fed
// piece by piece: HMAC-SHA256 incrementally, Ed25519 over the input assembled once. Shared by the
// JWS and the Standard Webhooks signers, which differ only in what surrounds the body.
import { createHmac, type KeyObject, sign } from 'node:crypto';
import { Base64Encoder } from './base64-encoder.ts';
import type { RequestBody } from './request-body.ts';

/** Signing yields to other sessions after about this many body bytes. */
const YIELD_EVERY_BYTES = 1024 * 1024;
/** Room to encode one piece of a large body (request-body.ts makes them 64 Ki characters). */
const SCRATCH_BYTES = 256 * 1024;
/** Ed25519 signs large inputs on the thread pool rather than blocking the event loop. */
const ED25519_ASYNC_MIN_BYTES = 256 * 1024;

/** A piece of signing input: ASCII text, or bytes that are only valid until `use` returns. */
export type InputPiece = string | Uint8Array;

/** Passes the body part of a signing input to `use`, in order; may yield to other sessions. */
export type BodyFeed = (use: (piece: InputPiece) => void) => Promise<void>;

/** HMAC-SHA256 of `prefix` then the fed pieces, without ever holding the input whole. */
export async function hmacSha256(key: KeyObject, prefix: string, feed: BodyFeed): Promise<Buffer> {
  const hmac = createHmac('sha256', key).update(prefix, 'latin1');
  await feed((piece) =>
    typeof piece === 'string' ? hmac.update(piece, 'latin1') : hmac.update(piece),
  );
  return hmac.digest();
}

/**
 * Ed25519 signature of `prefix` then the fed pieces, at most `bodyBytes` of them. PureEdDSA
 * (RFC 8032 §5.1.6) hashes its input twice, so it needs the whole signing input at once.
 */
export async function ed25519(
  key: KeyObject,
  prefix: string,
  bodyBytes: number,
  feed: BodyFeed,
): Promise<Buffer> {
  const input = Buffer.allocUnsafe(prefix.length + bodyBytes);
  let at = input.write(prefix, 0, 'latin1');
  await feed((piece) => {
    if (typeof piece === 'string') at += input.write(piece, at, 'latin1');
    else {
      input.set(piece, at);
      at += piece.length;
    }
  });
  const signed = input.subarray(0, at);
  if (signed.length < ED25519_ASYNC_MIN_BYTES) return sign(null, signed, key);
  return new Promise<Buffer>((resolve, reject) =>
    sign(null, signed, key, (error, result) => (error ? reject(error) : resolve(result))),
  );
}

/**
 * Feeds the body's UTF-8 bytes: a whole body as it is, a large one piece by piece, each piece made
 * in one reused buffer, yielding to other sessions now and then.
 */
export async function eachBodyByte(
  body: RequestBody,
  use: (bytes: Uint8Array) => void,
): Promise<void> {
  if (body.whole !== null) {
    use(body.whole);
    return;
  }
  const scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  let sinceYield = 0;
  for (const piece of body.pieces()) {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; only a long head or tail can need more room.
    const bytes =
      typeof piece !== 'string'
        ? piece
        : piece.length * 3 <= SCRATCH_BYTES
          ? scratch.subarray(0, scratch.write(piece, 0, 'utf8'))
          : Buffer.from(piece, 'utf8');
    use(bytes);
    sinceYield += bytes.length;
    if (sinceYield >= YIELD_EVERY_BYTES) {
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}

/** Feeds the base64url text (RFC 4648 §5, unpadded) of the body's bytes. */
export async function eachBodyBase64url(
  body: RequestBody,
  use: (text: string) => void,
): Promise<void> {
  if (body.whole !== null) {
    use(body.whole.toString('base64url'));
    return;
  }
  const encoder = new Base64Encoder('base64url');
  await eachBodyByte(body, (bytes) => encoder.push(bytes, use));
  use(encoder.end());
}

/** Length of the unpadded base64url text of `byteLength` bytes. */
export function base64urlLength(byteLength: number): number {
  return Math.ceil((byteLength * 4) / 3);
}
