// The send API's wire format: the message a function hands the gateway to send, and the answer.
// Shared by the SDK's send client and the gateway, which validates it (gateway/send/).

/** The send API's path on the gateway's HTTP listener. */
export const SEND_PATH = '/v1/send';

/** The header that makes a send idempotent (draft-ietf-httpapi-idempotency-key-header). */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/** `alice@example.com`, `Alice <alice@example.com>`, or the parts apart. */
export type SendAddress = string | { readonly name?: string; readonly address: string };

export interface SendAttachment {
  readonly filename: string;
  /** Default: guessed from the filename, else `application/octet-stream`. */
  readonly contentType?: string;
  /** The bytes, base64. */
  readonly content: string;
  /** For an inline image an HTML part refers to as `cid:<contentId>`. */
  readonly contentId?: string;
  /** Default `attachment`. */
  readonly disposition?: 'attachment' | 'inline';
}

/**
 * A message to send. Either composed (`subject`, `text` and/or `html`, `attachments`, `headers`:
 * the gateway builds the MIME) or `raw` (base64 of a complete message, sent as it is). `from` is
 * the envelope sender and, when composed, the From field; the recipients are `to`, `cc` and `bcc`
 * (bcc never appears in the message).
 */
export interface SendMessage {
  readonly from: SendAddress;
  readonly to?: SendAddress | readonly SendAddress[];
  readonly cc?: SendAddress | readonly SendAddress[];
  readonly bcc?: SendAddress | readonly SendAddress[];
  readonly replyTo?: SendAddress | readonly SendAddress[];
  readonly subject?: string;
  readonly text?: string;
  readonly html?: string;
  readonly attachments?: readonly SendAttachment[];
  /** Extra header fields, such as `In-Reply-To`, `References`, `Auto-Submitted`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** A whole message, base64; excludes the composing fields. */
  readonly raw?: string;
}

/** The send API's 202 answer. */
export interface SendResult {
  /** The queue id: the `queueId` of the delivery reports about this message. */
  readonly id: string;
  /** The message's Message-ID, `<…>`. */
  readonly messageId: string;
  /** The envelope recipients, each once. */
  readonly recipients: readonly string[];
}

/** Every refusal's body. */
export interface SendErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}
