// Signs request bodies as the wire contract says — a detached JWS (RFC 7515 appendix F) over the
// exact body bytes — streaming over the body's pieces, so a large message is never held twice.
//
// Produces exactly what functions/sdk/sign.ts `signBody` produces (same protected header, same
// signing input), with node:crypto instead of WebCrypto: HS256 is computed incrementally and
// synchronously (microseconds for a typical body, no thread-pool round trip, no copy of the
// body in base64url); only large bodies yield to the event loop between pieces.
import { createHmac } from 'node:crypto';
import { SIGNATURE_TYPE } from '../../functions/sdk/sign.ts';
import type { GatewaySigningKey } from '../signing-keys.ts';
import type { RequestBody } from './request-body.ts';
import { base64urlLength, eachBodyBase64url, ed25519, hmacSha256 } from './signing-input.ts';

/** Returns the `Mxhook-Signature` value maker for `key`. */
export function createBodySigner(key: GatewaySigningKey): (body: RequestBody) => Promise<string> {
  const { keyObject } = key;
  const protectedHeader = Buffer.from(
    JSON.stringify({ alg: key.alg, kid: key.kid, typ: SIGNATURE_TYPE }),
  ).toString('base64url');
  // RFC 7515 §5.1: the signing input is `<protected>.<base64url(payload)>`.
  const prefix = `${protectedHeader}.`;
  if (key.alg === 'HS256') {
    return async function signHs256(body) {
      // A body made whole (a typical message) is signed at once, without the piecewise feed's
      // promises; a large one piece by piece, yielding between them.
      const mac =
        body.whole !== null
          ? createHmac('sha256', keyObject)
              .update(prefix, 'latin1')
              .update(body.whole.toString('base64url'), 'latin1')
              .digest()
          : await hmacSha256(keyObject, prefix, (use) => eachBodyBase64url(body, use));
      return `${protectedHeader}..${mac.toString('base64url')}`;
    };
  }
  return async function signEd25519(body) {
    const signature = await ed25519(keyObject, prefix, base64urlLength(body.byteLength), (use) =>
      eachBodyBase64url(body, use),
    );
    return `${protectedHeader}..${signature.toString('base64url')}`;
  };
}
