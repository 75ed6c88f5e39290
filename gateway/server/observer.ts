// What the I/O shell reports as it runs, for metrics and logs; every method is optional.
import type { Authentication, SessionInfo, Step } from '../../functions/sdk/wire.ts';
import type { DeliveryReport, RecipientResult } from '../outbound/delivery.ts';
import type { DeliveryReason } from '../outbound/delivery-reason.ts';
import type { DsnAction } from '../outbound/dsn.ts';
import type { AttemptOutcome, NewMessage, QueueStats } from '../outbound/queue.ts';
import type { Decision, StepOutcome } from '../smtp/decision.ts';
import type { Reply } from '../smtp/reply.ts';
import type { HookCall, ReplyStep, TransactionOutcome } from '../smtp/session-state.ts';

export type { ReplyStep } from '../smtp/session-state.ts';

/**
 * Refusals the shell decides by itself. Refusals the core makes (too many bad commands, a message
 * too large, a bare LF, …) are not reported here: each has its own named reply, passed to `reply`.
 */
export type RefusalReason =
  | 'max-connections'
  | 'max-connections-per-ip'
  /** More new connections per minute from one client address than MXHOOK_MAX_CONNECTION_RATE_PER_IP. */
  | 'connection-rate-per-ip'
  | 'access-denied'
  | 'early-talker'
  | 'timeout'
  | 'proxy-header'
  | 'tls-handshake'
  /** Commands pipelined in clear after STARTTLS were dropped (RFC 3207 §4.2, CVE-2011-0411). */
  | 'starttls-injection';

/**
 * Trailing arguments marked optional are always given by the shell (the audit stream reads them);
 * they are optional so that counters can be driven without them. They are objects the shell holds
 * anyway: passing them builds nothing.
 */
export interface GatewayObserver {
  /** `session`: as the session starts (client, server, TLS on a /tls listener). */
  sessionOpened?(session?: SessionInfo): void;
  /** `session`: as it last was (HELO name, TLS, AUTH user). */
  sessionClosed?(session?: SessionInfo): void;
  /** Called once per reply sent; keep it cheap. */
  reply?(step: ReplyStep, reply: Reply, session?: SessionInfo): void;
  /**
   * A function (handler hook) was called; steps without a hook are not reported. `call` carries
   * an AUTH password at the auth step: read what you need from it, never all of it.
   */
  hookCall?(
    step: Step,
    outcome: StepOutcome,
    durationMs: number,
    call?: HookCall,
    decision?: Decision,
  ): void;
  transactionEnded?(outcome: TransactionOutcome): void;
  /** Bytes read from the client (after TLS decryption). */
  bytesReceived?(count: number): void;
  /** A TLS handshake (STARTTLS or implicit TLS) finished, or failed before finishing. */
  tlsHandshake?(ok: boolean): void;
  refused?(reason: RefusalReason): void;
  /** The verdicts a data call carried (once per message that reached its data call). */
  authenticated?(authentication: Authentication): void;
  /** One recipient's delivery attempt ended (once per recipient per attempt), and why. */
  deliveryAttempt?(outcome: AttemptOutcome['kind'], reason: DeliveryReason): void;
  /** A delivery status notification was queued for a sender; `action` is its worst news. */
  dsnQueued?(action: DsnAction): void;
  /** One recipient's delivery attempt, with the remote's reply and the connection it came over. */
  deliveryResult?(
    queueId: string,
    result: RecipientResult,
    outcome: AttemptOutcome,
    report: DeliveryReport,
  ): void;
  /** The outbound queue stored a message, whichever way it came (relay, notices, an API). */
  queueEnqueued?(id: string, message: NewMessage): void;
  /** A recipient's attempt was recorded in the queue. */
  queueRecorded?(id: string, address: string, outcome: AttemptOutcome): void;
  /** An operator made a message's recipients due now. */
  queueRetried?(id: string): void;
  /** An operator removed a message from the queue (delete, or bounce after its notice). */
  queueRemoved?(id: string): void;
  /**
   * The outbound queue, for reading its depth when metrics are scraped: given once it is open,
   * null once it is closing (or when there is none).
   */
  queueAttached?(queue: { stats(now: number): Promise<QueueStats> } | null): void;
}
