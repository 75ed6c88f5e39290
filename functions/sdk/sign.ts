// Signing keys, the detached JWS over a request body, and the public JWKS the gateway publishes.
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  FlattenedSign,
  importJWK,
  importPKCS8,
  type JWK,
} from 'jose';
import { MxhookError } from './errors.ts';
import { secretBytes, secretKid } from './secret.ts';

/** The JWS algorithms mxhook signs with: a shared secret, or an Ed25519 key pair. */
export type SigningAlgorithm = 'HS256' | 'EdDSA';

/**
 * The `typ` of every mxhook signature (RFC 8725 §3.11 explicit typing): a JWS made with the same
 * key for another purpose cannot pass as a request signature.
 */
export const SIGNATURE_TYPE = 'mxhook+jws';

/** RFC 7518 §3.2: an HS256 key MUST be at least as long as the hash output, 256 bits. */
export const MIN_SECRET_BYTES = 32;

/** A public Ed25519 key as published in the gateway's JWKS. */
export interface Ed25519PublicJwk {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly x: string;
  readonly kid: string;
  readonly alg: 'EdDSA';
  readonly use: 'sig';
}

/** A JSON Web Key Set (RFC 7517 §5) of public Ed25519 keys. */
export interface PublicJwks {
  readonly keys: readonly Ed25519PublicJwk[];
}

/**
 * A key ready to sign request bodies. The key material sits in a non-extractable CryptoKey, so
 * logging a SigningKey by mistake prints no secret.
 */
export interface SigningKey {
  readonly alg: SigningAlgorithm;
  readonly kid: string;
  /** The public half, for EdDSA keys; null for HS256 (a shared secret is never published). */
  readonly publicJwk: Ed25519PublicJwk | null;
  readonly cryptoKey: CryptoKey;
}

/** Overrides the derived key id. */
export interface KeyIdOptions {
  readonly kid?: string;
}

/** What {@link importSigningKey} accepts: a shared secret, or an Ed25519 private key (PEM text, JWK, or JWK JSON text). */
export type SigningKeyInput =
  | { readonly secret: string; readonly kid?: string }
  | { readonly privateKey: string | JWK; readonly kid?: string };

function keyError(message: string, cause?: unknown): MxhookError<'ERR_KEY_INVALID'> {
  return new MxhookError('ERR_KEY_INVALID', message, { cause });
}

// A kid travels in a header and in logs, so keep it short and printable.
function checkKid(kid: unknown): string {
  if (typeof kid !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(kid)) {
    throw keyError('kid must be 1 to 128 printable ASCII characters without spaces');
  }
  return kid;
}

/**
 * Imports an HS256 shared secret. Its kid is {@link secretKid} of the secret unless given.
 * Secrets shorter than 32 bytes are refused (RFC 7518 §3.2).
 *
 * @example
 * ```ts
 * const key = await importHmacSecret(process.env.MXHOOK_SIGNING_SECRET);
 * key.kid; // derived from the secret, so verifiers can pick it among several
 * ```
 */
export async function importHmacSecret(
  secret: string,
  options?: KeyIdOptions,
): Promise<SigningKey> {
  if (typeof secret !== 'string') throw keyError('the HS256 secret must be a string');
  const bytes = secretBytes(secret);
  if (bytes.byteLength < MIN_SECRET_BYTES) {
    throw keyError(
      `the HS256 secret must be at least ${MIN_SECRET_BYTES} bytes (RFC 7518 §3.2), got ${bytes.byteLength}`,
    );
  }
  const kid = options?.kid === undefined ? await secretKid(secret) : checkKid(options.kid);
  const cryptoKey = await crypto.subtle.importKey(
    'raw',
    bytes,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return Object.freeze({ alg: 'HS256', kid, publicJwk: null, cryptoKey });
}

function parsePrivateJwk(input: string | JWK): JWK {
  if (typeof input !== 'string') return input;
  try {
    return JSON.parse(input) as JWK;
  } catch {
    // No cause: JSON.parse quotes the text it failed on, and that text may be key material.
    throw keyError('the Ed25519 key is neither PKCS#8 PEM nor JWK JSON');
  }
}

async function privateJwkFrom(input: string | JWK): Promise<JWK> {
  if (typeof input === 'string' && input.trimStart().startsWith('-----BEGIN')) {
    try {
      // Extractable only for this moment, to read the public half; the kept key is re-imported below.
      const key = await importPKCS8(input.trim(), 'EdDSA', { extractable: true });
      return await exportJWK(key);
    } catch (cause) {
      throw keyError('the PEM is not a PKCS#8 Ed25519 private key', cause);
    }
  }
  const jwk = parsePrivateJwk(input);
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw keyError('the Ed25519 key must be a JWK object');
  }
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') {
    throw keyError('the JWK must have kty "OKP" and crv "Ed25519"');
  }
  if (typeof jwk.d !== 'string' || typeof jwk.x !== 'string') {
    throw keyError('the JWK must be a private key with "d" and "x"');
  }
  if (jwk.alg !== undefined && jwk.alg !== 'EdDSA' && jwk.alg !== 'Ed25519') {
    throw keyError(`the JWK's alg "${String(jwk.alg)}" is not EdDSA`);
  }
  return jwk;
}

const PROBE = new TextEncoder().encode('mxhook key pair probe');

