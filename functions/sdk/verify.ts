// Verifies a gateway call: signature over the exact body bytes, then freshness, audience and replay.
import { base64url, errors, flattenedVerify } from 'jose';
import { MxhookError, MxhookVerifyError } from './errors.ts';
import { type ResolvedKeys, resolveKeys, type VerifyKeys } from './keys.ts';
import { parseStepRequest } from './parse-request.ts';
import { checkBodySize, readBody } from './read-body.ts';
import { SIGNATURE_TYPE } from './sign.ts';
import {
  type CheckedVerifyOptions,
  checkVerifyOptions,
  type VerifyOptions,
} from './verify-options.ts';
import { type RequestFor, SIGNATURE_HEADER, type Step } from './wire.ts';

/** The body as received: its bytes, or its text when it was read as UTF-8 text. */
export type BodyInput = Uint8Array | ArrayBuffer | string;

// RFC 7515 Appendix F: a detached JWS is the compact form with the payload left out.
const DETACHED_JWS = /^([A-Za-z0-9_-]+)\.\.([A-Za-z0-9_-]+)$/;

function toBytes(body: BodyInput): Uint8Array {
  if (typeof body === 'string') return new TextEncoder().encode(body);
  return body instanceof Uint8Array ? body : new Uint8Array(body);
}

function signatureError(message: string, cause?: unknown): MxhookVerifyError {
  return new MxhookVerifyError('ERR_SIGNATURE_INVALID', message, { cause });
}

async function checkSignature(
  bytes: Uint8Array,
  signature: string,
  keys: ResolvedKeys,
): Promise<void> {
  const parts = DETACHED_JWS.exec(signature.trim());
  if (parts === null)
    throw signatureError('the signature is not a detached JWS "<protected>..<signature>"');
  let protectedHeader: Record<string, unknown> | undefined;
  try {
    const result = await flattenedVerify(
      { protected: parts[1]!, payload: base64url.encode(bytes), signature: parts[2]! },
      (header) => keys.getKey(header),
      // Only the algorithm the configured keys are for: no HS256-with-a-public-key confusion.
      { algorithms: [keys.algorithm] },
    );
    protectedHeader = result.protectedHeader;
  } catch (error) {
    if (error instanceof MxhookError) throw error;
    if (error instanceof errors.JWSSignatureVerificationFailed) {
      throw signatureError('the signature does not match the body', error);
    }
    throw signatureError('the signature could not be checked', error);
  }
  if (protectedHeader?.typ !== SIGNATURE_TYPE) {
    throw signatureError(`the signature's typ is not "${SIGNATURE_TYPE}"`);
  }
}

function trimSlashes(url: string): string {
  let end = url.length;
  while (end > 0 && url[end - 1] === '/') end -= 1;
  return url.slice(0, end);
}

/** The members of a signed body that are checked besides the signature. */
export interface SignedClaims {
  readonly id: string;
  readonly timestamp: number;
  readonly audience: string;
  /** The step of a gateway call; absent in a send API request. */
  readonly step?: string;
}

function checkClaims(request: SignedClaims, options: CheckedVerifyOptions): void {
  if (options.step !== null && request.step !== options.step) {
    throw new MxhookVerifyError(
      'ERR_BODY_MALFORMED',
      `the request is for step "${request.step}", not "${options.step}"`,
    );
  }
  const skew = options.now() - request.timestamp;
  if (Math.abs(skew) > options.toleranceSeconds) {
    throw new MxhookVerifyError(
      'ERR_TIMESTAMP_EXPIRED',
      skew > 0
        ? `the request is ${Math.round(skew)} s old, more than the ${options.toleranceSeconds} s tolerance`
        : `the request is ${Math.round(-skew)} s in the future, more than the ${options.toleranceSeconds} s tolerance`,
    );
  }
  if (options.audiences !== null) {
    const audience = trimSlashes(request.audience);
    const matches = options.audiences.some((expected) => {
      const base = trimSlashes(expected);
      return (
        audience === base || (request.step !== undefined && audience === `${base}/${request.step}`)
      );
    });
    if (!matches) {
      throw new MxhookVerifyError(
        'ERR_AUDIENCE_MISMATCH',
        `the request is for ${JSON.stringify(request.audience)}, not this function`,
      );
    }
  }
}

/**
 * Checks the signature over `bytes`, then the claims of the body `parse` makes of them (freshness,
 * audience, step, replay), in that order. Shared by the step calls, the delivery reports and the
 * gateway's send API, whose bodies differ but are signed and stamped alike.
 */
