// What the I/O shell reports as it runs, for metrics and logs; every method is optional.
import type { Authentication, Step } from '../../functions/sdk/wire.ts';
import type { AttemptOutcome, QueueStats } from '../outbound/queue.ts';
import type { StepOutcome } from '../smtp/decision.ts';
import type { Reply } from '../smtp/reply.ts';
import type { ReplyStep, TransactionOutcome } from '../smtp/session-state.ts';

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

export interface GatewayObserver {
  sessionOpened?(): void;
  sessionClosed?(): void;
  /** Called once per reply sent; keep it cheap. */
  reply?(step: ReplyStep, reply: Reply): void;
  /** A function (handler hook) was called; steps without a hook are not reported. */
  hookCall?(step: Step, outcome: StepOutcome, durationMs: number): void;
  transactionEnded?(outcome: TransactionOutcome): void;
  /** Bytes read from the client (after TLS decryption). */
  bytesReceived?(count: number): void;
  /** A TLS handshake (STARTTLS or implicit TLS) finished, or failed before finishing. */
  tlsHandshake?(ok: boolean): void;
  refused?(reason: RefusalReason): void;
  /** The verdicts a data call carried (once per message that reached its data call). */
  authenticated?(authentication: Authentication): void;
  /** One recipient's delivery attempt ended (once per recipient per attempt). */
  deliveryAttempt?(outcome: AttemptOutcome['kind']): void;
  /**
   * The outbound queue, for reading its depth when metrics are scraped: given once it is open,
   * null once it is closing (or when there is none).
   */
  queueAttached?(queue: { stats(now: number): Promise<QueueStats> } | null): void;
}
