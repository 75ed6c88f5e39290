// The session as data: every state, event and action of the SMTP state machine in one place.
import type {
  Envelope,
  PathWithParams,
  SessionInfo,
  Step,
  TlsInfo,
} from '../../functions/sdk/wire.ts';
import type { BareLfPolicy, DataOutcome, LongLinePolicy } from './data-decoder.ts';
import type { Decision, StepOutcome } from './decision.ts';
import type { Reply } from './reply.ts';

export interface SessionSettings {
  /** Our name in the banner, EHLO reply and Received header. */
  readonly hostname: string;
  /** What follows the hostname in the 220 greeting (RFC 5321 §4.2 textstring). */
  readonly banner: string;
  readonly maxMessageBytes: number;
  /** What a bare LF in a message gets: normalised to CRLF, or the message refused. */
  readonly bareLf: BareLfPolicy;
  /** What a message line over 1000 octets gets (RFC 5321 §4.5.3.1.6). */
  readonly longLines: LongLinePolicy;
  readonly maxRecipients: number;
  /** Unrecognised or failed commands before 421 and close. */
  readonly maxBadCommands: number;
  /** Commands that make no progress (NOOP, VRFY, EXPN, RSET, HELP) before 421 and close. */
  readonly maxJunkCommands: number;
  /** Certificates are configured, so STARTTLS is offered until TLS is active. */
  readonly tlsAvailable: boolean;
  /** MAIL needs TLS first (RFC 3207 §4: 530 5.7.0). */
  readonly requireTls: boolean;
  /** Whether the shared budget for message bytes in flight is used up (checked before DATA/BDAT). */
  readonly isOverMemoryBudget: () => boolean;
  /** SMTP AUTH (RFC 4954), or absent/null when it is not offered. */
  readonly auth?: AuthSettings | null;
  /** MAIL needs a successful AUTH first (submission, RFC 6409 §4.3; reply 530 5.7.0). */
  readonly requireAuth?: boolean;
  /** This client is trusted to send XCLIENT (Postfix) with the real client's attributes. */
  readonly xclient?: boolean;
  /** Verbs a program added (library API), by upper-case verb. */
  readonly extraVerbs?: ReadonlyMap<string, ExtraVerb>;
  /**
   * DSN (RFC 3461) is offered: RET, ENVID, NOTIFY and ORCPT are accepted. Only with an outbound
   * queue, which can send the notices.
   */
  readonly dsn?: boolean;
}

/**
 * A command a program added. The core enforces what it does for every command (line limit,
 * pipelining order, shutdown, counting protocol errors) and asks `reply` for the answer.
 */
export interface ExtraVerb {
  /** The EHLO line advertising it (keyword and parameters), or null to keep it unadvertised. */
  readonly ehlo: string | null;
  /** The reply to the verb with `args` in this session; never throws (the shell makes sure). */
  readonly reply: (args: string, session: SessionInfo) => Reply;
}

export interface AuthSettings {
  /** Offer AUTH without TLS (local testing only: the password would cross the network in clear). */
  readonly allowInsecure: boolean;
  /** Failed attempts in one session before 421 and close. */
  readonly maxFailures: number;
  /** The client's address has failed too often recently (per-IP lockout kept by the shell). */
  readonly isLockedOut: () => boolean;
}

export interface SessionContext {
  readonly info: SessionInfo;
  /** The client greeted with EHLO, so ESMTP parameters are allowed (RFC 5321 §4.1.1.11). */
  readonly esmtp: boolean;
  readonly badCommands: number;
  /** Commands that made no progress since the session began or last delivered a message. */
  readonly junkCommands: number;
  /** The session outlived its time limit: it ends once the message in flight is answered. */
  readonly expired: boolean;
  /**
   * DATA was refused and the client has not yet shown that it read the refusal: its next line
   * may be a message body it sent without waiting (RFC 2920 §3.1), not a command.
   */
  readonly dataRefused: boolean;
  /** Transactions finished in this session; numbers the queue id. */
  readonly transactions: number;
  /** The gateway is shutting down: finish the open transaction, then close. */
  readonly draining: boolean;
  /** Failed AUTH attempts in this session. */
  readonly authFailures: number;
}

