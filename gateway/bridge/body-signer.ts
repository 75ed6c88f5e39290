// Signs request bodies as the wire contract says — a detached JWS (RFC 7515 appendix F) over the
// exact body bytes — streaming over the body's pieces, so a large message is never held twice.
//
// Produces exactly what functions/sdk/sign.ts `signBody` produces (same protected header, same
// signing input), with node:crypto instead of WebCrypto: HS256 is computed incrementally and
// synchronously (microseconds for a typical body, no thread-pool round trip, no copy of the
// body in base64url); only large bodies yield to the event loop between pieces.
import { createHmac, sign } from 'node:crypto';
import { SIGNATURE_TYPE } from '../../functions/sdk/sign.ts';
import type { GatewaySigningKey } from '../signing-keys.ts';
import { Base64Encoder } from './base64-encoder.ts';
import type { RequestBody } from './request-body.ts';

/** Signing yields to other sessions after about this many body bytes. */
const YIELD_EVERY_BYTES = 1024 * 1024;
/** Room to encode one piece of a large body (request-body.ts makes them 64 Ki characters). */
const SCRATCH_BYTES = 256 * 1024;
/** Ed25519 signs large inputs on the thread pool rather than blocking the event loop. */
const ED25519_ASYNC_MIN_BYTES = 256 * 1024;

/** Returns the `Mxhook-Signature` value maker for `key`. */
export function createBodySigner(key: GatewaySigningKey): (body: RequestBody) => Promise<string> {
  const { keyObject } = key;
  const protectedHeader = Buffer.from(
    JSON.stringify({ alg: key.alg, kid: key.kid, typ: SIGNATURE_TYPE }),
  ).toString('base64url');
  const prefix = `${protectedHeader}.`;
  if (key.alg === 'HS256') {
    return async function signHs256(body) {
      const hmac = createHmac('sha256', keyObject).update(prefix, 'latin1');
      if (body.whole !== null) hmac.update(body.whole.toString('base64url'), 'latin1');
      else await eachEncoded(body, (text) => hmac.update(text, 'latin1'));
      return `${protectedHeader}..${hmac.digest('base64url')}`;
    };
  }
  // PureEdDSA (RFC 8032) hashes its input twice, so it needs the whole signing input at once.
  return async function signEd25519(body) {
    const input = Buffer.allocUnsafe(prefix.length + Math.ceil((body.byteLength * 4) / 3));
    let at = input.write(prefix, 0, 'latin1');
    const write = (text: string): void => {
      at += input.write(text, at, 'latin1');
    };
    if (body.whole !== null) write(body.whole.toString('base64url'));
    else await eachEncoded(body, write);
    const signature =
      input.length < ED25519_ASYNC_MIN_BYTES
        ? sign(null, input, keyObject)
        : await new Promise<Buffer>((resolve, reject) =>
            sign(null, input, keyObject, (error, result) =>
              error ? reject(error) : resolve(result),
            ),
          );
    return `${protectedHeader}..${signature.toString('base64url')}`;
  };
}

/**
 * Feeds the base64url text of the body's bytes to `use`, piece by piece, each piece's bytes made in
 * one reused buffer, and yields to other sessions now and then.
 */
async function eachEncoded(body: RequestBody, use: (text: string) => void): Promise<void> {
  const encoder = new Base64Encoder('base64url');
  const scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  let sinceYield = 0;
  for (const text of body.texts()) {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; only a long head or tail can need more room.
    const bytes =
      text.length * 3 <= SCRATCH_BYTES
        ? scratch.subarray(0, scratch.write(text, 0, 'utf8'))
        : Buffer.from(text, 'utf8');
    encoder.push(bytes, use);
    sinceYield += bytes.length;
    if (sinceYield >= YIELD_EVERY_BYTES) {
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  use(encoder.end());
}
