/**
 * The wire contract (v1) between the mxhook gateway and a function: one JSON request
 * body per SMTP step, one JSON response. Shared by the gateway and by consumers, so both
 * sides compile against a single definition and cannot drift apart.
 */

export const WIRE_VERSION = 1;

/** The SMTP steps that can be sent to a function, in session order. */
export const STEPS = ['connect', 'helo', 'auth', 'mail', 'rcpt', 'data'] as const;
export type Step = (typeof STEPS)[number];

/** The HTTP header that carries the detached JWS over the exact body bytes. */
export const SIGNATURE_HEADER = 'Mxhook-Signature';

/** ESMTP parameters of MAIL FROM / RCPT TO, keyed in upper case (`SIZE`, `BODY`, …); a keyword without a value is `true`. */
export type MailParams = Readonly<Record<string, string | true>>;

/** A reverse-path or forward-path with its parameters. `address` is `""` for the null sender `<>`. */
export interface PathWithParams {
  readonly address: string;
  readonly params: MailParams;
}

export interface Endpoint {
  readonly address: string;
  readonly port: number;
  readonly hostname?: string;
}

export interface TlsInfo {
  /** `TLSv1.2` or `TLSv1.3`. */
  readonly version: string;
  readonly cipher: string;
  /** Server name the client asked for, or null. */
  readonly sni: string | null;
}

export interface AuthInfo {
  readonly username: string;
  readonly mechanism: string;
}

export interface SessionInfo {
  readonly id: string;
  readonly client: Endpoint;
  readonly server: Endpoint & { readonly hostname: string };
  /** The HELO/EHLO argument, or null before it. */
  readonly helo: string | null;
  readonly tls: TlsInfo | null;
  readonly auth: AuthInfo | null;
  /** True when the client address came from PROXY protocol or XCLIENT. */
  readonly proxied: boolean;
}

export interface Envelope {
  /** The sender; at the mail step, the one being decided. */
  readonly mailFrom: PathWithParams | null;
  /** Recipients accepted so far in this transaction; at the rcpt step, without the one being decided (that is `rcpt`). */
  readonly rcptTo: readonly PathWithParams[];
}

interface BaseRequest<S extends Step> {
  readonly v: typeof WIRE_VERSION;
  /** Unique per call: use it for replay protection and idempotency. */
  readonly id: string;
  readonly step: S;
  /** Unix time in seconds when the gateway made the call. */
  readonly timestamp: number;
  /** The URL the gateway called. */
  readonly audience: string;
  readonly session: SessionInfo;
  readonly envelope: Envelope;
}

export type ConnectRequest = BaseRequest<'connect'>;

export interface HeloRequest extends BaseRequest<'helo'> {
  readonly helo: { readonly hostname: string; readonly esmtp: boolean };
}

export interface AuthRequest extends BaseRequest<'auth'> {
  /** The credentials to decide on; only ever sent inside the signed call, never logged. */
  readonly auth: {
    readonly mechanism: string;
    readonly username: string;
    readonly password: string;
  };
}

export interface MailRequest extends BaseRequest<'mail'> {
  readonly mailFrom: PathWithParams;
}

export interface RcptRequest extends BaseRequest<'rcpt'> {
  readonly rcpt: PathWithParams;
}

export interface ParsedAddress {
  readonly name: string;
  readonly address: string;
}

export interface ParsedAttachment {
  readonly filename: string | null;
  readonly contentType: string;
  readonly size: number;
  readonly contentId: string | null;
  /** `attachment` or `inline`. */
  readonly disposition: string | null;
  /** The decoded bytes, base64. */
  readonly content: string;
}

export interface ParsedMessage {
  /** Every header in order, names lower-cased, values decoded (RFC 2047) and unfolded. */
  readonly headers: readonly { readonly name: string; readonly value: string }[];
  readonly from: readonly ParsedAddress[];
  readonly to: readonly ParsedAddress[];
  readonly cc: readonly ParsedAddress[];
  readonly replyTo: readonly ParsedAddress[];
  readonly subject: string | null;
  /** ISO 8601, or null when absent or unparsable. */
  readonly date: string | null;
  readonly messageId: string | null;
  readonly inReplyTo: string | null;
  readonly text: string | null;
  readonly html: string | null;
  readonly attachments: readonly ParsedAttachment[];
}

/**
 * Why a message has `parsed: null`: `malformed` (the parser refused it), `too-large` (over the size
 * the gateway parses), `timeout` (parsing took too long), `memory` (parsing needed too much memory).
 */
export type ParseErrorCode = 'malformed' | 'too-large' | 'timeout' | 'memory';

export interface ParseError {
  readonly code: ParseErrorCode;
  /** For people: what the parser or the limit said. */
  readonly message: string;
}

export interface MessagePayload {
  /** Size in bytes of `raw` (after dot-unstuffing, with the gateway's Received header). */
  readonly size: number;
  /**
   * Base64 of the exact message bytes; present when the payload mode is `raw` or `both`, and in
   * every mode when `parsed` is null.
   */
  readonly raw?: string;
  /**
   * Present when the payload mode is `parsed` or `both`; null when the message could not be
   * parsed, with `parseError` saying why (the message is still delivered, as `raw`).
   */
  readonly parsed?: ParsedMessage | null;
  /** Present exactly when `parsed` is null. */
  readonly parseError?: ParseError;
}

export interface DataRequest extends BaseRequest<'data'> {
  readonly message: MessagePayload;
}

export type StepRequest =
  | ConnectRequest
  | HeloRequest
  | AuthRequest
  | MailRequest
  | RcptRequest
  | DataRequest;

export type RequestFor<S extends Step> = Extract<StepRequest, { step: S }>;

/** Reply text: one line, or several lines for a multi-line SMTP reply. */
export type ReplyText = string | readonly string[];

/** An explicit SMTP reply. `enhanced` is an RFC 3463 code whose class matches `code`. */
export interface ReplyResponse {
  readonly code: number;
  readonly enhanced?: string;
  readonly message?: ReplyText;
}

export type Action = 'accept' | 'reject' | 'defer';

/** A decision without choosing the code: the gateway picks the step's usual code. */
export interface ActionResponse {
  readonly action: Action;
  readonly message?: ReplyText;
}

/** What a function answers (HTTP 2xx, JSON). `headers` is honoured on the data step only. */
export type StepResponse = (ReplyResponse | ActionResponse) & {
  readonly headers?: Readonly<Record<string, string>>;
};
