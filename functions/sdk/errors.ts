// The SDK's one error type: every failure carries a stable `code` that callers and tests match on.

/** Why a signed request was refused. Every one of these means "do not act on this request". */
export type VerifyErrorCode =
  /** The request has no `Mxhook-Signature` header (or it is empty). */
  | 'ERR_SIGNATURE_MISSING'
  /** The signature is malformed, uses a refused algorithm, or does not match the body bytes. */
  | 'ERR_SIGNATURE_INVALID'
  /** No configured key has the signature's `kid`. */
  | 'ERR_KEY_UNKNOWN'
  /** A remote JWKS could not be fetched or parsed, so the signature could not be checked. */
  | 'ERR_KEYS_UNAVAILABLE'
  /** `timestamp` is older, or further in the future, than the tolerance allows. */
  | 'ERR_TIMESTAMP_EXPIRED'
  /** `audience` is not one of the URLs this function answers for. */
  | 'ERR_AUDIENCE_MISMATCH'
  /** The signed body is not a v1 mxhook request (bad JSON, wrong `v`, unknown `step`, …). */
  | 'ERR_BODY_MALFORMED'
  /** This request `id` was already seen: the call is a replay. */
  | 'ERR_REPLAYED'
  /** The body is larger than `maxBodyBytes`; it was refused before it was read to the end. */
  | 'ERR_BODY_TOO_LARGE';

/** Mistakes in how the SDK is used; they surface at start-up or on the first call, never as a 401. */
export type UsageErrorCode =
  /** A signing or verification key could not be imported or is unusable. */
  | 'ERR_KEY_INVALID'
  /** An option passed to an SDK function is invalid; the message names it. */
  | 'ERR_OPTION_INVALID'
  /** `verify()` got a request whose body was already read, so the signed bytes are gone. */
  | 'ERR_BODY_USED';

/** Every code an {@link MxhookError} can carry. */
export type MxhookErrorCode =
  | VerifyErrorCode
  | UsageErrorCode
  /** A handler returned something the gateway would refuse for its step. */
  | 'ERR_RESPONSE_INVALID';

/**
 * The base class of every error the SDK throws. Match on `code`, not on the message,
 * which is for humans and may change. The original error, if any, is kept as `cause`.
 *
 * @example
 * ```ts
 * try {
 *   await verify(request, secret);
 * } catch (error) {
 *   if (error instanceof MxhookError && error.code === 'ERR_TIMESTAMP_EXPIRED') {
 *     // the gateway's clock is off, or the request was held back
 *   }
 * }
 * ```
 */
// `C` is open to any code string so the gateway's errors share this one base class (its own codes).
export class MxhookError<C extends string = MxhookErrorCode> extends Error {
  readonly code: C;

  constructor(code: C, message: string, options?: { readonly cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Thrown by `verify` / `verifyBody` when a request must not be trusted.
 *
 * @example
 * ```ts
 * if (error instanceof MxhookVerifyError) return Response.json({ error: error.code }, { status: 401 });
 * ```
 */
export class MxhookVerifyError extends MxhookError<VerifyErrorCode> {}
