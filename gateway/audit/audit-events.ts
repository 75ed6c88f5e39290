// What the audit stream carries: its event types and the JSON of each (the `data:` line of an SSE
// event). README.md, "A live audit stream", documents the same for operators. Never a message
// body, a password or a key; addresses (client IPs, envelope senders and recipients, AUTH user
// names) are personal data, which is why the stream takes the admin token.
import type { Sized } from './bounded-queue.ts';

/** The types a subscriber can ask for (`?types=`); each is made only while someone wants it. */
export const AUDIT_TYPES = ['session', 'decision', 'queue', 'delivery', 'reply'] as const;
export type AuditType = (typeof AUDIT_TYPES)[number];

/** The types a subscriber gets when it names none: everything but the per-reply protocol trace. */
export const DEFAULT_AUDIT_TYPES: readonly AuditType[] = [
  'session',
  'decision',
  'queue',
  'delivery',
];

/** Sent to one subscriber about its own stream; never filtered, never replayed, no `id:`. */
export type ControlType = 'dropped' | 'closed';

export interface TlsSummary {
  readonly version: string;
  readonly cipher: string;
}

/** A session opened (client and server known, TLS on a /tls listener) or closed (all of it). */
export interface SessionEvent {
  readonly type: 'session';
  readonly time: string;
  readonly action: 'opened' | 'closed';
  readonly session: string;
  readonly client: { readonly address: string; readonly port: number };
  readonly server: { readonly address: string; readonly port: number };
  readonly helo: string | null;
  readonly tls: TlsSummary | null;
  /** The AUTH user name, once authenticated. */
  readonly auth: string | null;
  readonly proxied: boolean;
}

/** A function's answer to one step, as the client was answered. */
export interface DecisionEvent {
  readonly type: 'decision';
  readonly time: string;
  readonly session: string;
  readonly step: string;
  readonly code: number;
  readonly enhanced: string | null;
  readonly outcome: string;
  readonly durationMs: number;
  /** The message's id in this gateway (`<session>.<n>`) at the data step; null before. */
  readonly queueId: string | null;
  /** What the step decided on: the sender (mail), recipient (rcpt), HELO name or AUTH user. */
  readonly argument: string | null;
  /** Why the call counts as failed (`ERR_HOOK_TIMEOUT` …); absent when it did not fail. */
  readonly error?: string;
}

/** A change in the outbound queue, whichever way the message came in (relay, notices, an API). */
export type QueueEvent =
  | {
      readonly type: 'queue';
      readonly time: string;
      readonly action: 'enqueued';
      readonly id: string;
      /** The receiving session's queue id, `dsn:<id>`, `send-api`, … */
      readonly origin: string;
      readonly sender: string;
      readonly recipients: number;
      readonly sizeBytes: number;
    }
  | {
      readonly type: 'queue';
      readonly time: string;
      readonly action: 'recorded';
      readonly id: string;
      readonly recipient: string;
      readonly outcome: string;
      /** When a deferred recipient is due again (ISO 8601). */
      readonly retryAt: string | null;
    }
  | {
      readonly type: 'queue';
      readonly time: string;
      readonly action: 'retried' | 'removed';
      readonly id: string;
    };

/** One recipient's delivery attempt. */
export interface DeliveryEvent {
  readonly type: 'delivery';
  readonly time: string;
  readonly queueId: string;
  readonly recipient: string;
  readonly outcome: string;
  readonly reply: string;
  /** The MX host last tried and its address; null when none could be reached. */
  readonly host: string | null;
  readonly address: string | null;
  readonly tls: TlsSummary | null;
}

/** One reply the gateway sent (the protocol trace; AUTH challenges carry no secret). */
export interface ReplyEvent {
  readonly type: 'reply';
  readonly time: string;
  readonly session: string;
  /** The step whose decision it carries, or `command` (see ReplyStep). */
  readonly step: string;
  readonly code: number;
  readonly enhanced: string | null;
  readonly lines: readonly string[];
}

/** One event as it goes out: its SSE frame, made once and written to every subscriber wanting it. */
export interface AuditFrame extends Sized {
  readonly type: AuditType;
  /** Counts up from 1 in each run of the gateway. */
  readonly sequence: number;
  readonly text: string;
}

export function isAuditType(word: string): word is AuditType {
  return (AUDIT_TYPES as readonly string[]).includes(word);
}
