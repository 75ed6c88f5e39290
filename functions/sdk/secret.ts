// HS256 shared secrets: their bytes and the key id derived from them, identical on the signing and verifying side.
import { base64url } from 'jose';

const encoder = new TextEncoder();

/** The bytes of a shared secret: its UTF-8 encoding, exactly as other JOSE libraries use a string secret. */
export function secretBytes(secret: string): Uint8Array<ArrayBuffer> {
  // A copy typed as backed by an ArrayBuffer, as Web Crypto's importKey wants on every runtime's types.
  return new Uint8Array(encoder.encode(secret));
}

/**
 * The key id of a shared secret: base64url of the first 8 bytes of SHA-256 over its UTF-8 bytes
 * (11 characters). Deterministic, so a verifier holding several secrets during a rotation can pick
 * the right one from the signature's `kid` without anyone configuring ids. It reveals nothing an
 * HMAC signature made with the secret does not already let an attacker test guesses against.
 *
 * @example
 * ```ts
 * await secretKid('mxhook-test-vector-secret-0123456789abcdef'); // 'CcaPLC0ovYk'
 * ```
 */
export async function secretKid(secret: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', secretBytes(secret)));
  return base64url.encode(digest.subarray(0, 8));
}
