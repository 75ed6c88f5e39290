// What the I/O shell reports as it runs, for metrics and logs; every method is optional.
import type { Step } from '../../functions/sdk/wire.ts';
import type { Reply } from '../smtp/reply.ts';
import type { TransactionOutcome } from '../smtp/session-state.ts';

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
 * The step a reply belongs to: the step whose decision it carries (its function's answer, or the
 * gateway's own refusal at that point, such as 552 at the end of DATA; `auth` also for the rest
 * of an AUTH exchange), or `command` for replies the gateway gives to other commands and events
 * (354, NOOP, RSET, STARTTLS, syntax errors, 421).
 */
export type ReplyStep = Step | 'command';

export interface GatewayObserver {
  sessionOpened?(): void;
  sessionClosed?(): void;
  /** Called once per reply sent; keep it cheap. */
  reply?(step: ReplyStep, reply: Reply): void;
  /** A function (handler hook) was called; steps without a hook are not reported. */
  hookCall?(
    step: Step,
    outcome: 'accepted' | 'rejected' | 'deferred' | 'failed',
    durationMs: number,
  ): void;
  transactionEnded?(outcome: TransactionOutcome): void;
  /** Bytes read from the client (after TLS decryption). */
  bytesReceived?(count: number): void;
  /** A TLS handshake (STARTTLS or implicit TLS) finished, or failed before finishing. */
  tlsHandshake?(ok: boolean): void;
  refused?(reason: RefusalReason): void;
}