export interface BdatProgress {
  /** Chunk sizes announced so far (the bytes themselves are held by the shell's reader). */
  readonly sizeBytes: number;
  /** Set once a chunk failed: the rest of the transaction's chunks are read and discarded (RFC 3030 §2). */
  readonly failure: Reply | null;
}

export interface Transaction {
  readonly mailFrom: PathWithParams;
  readonly rcptTo: readonly PathWithParams[];
  readonly smtputf8: boolean;
  readonly bdat: BdatProgress | null;
}

/** A call to the handler of one step; the answer comes back as a `hook-done` event. */
export type HookCall =
  | { readonly step: 'connect'; readonly session: SessionInfo; readonly envelope: Envelope }
  | {
      readonly step: 'helo';
      readonly session: SessionInfo;
      readonly envelope: Envelope;
      readonly helo: { readonly hostname: string; readonly esmtp: boolean };
    }
  | {
      readonly step: 'auth';
      readonly session: SessionInfo;
      readonly envelope: Envelope;
      /** Only ever sent inside the signed call; never logged. */
      readonly auth: {
        readonly mechanism: string;
        readonly username: string;
        readonly password: string;
      };
    }
  | {
      readonly step: 'mail';
      readonly session: SessionInfo;
      readonly envelope: Envelope;
      readonly mailFrom: PathWithParams;
    }
  | {
      readonly step: 'rcpt';
      readonly session: SessionInfo;
      readonly envelope: Envelope;
      readonly rcpt: PathWithParams;
    }
  | {
      readonly step: 'data';
      readonly session: SessionInfo;
      readonly envelope: Envelope;
      /** The exact message bytes after dot-unstuffing, with our Received header first. */
      readonly message: {
        readonly chunks: readonly Buffer[];
        readonly sizeBytes: number;
        readonly queueId: string;
      };
    };

/** The step whose handler call is in flight, with what its answer completes. */
export type PendingStep =
  | { readonly step: 'connect' }
  | { readonly step: 'helo'; readonly hostname: string; readonly esmtp: boolean }
  | { readonly step: 'auth'; readonly mechanism: string; readonly username: string }
  | { readonly step: 'mail'; readonly mailFrom: PathWithParams; readonly smtputf8: boolean }
  | { readonly step: 'rcpt'; readonly rcpt: PathWithParams; readonly tx: Transaction }
  | { readonly step: 'data'; readonly queueId: string; readonly summary: TransactionSummary };

export type SessionState =
  | { readonly phase: 'command'; readonly ctx: SessionContext; readonly tx: Transaction | null }
  | { readonly phase: 'data'; readonly ctx: SessionContext; readonly tx: Transaction }
  | {
      readonly phase: 'bdat';
      readonly ctx: SessionContext;
      readonly tx: Transaction | null;
      readonly chunkBytes: number;
      readonly last: boolean;
      /** Why this chunk is read only to be discarded, or null to keep it. */
      readonly discard: Reply | null;
    }
  | { readonly phase: 'waiting'; readonly ctx: SessionContext; readonly pending: PendingStep }
  | { readonly phase: 'tls'; readonly ctx: SessionContext }
  /** Inside an AUTH exchange: the next line is a SASL response, not a command (RFC 4954 §4). */
  | { readonly phase: 'auth'; readonly ctx: SessionContext; readonly exchange: AuthExchange }
  | { readonly phase: 'closed' };

/** Where an AUTH exchange stands: PLAIN waits for its one response, LOGIN for the user name, then the password. */
export type AuthExchange =
  | { readonly mechanism: 'PLAIN' }
  | { readonly mechanism: 'LOGIN'; readonly username: string | null };

