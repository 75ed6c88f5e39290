// The send API's refusals: one error with a stable code, and the HTTP status each code is answered with.
import type { SendErrorCode, VerifyErrorCode } from '../../functions/sdk/errors.ts';
import { MxhookError } from '../errors.ts';

/** What the endpoint answers with: the send codes, the signature checks' own, and the queue's. */
export type SendApiCode =
  | Exclude<SendErrorCode, 'ERR_SEND_NETWORK' | 'ERR_SEND_FAILED'>
  | VerifyErrorCode
  | 'ERR_QUEUE_OFF'
  | 'ERR_QUEUE_WRITE';

const STATUS: Readonly<Record<SendApiCode, number>> = {
  ERR_SEND_OFF: 404,
  ERR_SEND_INTERNAL: 500,
  ERR_SEND_UNAUTHORIZED: 401,
  ERR_METHOD_NOT_ALLOWED: 405,
  ERR_FIELD_INVALID: 400,
  ERR_ADDRESS_INVALID: 400,
  ERR_HEADER_INVALID: 400,
  ERR_IDEMPOTENCY_KEY_INVALID: 400,
  ERR_FROM_NOT_ALLOWED: 403,
  ERR_MESSAGE_TOO_LARGE: 413,
  ERR_IDEMPOTENCY_CONFLICT: 409,
  ERR_QUEUE_OFF: 503,
  ERR_QUEUE_WRITE: 503,
  ERR_BODY_MALFORMED: 400,
  ERR_BODY_TOO_LARGE: 413,
  // A signed request that does not verify is not authenticated, whatever the reason.
  ERR_SIGNATURE_MISSING: 401,
  ERR_SIGNATURE_INVALID: 401,
  ERR_KEY_UNKNOWN: 401,
  ERR_KEYS_UNAVAILABLE: 503,
  ERR_TIMESTAMP_EXPIRED: 401,
  ERR_AUDIENCE_MISMATCH: 401,
  ERR_REPLAYED: 401,
};

/** A refusal: answered as `status` with `{ error: { code, message } }`. */
export class SendApiError extends MxhookError<SendApiCode> {
  get status(): number {
    return STATUS[this.code];
  }
}
