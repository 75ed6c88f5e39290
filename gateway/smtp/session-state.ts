// The session as data: every state, event and action of the SMTP state machine in one place.
import type { Envelope, PathWithParams, SessionInfo, TlsInfo } from '../../functions/sdk/wire.ts';
import type { DataOutcome } from './data-decoder.ts';
import type { Reply } from './reply.ts';

export interface SessionSettings {
  /** Our name in the banner, EHLO reply and Received header. */
  readonly hostname: string;
  readonly maxMessageBytes: number;
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

/** What a handler call ended with: the parsed response body, or why it failed. */
export type HookOutcome =
  | { readonly ok: true; readonly response: unknown }
  | { readonly ok: false; readonly error: HookFailure };

/** Why a handler call failed: a stable code (`ERR_HOOK_TIMEOUT` …) and what happened. */
export interface HookFailure {
  readonly code: string;
  readonly message: string;
}

export type SessionEvent =
  /** `pipelined`: more input had already arrived after this line when it was read (absent: no). */
  | { readonly type: 'line'; readonly line: Buffer; readonly pipelined?: boolean }
  | { readonly type: 'line-too-long' }
  | { readonly type: 'data-end'; readonly outcome: DataOutcome; readonly now: Date }
  /** A BDAT chunk was read; `outcome` is the whole message's, after a kept LAST chunk only. */
  | { readonly type: 'bdat-chunk'; readonly outcome: DataOutcome | null; readonly now: Date }
  | { readonly type: 'hook-done'; readonly outcome: HookOutcome }
  | { readonly type: 'tls-started'; readonly tls: TlsInfo }
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
export type TransactionOutcome =
  | 'accepted'
  | 'rejected'
  | 'deferred'
  | 'failed'
  | 'too-large'
  | 'refused';

export type SessionAction =
  | { readonly type: 'reply'; readonly reply: Reply }
  | { readonly type: 'hook'; readonly call: HookCall }
  /** Switch the input to the DATA decoder. */
  | { readonly type: 'receive-data' }
  /**
   * Read exactly `sizeBytes` bytes as a BDAT chunk (RFC 3030), keeping them or not; `first` starts
   * a new message, `last` ends it.
   */
  | {
      readonly type: 'receive-bdat';
      readonly sizeBytes: number;
      readonly keep: boolean;
      readonly first: boolean;
      readonly last: boolean;
    }
  /** Discard any input buffered after STARTTLS and start the TLS handshake (RFC 3207 §4.2). */
  | { readonly type: 'start-tls' }
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

export interface Transition {
  readonly state: SessionState;
  readonly actions: readonly SessionAction[];
}