export async function verifySigned<T extends SignedClaims>(
  bytes: Uint8Array,
  signature: string,
  keys: ResolvedKeys,
  options: CheckedVerifyOptions,
  parse: (bytes: Uint8Array) => T,
): Promise<T> {
  await checkSignature(bytes, signature, keys);
  const request = parse(bytes);
  checkClaims(request, options);
  // Last, so only authentic, fresh requests take room in the store. An id needs remembering only
  // while its timestamp is within tolerance: after that the freshness check refuses it anyway.
  if (options.replay !== null) {
    const first = await options.replay.markSeen(
      request.id,
      request.timestamp + options.toleranceSeconds,
    );
    if (!first)
      throw new MxhookVerifyError(
        'ERR_REPLAYED',
        `request ${JSON.stringify(request.id)} was already seen`,
      );
  }
  return request;
}

function missing(): MxhookVerifyError {
  return new MxhookVerifyError(
    'ERR_SIGNATURE_MISSING',
    `the ${SIGNATURE_HEADER} header is missing`,
  );
}

/**
 * Verifies a body you have already read, with the `Mxhook-Signature` header value. Use it where
 * the framework hands you the raw body (Express `raw()`, a queue message, a test); the bytes must
 * be exactly those received, not re-serialised JSON.
 *
 * Throws {@link MxhookVerifyError} with a `code` for every refusal, and {@link MxhookError}
 * (`ERR_KEY_INVALID`, `ERR_OPTION_INVALID`) for a configuration mistake.
 *
 * @example
 * ```ts
 * const payload = await verifyBody(rawBody, req.get('Mxhook-Signature'), process.env.MXHOOK_SIGNING_SECRET, {
 *   audience: 'https://hooks.example.com/mx',
 * });
 * ```
 */
export async function verifyBody<S extends Step = Step>(
  body: BodyInput,
  signature: string | null | undefined,
  keys: VerifyKeys,
  options?: VerifyOptions<S>,
): Promise<RequestFor<S>> {
  return (await verifyBodyWith(body, signature, keys, options, parseStepRequest)) as RequestFor<S>;
}

/**
 * {@link verifyBody} for a body `parse` reads: the options, the header's presence and the size
 * checked, then {@link verifySigned}. Shared with the delivery reports' `verifyDeliveryBody`.
 */
export async function verifyBodyWith<T extends SignedClaims>(
  body: BodyInput,
  signature: string | null | undefined,
  keys: VerifyKeys,
  options: VerifyOptions | undefined,
  parse: (bytes: Uint8Array) => T,
): Promise<T> {
  const checked = checkVerifyOptions(options);
  const resolved = resolveKeys(keys, checked.remoteJwks);
  if (typeof signature !== 'string' || signature.trim() === '') throw missing();
  const bytes = toBytes(body);
  checkBodySize(bytes.byteLength, checked.maxBodyBytes);
  return verifySigned(bytes, signature, resolved, checked, parse);
}

/**
 * Verifies a gateway call and returns its typed payload. Reads the body exactly once, so pass the
 * original `Request` before anything else reads it (or use {@link verifyBody}). Checks, in order:
 * the body is no larger than `maxBodyBytes` (default 64 MiB; `ERR_BODY_TOO_LARGE`, answer 413),
 * the signature over the exact bytes, the body is a v1 request, `timestamp` within
 * `toleranceSeconds` (default 300) either way, `audience` when configured, and `id` against the
 * replay store when given.
 *
 * `keys`: a secret, several secrets (rotation: picked by kid), an Ed25519 public key (CryptoKey
 * or JWK), a JWKS object, or the JWKS URL (e.g. the gateway's `/.well-known/jwks.json`).
 *
 * @example
 * ```ts
 * export default {
 *   async fetch(request: Request, env: { MXHOOK_SIGNING_SECRET: string }) {
 *     const call = await verify(request, env.MXHOOK_SIGNING_SECRET);
 *     if (call.step === 'rcpt' && call.rcpt.address.endsWith('@example.com')) {
 *       return Response.json({ action: 'accept' });
 *     }
 *     return Response.json({ action: 'reject' });
 *   },
 * };
 * ```
 */
export async function verify<S extends Step = Step>(
  request: Request,
  keys: VerifyKeys,
  options?: VerifyOptions<S>,
): Promise<RequestFor<S>> {
  const checked = checkVerifyOptions(options);
  const resolved = resolveKeys(keys, checked.remoteJwks);
  const signature = request.headers.get(SIGNATURE_HEADER);
  if (signature === null || signature.trim() === '') throw missing();
  if (request.bodyUsed) {
    throw new MxhookError(
      'ERR_BODY_USED',
      'the request body was already read; pass the original request, or use verifyBody() with the bytes',
    );
  }
  const bytes = await readBody(request, checked.maxBodyBytes);
  return (await verifySigned(
    bytes,
    signature,
    resolved,
    checked,
    parseStepRequest,
  )) as RequestFor<S>;
}
