// The repository's one error base and code union: every failure, the SDK's or the gateway's, carries
// a stable `code` that callers, logs and tests match on (docs/architecture.md, "Errors").

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

/**
 * What the gateway fails with; the SDK never throws these. They are listed here, not in
 * gateway/, because the SDK may not import the gateway while the gateway imports the SDK.
 */
export type GatewayErrorCode =
  /** Bad configuration, refused at start-up; the message names the `MXHOOK_` variable. */
  | 'ERR_CONFIG_INVALID'
  /** A CIDR list entry is not an address or address/prefix. */
  | 'ERR_CIDR_INVALID'
  /** A hook (the function call) did not answer within its deadline. */
  | 'ERR_HOOK_TIMEOUT'
  /** The function could not be reached, or the connection failed mid-answer. */
  | 'ERR_HOOK_NETWORK'
  /** The function answered with a non-2xx HTTP status. */
  | 'ERR_HOOK_STATUS'
  /** The function's answer is not JSON, is too large, or is not a response its step can use. */
  | 'ERR_HOOK_RESPONSE'
  /** An in-process hook threw something that is not an `MxhookError`. */
  | 'ERR_HOOK_THREW'
  /** Every message parser is busy and the queue in front of them is full. */
  | 'ERR_PARSE_BUSY'
  /** A listener (SMTP or admin HTTP) could not bind its address. */
  | 'ERR_LISTEN_FAILED'
  /** A host name in the deny list could not be resolved at start. */
  | 'ERR_DNS_UNRESOLVED'
  /** The gateway is stopping: the call or parse was given up. */
  | 'ERR_SHUTTING_DOWN'
  /** No slot to check AUTH credentials was free in time. */
  | 'ERR_AUTH_BUSY'
  /** A mail authentication check failed in a way no verdict covers (a bug, not DNS): 451. */
  | 'ERR_AUTH_CHECK'
  /** A data answer asked to deliver the message, but no outbound queue is set (MXHOOK_QUEUE): 451. */
  | 'ERR_QUEUE_OFF'
  /** A data answer asked to forward the message, but MXHOOK_SRS_SECRET is not set: 451. */
  | 'ERR_SRS_OFF'
  /** The outbound queue could not store the message (disk, database): 451, never 250. */
  | 'ERR_QUEUE_WRITE'
  /** The archive (MXHOOK_ARCHIVE) could not keep the message (disk, object storage): 451, never 250. */
  | 'ERR_ARCHIVE_WRITE';

/**
 * Why the send API refused a message (the `code` of its `{ error: { code, message } }` answer,
 * kept by the SDK's send client), and what the client adds when no answer came.
 */
export type SendErrorCode =
  /** 404: the send API is not enabled (MXHOOK_SEND_TOKEN or MXHOOK_SEND_SIGNED). */
  | 'ERR_SEND_OFF'
  /** 401: no bearer token or signature, or a token the gateway does not know. */
  | 'ERR_SEND_UNAUTHORIZED'
  /** 405: not a POST. */
  | 'ERR_METHOD_NOT_ALLOWED'
  /** 400: a field is missing, has the wrong type, or a value out of its range; the message names it. */
  | 'ERR_FIELD_INVALID'
  /** 400: an address is not a mailbox `local@domain`. */
  | 'ERR_ADDRESS_INVALID'
  /** 400: a header name or value that could inject lines, or a header the API sets itself. */
  | 'ERR_HEADER_INVALID'
  /** 400: the Idempotency-Key header is empty, too long, or not printable ASCII. */
  | 'ERR_IDEMPOTENCY_KEY_INVALID'
  /** 403: the sender's domain is not one the gateway sends for (MXHOOK_SEND_FROM_DOMAINS). */
  | 'ERR_FROM_NOT_ALLOWED'
  /** 413: the message as built is larger than MXHOOK_MAX_MESSAGE_SIZE. */
  | 'ERR_MESSAGE_TOO_LARGE'
  /** 409: the Idempotency-Key was used for a different message. */
  | 'ERR_IDEMPOTENCY_CONFLICT'
  /** 500: a fault in the gateway itself (a bug, logged there); retried by the client like any 5xx. */
  | 'ERR_SEND_INTERNAL'
  /** Client only: no answer from the gateway after every retry (connection refused, reset, timeout). */
  | 'ERR_SEND_NETWORK'
  /** Client only: an answer that is not the send API's (an unexpected status or body). */
  | 'ERR_SEND_FAILED';

/**
 * Every code an {@link MxhookError} can carry: the repository's one code union. Codes are a
 * contract (callers and logs match on them), so a code is never renamed.
 */
export type MxhookErrorCode =
  | VerifyErrorCode
  | UsageErrorCode
  /** A handler returned something the gateway would refuse for its step. */
  | 'ERR_RESPONSE_INVALID'
  /** `rawMessage()`: the call has no raw message, or its `rawRef` URL did not answer with it. */
  | 'ERR_RAW_UNAVAILABLE'
  /** `rawMessage()`: the bytes fetched are not the message's (size or SHA-256 differ). */
  | 'ERR_RAW_MISMATCH'
  | SendErrorCode
  | GatewayErrorCode;

/**
 * The base class of every error the SDK and the gateway throw on purpose. Match on `code`, not on
 * the message, which is for humans and may change. The original error, if any, is kept as `cause`.
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
// `C` narrows the code where only some can occur (MxhookVerifyError, a helper's return type).
export class MxhookError<C extends MxhookErrorCode = MxhookErrorCode> extends Error {
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
