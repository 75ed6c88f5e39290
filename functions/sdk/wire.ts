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

/**
 * Result keywords of RFC 8601 §2.7 (Authentication-Results). `temperror` is also what a DNS
 * failure or timeout gives for the check it stopped; `policy` is a DKIM signature the gateway
 * would not accept (a key under 1024 bits, an `l=` that leaves part of the body unsigned).
 */
export type AuthenticationResult =
  | 'pass'
  | 'fail'
  | 'softfail'
  | 'neutral'
  | 'none'
  | 'temperror'
  | 'permerror'
  | 'policy';

/** The checks the gateway can run (`MXHOOK_AUTH_CHECKS`), in the order a session reaches them. */
export const AUTHENTICATION_CHECKS = ['rdns', 'spf', 'sender', 'dkim', 'dmarc', 'arc'] as const;
export type AuthenticationCheck = (typeof AUTHENTICATION_CHECKS)[number];

/** Reverse DNS of the client address, forward-confirmed (RFC 8601 `iprev`). From `connect` on. */
export interface ReverseDnsVerdict {
  /** `pass`: a PTR name resolves back to the address; `fail`: none does; `temperror`: DNS failed. */
  readonly result: 'pass' | 'fail' | 'temperror' | 'permerror';
  /** The PTR name that resolves back to the client address (also `session.client.hostname`), or null. */
  readonly hostname: string | null;
  /** Every PTR name the address has (at most 10 are looked at), verified or not. */
  readonly names: readonly string[];
}

/** SPF (RFC 7208) for the MAIL FROM domain, or the HELO name for the null sender. From `mail` on. */
export interface SpfVerdict {
  readonly result: AuthenticationResult;
  /** The domain whose SPF record was evaluated. */
  readonly domain: string;
  readonly identity: 'mailfrom' | 'helo';
  /** The domain's own explanation (`exp=`) of a `fail`: third-party text, never trusted. */
  readonly explanation?: string;
}

/** Whether the MAIL FROM domain can receive mail, so a bounce could reach it. From `mail` on. */
export interface SenderDomainVerdict {
  /** The MAIL FROM domain; null for the null sender `<>`. */
  readonly domain: string | null;
  /**
   * true: it has MX records, or A/AAAA records and no MX (RFC 5321 §5.1); false: a null MX
   * (RFC 7505), or no such domain, or no records at all; null: unknown (null sender, DNS failure).
   */
  readonly acceptsMail: boolean | null;
  /** Why: `mx`, `address`, `null-mx`, `no-domain`, `no-records`, `null-sender` or `temperror`. */
  readonly reason:
    | 'mx'
    | 'address'
    | 'null-mx'
    | 'no-domain'
    | 'no-records'
    | 'null-sender'
    | 'temperror';
}

/** One DKIM-Signature (RFC 6376) of the message, in the order they appear. At `data`. */
export interface DkimVerdict {
  readonly result: AuthenticationResult;
  /** The signing domain (`d=`). */
  readonly domain: string;
  /** The key selector (`s=`). */
  readonly selector: string;
  /** `rsa-sha256`, `ed25519-sha256`, `rsa-sha1`. */
  readonly algorithm: string;
  /** The signing domain aligns with the From domain under the DMARC record's mode. */
  readonly aligned: boolean;
  /** Why it did not pass, for people (e.g. `body hash did not verify`); absent on `pass`. */
  readonly reason?: string;
}

/** DMARC (RFC 7489) for the From domain. At `data`. */
export interface DmarcVerdict {
  /** `none` when the From domain publishes no DMARC record. */
  readonly result: AuthenticationResult;
  /** The From (author) domain. */
  readonly domain: string;
  /**
   * The policy that applies to this domain (the record's `sp` for a subdomain; one step milder
   * under `t=y`), or null without a record.
   */
  readonly policy: 'none' | 'quarantine' | 'reject' | null;
  /** The record's `pct`: the share of failing mail the owner asks to have the policy applied to. */
  readonly percent: number | null;
  readonly aligned: { readonly spf: boolean; readonly dkim: boolean };
  /**
   * Present when DMARC could not be evaluated (`permerror`): `multiple-from-fields`,
   * `multiple-author-domains`, `no-author-domain` or `invalid-author-domain`. RFC 7489 §6.6.1
   * suggests treating such a message as suspect.
   */
  readonly reason?: string;
}

/** ARC (RFC 8617) chain validation. At `data`. */
export interface ArcVerdict {
  /** `none` without ARC headers; `pass` or `fail` for the chain as a whole. */
  readonly result: AuthenticationResult;
  /** ARC sets on the message (0 without a chain). */
  readonly instances: number;
}

/**
 * The gateway's own verdicts on who sent the message, from DNS it looked up itself — never what the
 * message's headers claim. A check is present from the step where its result exists, when
 * `MXHOOK_AUTH_CHECKS` enables it; the gateway never turns a verdict into a reply on its own.
 */