// Not every runtime checks that a JWK's "x" belongs to its "d". A mismatch would publish a key
// that verifies nothing, and every call would fail at the function; so prove the pair once here.
async function checkPair(privateKey: CryptoKey, publicJwk: Ed25519PublicJwk): Promise<void> {
  let matches = false;
  try {
    const publicKey = await crypto.subtle.importKey(
      'jwk',
      { kty: 'OKP', crv: 'Ed25519', x: publicJwk.x },
      'Ed25519',
      false,
      ['verify'],
    );
    const signature = await crypto.subtle.sign('Ed25519', privateKey, PROBE);
    matches = await crypto.subtle.verify('Ed25519', publicKey, signature, PROBE);
  } catch (cause) {
    throw keyError('the Ed25519 key pair could not be checked', cause);
  }
  if (!matches) throw keyError('the JWK\'s public key "x" does not belong to its private key "d"');
}

/**
 * Imports an Ed25519 private key from PKCS#8 PEM text, a private JWK, or the JSON text of one.
 * Its kid is, in order: `options.kid`, the JWK's own `kid`, or the RFC 7638 thumbprint of the
 * public key (so the same key always gets the same kid, whatever format it came in).
 *
 * @example
 * ```ts
 * const key = await importEd25519PrivateKey(await readFile('signing-key.pem', 'utf8'));
 * publicJwks([key]); // { keys: [{ kty: 'OKP', crv: 'Ed25519', x: '…', kid: '…', alg: 'EdDSA', use: 'sig' }] }
 * ```
 */
export async function importEd25519PrivateKey(
  input: string | JWK,
  options?: KeyIdOptions,
): Promise<SigningKey> {
  const jwk = await privateJwkFrom(input);
  const x = jwk.x as string;
  const kid =
    options?.kid !== undefined
      ? checkKid(options.kid)
      : jwk.kid !== undefined
        ? checkKid(jwk.kid)
        : await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x });
  let cryptoKey: CryptoKey;
  try {
    const imported = await importJWK(
      { kty: 'OKP', crv: 'Ed25519', x, d: jwk.d as string },
      'EdDSA',
      { extractable: false },
    );
    if (imported instanceof Uint8Array) throw new TypeError('expected an asymmetric key');
    cryptoKey = imported;
  } catch (cause) {
    throw keyError('the JWK is not a usable Ed25519 private key', cause);
  }
  const publicJwk: Ed25519PublicJwk = Object.freeze({
    kty: 'OKP',
    crv: 'Ed25519',
    x,
    kid,
    alg: 'EdDSA',
    use: 'sig',
  });
  await checkPair(cryptoKey, publicJwk);
  return Object.freeze({ alg: 'EdDSA', kid, publicJwk, cryptoKey });
}

/**
 * Imports any signing key mxhook supports: `{ secret }` for HS256, `{ privateKey }` for Ed25519
 * (PEM text, JWK, or JWK JSON text), each with an optional explicit `kid`.
 *
 * Rotation rule: when several keys are configured, the FIRST one signs and the public halves of
 * all of them are published ({@link publicJwks}), so verifiers accept both the new and the old
 * key until the old one is removed.
 *
 * @example
 * ```ts
 * const keys = await Promise.all([
 *   importSigningKey({ privateKey: newPem }), // signs
 *   importSigningKey({ privateKey: oldPem }), // still published while verifiers catch up
 * ]);
 * const header = await signBody(body, keys[0]);
 * ```
 */
export async function importSigningKey(input: SigningKeyInput): Promise<SigningKey> {
  if (typeof input !== 'object' || input === null) {
    throw keyError('expected { secret } or { privateKey }');
  }
  const options = input.kid === undefined ? undefined : { kid: input.kid };
  if ('secret' in input) return importHmacSecret(input.secret, options);
  if ('privateKey' in input) return importEd25519PrivateKey(input.privateKey, options);
  throw keyError('expected { secret } or { privateKey }');
}

/**
 * Signs the exact body bytes and returns the `Mxhook-Signature` header value: a detached JWS
 * (RFC 7515 Appendix F) `<protected>..<signature>`, whose signing input is
 * `BASE64URL(protected) + '.' + BASE64URL(body)`. The protected header is
 * `{ alg, kid, typ: 'mxhook+jws' }`.
 *
 * Rotation rule: with several keys configured, sign with the first.
 *
 * @example
 * ```ts
 * const body = new TextEncoder().encode(JSON.stringify(payload));
 * await fetch(url, { method: 'POST', body, headers: { 'Mxhook-Signature': await signBody(body, key) } });
 * ```
 */
export async function signBody(body: Uint8Array, key: SigningKey): Promise<string> {
  const jws = await new FlattenedSign(body)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: SIGNATURE_TYPE })
    .sign(key.cryptoKey);
  return `${jws.protected}..${jws.signature}`;
}

/**
 * The JWKS to publish (the gateway serves it at `/.well-known/jwks.json`): the public half of
 * every EdDSA key, in order. HS256 secrets are never published. Every key stays listed, which is
 * what lets a rotation overlap: the first key signs, the others still verify.
 *
 * @example
 * ```ts
 * app.get('/.well-known/jwks.json', (c) => c.json(publicJwks(keys)));
 * ```
 */
export function publicJwks(keys: readonly SigningKey[]): PublicJwks {
  const seen = new Set<string>();
  const published: Ed25519PublicJwk[] = [];
  for (const key of keys) {
    if (seen.has(key.kid)) {
      throw keyError(
        `two signing keys share the kid "${key.kid}"; verifiers could not tell them apart`,
      );
    }
    seen.add(key.kid);
    if (key.publicJwk !== null) published.push(key.publicJwk);
  }
  return { keys: published };
}