/** The state in one phase: `PhaseState<'command'>` has `ctx` and `tx`. */
export type PhaseState<P extends SessionState['phase']> = Extract<SessionState, { phase: P }>;

export type SessionEvent =
  /** `pipelined`: more input had already arrived after this line when it was read (absent: no). */
  | { readonly type: 'line'; readonly line: Buffer; readonly pipelined?: boolean }
  | { readonly type: 'line-too-long' }
  | { readonly type: 'data-end'; readonly outcome: DataOutcome; readonly now: Date }
  /** A BDAT chunk was read; `outcome` is the whole message's, after a kept LAST chunk only. */
  | { readonly type: 'bdat-chunk'; readonly outcome: DataOutcome | null; readonly now: Date }
  /** The answer to the pending step's call, interpreted once (`decide`, by `SmtpSession.answer`). */
  | { readonly type: 'hook-done'; readonly decision: Decision }
  | { readonly type: 'tls-started'; readonly tls: TlsInfo }
  /**
   * Reverse DNS confirmed `hostname` for the client at `address`: it becomes the session's client
   * name (calls, Received header) unless the client has moved on or XCLIENT already named it.
   */
  | { readonly type: 'client-named'; readonly address: string; readonly hostname: string }
  | { readonly type: 'early-talker' }
  | { readonly type: 'timeout' }
  /** The session has lasted its maximum duration. */
  | { readonly type: 'session-expired' }
  /** The answer to `admit`: the reply refusing the new client, or null when it is admitted. */
  | { readonly type: 'admission'; readonly refusal: Reply | null }
  | { readonly type: 'shutdown' };

/** What the log says about a transaction, to answer "did X's mail arrive?": never the body. */
export interface TransactionSummary {
  /** The reverse-path; empty for the null sender `<>`. */
  readonly mailFrom: string;
  readonly rcptTo: readonly string[];
  /** The message as the client sent it (after dot-unstuffing); null when it was refused unread. */
  readonly sizeBytes: number | null;
  /** From the message's header block; null when it has none, or the message was refused. */
  readonly messageId: string | null;
}

/** How a transaction ended, for logs and metrics. */
export type TransactionOutcome = StepOutcome | 'too-large' | 'refused';

export type SessionAction =
  | { readonly type: 'reply'; readonly reply: Reply }
  | { readonly type: 'hook'; readonly call: HookCall }
  /**
   * Start the TLS handshake. Input buffered after STARTTLS arrived in clear and is discarded
   * (RFC 3207 §4.2); `droppedBytes` says how much, filled in by `SmtpSession`, which holds it.
   */
  | { readonly type: 'start-tls'; readonly droppedBytes: number }
  | {
      readonly type: 'transaction-end';
      readonly outcome: TransactionOutcome;
      readonly queueId: string | null;
      readonly headers: Readonly<Record<string, string>>;
      readonly summary: TransactionSummary;
    }
  /**
   * XCLIENT named a new client address: the shell runs admission for it (access lists, the
   * per-address limit, whose slot moves to it) and answers with an `admission` event.
   */
  | { readonly type: 'admit'; readonly address: string }
  /** An AUTH attempt was decided: the shell counts failures per client address for the lockout. */
  | { readonly type: 'auth-result'; readonly ok: boolean }
  | { readonly type: 'close' };

/**
 * The step a reply belongs to: the step whose decision it carries (its function's answer, or the
 * gateway's own refusal at that point, such as 552 at the end of DATA; `auth` also for the rest
 * of an AUTH exchange), or `command` for replies the gateway gives to other commands and events
 * (354, NOOP, RSET, STARTTLS, syntax errors, 421).
 */
export type ReplyStep = Step | 'command';

export interface Transition {
  readonly state: SessionState;
  readonly actions: readonly SessionAction[];
}