export interface Authentication {
  readonly rdns?: ReverseDnsVerdict;
  readonly spf?: SpfVerdict;
  readonly sender?: SenderDomainVerdict;
  readonly dkim?: readonly DkimVerdict[];
  readonly dmarc?: DmarcVerdict;
  readonly arc?: ArcVerdict;
  /** The value of the Authentication-Results header the gateway put on top of `message.raw` (at `data`). */
  readonly header?: string;
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
  /** The gateway's verdicts so far; absent when every check is off (`MXHOOK_AUTH_CHECKS=none`). */
  readonly authentication?: Authentication;
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
  /**
   * The decoded bytes, base64. Absent when the message came by reference (`message.rawRef`): its
   * attachments' bytes are then read from the raw message.
   */
  readonly content?: string;
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

/**
 * Where a message too large to go inline (over the gateway's MXHOOK_INLINE_MAX) is fetched: a
 * signed URL that GETs exactly the bytes `raw` would have carried, until `expires`. The SDK's
 * `rawMessage(call)` fetches it and checks `sha256`.
 */
export interface RawReference {
  /** A short-lived signed URL (the gateway's own, or an object store's presigned GET). */
  readonly url: string;
  /** Lower-case hex SHA-256 of the bytes. */
  readonly sha256: string;
  /** Unix seconds after which the URL no longer answers. */
  readonly expires: number;
}

export interface MessagePayload {
  /** Size in bytes of `raw` (after dot-unstuffing, with the gateway's Received header). */
  readonly size: number;
  /**
   * Base64 of the exact message bytes; present when the payload mode is `raw` or `both`, and in
   * every mode when `parsed` is null, unless the message came by reference (`rawRef`).
   */
  readonly raw?: string;
  /**
   * In place of `raw` when the message is over the gateway's MXHOOK_INLINE_MAX (with an archive,
   * MXHOOK_ARCHIVE): fetch it with `rawMessage(call)`. `parsed` then describes attachments
   * without their `content`.
   */
  readonly rawRef?: RawReference;
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

/**
 * Not an SMTP step: the call the gateway makes, with `MXHOOK_DELIVERY_REPORTS` on, after each
 * attempt to deliver a queued message to one recipient (`POST <function URL>/delivery`).
 */
export const DELIVERY_STEP = 'delivery';

/** What one attempt came to: `deferred` is retried later; the others are final. */
export type DeliveryOutcome = 'delivered' | 'deferred' | 'failed' | 'expired';

/** The TLS of the delivery session, as the receiving server negotiated it. */
export interface DeliveryTls {
  readonly version: string;
  readonly cipher: string;
  /** The certificate chain and the MX host name verified. */
  readonly authorized: boolean;
}

/** One recipient's delivery attempt. */
export interface DeliveryReport {
  /** The queue id the send API answered with (or the relayed message's). */
  readonly queueId: string;
  /** Where the message came from: `send-api`, or the receiving session's queue id. */
  readonly origin: string;
  /** The message's Message-ID, `<…>`; null when it has none. */
  readonly messageId: string | null;
  /** The envelope sender. */
  readonly sender: string;
  readonly recipient: string;
  readonly outcome: DeliveryOutcome;
  /** The reply that decided it, as the remote said it (`550 5.1.1 no such user`), or the gateway's. */
  readonly reply: string;
  /** Attempts made for this recipient, this one included. */
  readonly attempts: number;
  /** When the next attempt is due (ISO 8601), for `deferred`; otherwise null. */
  readonly nextAttemptAt: string | null;
  /** The MX host and address last tried (null when none was reached), and its TLS (null in clear). */
  readonly remote: {
    readonly host: string | null;
    readonly address: string | null;
    readonly tls: DeliveryTls | null;
  };
}

/** The body of a `delivery` call: signed, stamped and addressed like every step's. */
export interface DeliveryReportRequest {
  readonly v: typeof WIRE_VERSION;
  /** Unique per call, for replay protection. */
  readonly id: string;
  readonly step: typeof DELIVERY_STEP;
  /** Unix seconds. */
  readonly timestamp: number;
  /** The URL the gateway called. */
  readonly audience: string;
  readonly delivery: DeliveryReport;
}

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

/**
 * Whether an accepted message goes on to its recipients' mail servers (data step, with the
 * gateway's outbound queue on): `true` every accepted recipient, `false` none, a list those
 * accepted recipients only. Absent: mail of a session that authenticated, or of a client in
 * MXHOOK_RELAY_NETWORKS, is delivered; other mail is not. `true` for any other session makes the
 * gateway relay for it: answer it only for senders you trust, or it is an open relay.
 */
export type DeliverRequest = boolean | readonly string[];

/**
 * Addresses an accepted message is forwarded to (data step, with the outbound queue on), as it
 * was received: the envelope sender rewritten with SRS (MXHOOK_SRS_SECRET) and an ARC set added.
 */
export type ForwardRequest = readonly string[];

/**
 * An automatic reply the gateway builds and sends to the envelope sender of an accepted message
 * (data step, with the outbound queue on), from the recipient it was addressed to. RFC 3834's
 * rules apply: none to the null sender, to automatic or list mail, or twice to one sender within
 * MXHOOK_REPLY_WINDOW; a reply skipped is logged, and the answer stands.
 */
export interface ReplyRequest {
  /** Default: `Re: ` and the original's subject. */
  readonly subject?: string;
  readonly text?: string;
  readonly html?: string;
  /** Extra header fields; those the gateway sets itself (From, To, threading, Auto-Submitted) win. */
  readonly headers?: Readonly<Record<string, string>>;
  /** An accepted recipient to reply as; default: the first accepted recipient. */
  readonly from?: string;
}

/**
 * What a function answers (HTTP 2xx, JSON). `headers`, `deliver`, `forward` and `reply` are
 * honoured on the data step only.
 */
export type StepResponse = (ReplyResponse | ActionResponse) & {
  readonly headers?: Readonly<Record<string, string>>;
  readonly deliver?: DeliverRequest;
  readonly forward?: ForwardRequest;
  readonly reply?: ReplyRequest;
};
