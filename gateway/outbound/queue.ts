// The outbound queue's one interface, which both engines implement: the embedded one (a spool
// directory of message files and node:sqlite, `embedded-queue.ts`) and PostgreSQL for fleets
// (`postgres-queue.ts`). `MXHOOK_QUEUE` picks one: a directory path or a `postgres://` URL.
//
// The unit of work is one recipient of one message. A delivery worker claims the recipients that
// are due, groups them by message and destination domain, delivers each group in one SMTP
// transaction, and records each recipient's outcome. A claim is a lease: a recipient whose lease
// ran out (its worker or node died) is due again, so a delivery interrupted by a crash is retried
// (at least once, like every MTA), and two workers never hold the same recipient at once.

/** DSN parameters of one recipient (RFC 3461 §4). */
export interface RecipientRequest {
  readonly address: string;
  /** NOTIFY: `never`, or any of `success`, `failure`, `delay`; absent: failure and delay. */
  readonly notify?: readonly ('never' | 'success' | 'failure' | 'delay')[];
  /** ORCPT, as given (`rfc822;user@example.com`). */
  readonly originalRecipient?: string;
}

/** What `enqueue` takes: an envelope and the exact message bytes to send. */
export interface NewMessage {
  /** The envelope sender; `""` is the null sender (a bounce: never bounced itself). */
  readonly sender: string;
  readonly recipients: readonly RecipientRequest[];
  /** The message as it will go out (signed already if it is to be), in pieces. */
  readonly body: readonly Buffer[];
  /** RET (RFC 3461 §4.3): what a bounce returns; absent: headers. */
  readonly returnContent?: 'full' | 'headers';
  /** ENVID (RFC 3461 §4.4). */
  readonly envelopeId?: string;
  /** The message needs SMTPUTF8 from the receiving server (RFC 6531). */
  readonly smtputf8?: boolean;
  /** The message has 8-bit content (BODY=8BITMIME, RFC 6152). */
  readonly eightBit?: boolean;
  /** Where it came from, for the operator: the receiving session's queue id, or `send-api`. */
  readonly origin: string;
  /**
   * Queue it at most once per key within `ttlMs`: an enqueue whose key was given less than
   * `ttlMs` ago stores nothing and resolves to the first message's id. The key is kept with the
   * message in one commit, so a crash never leaves one without the other. It is what makes the
   * send API idempotent (the client's key) and an auto-reply go once per sender and window.
   */
  readonly once?: OnceKey;
}

export interface OnceKey {
  readonly key: string;
  readonly ttlMs: number;
  /**
   * What the key was given for (the send API: a hash of the request). A live key kept with
   * another fingerprint makes the enqueue reject with OnceKeyConflict instead of naming the first
   * message; without one, any use of the key names it.
   */
  readonly fingerprint?: string;
}

/** An enqueue's once key is live with another fingerprint: it was used for another message. */
export class OnceKeyConflict extends Error {
  constructor(key: string) {
    super(`the once key ${JSON.stringify(key)} was given for another message`);
    this.name = 'OnceKeyConflict';
  }
}

export type RecipientState = 'queued' | 'delivering' | 'delivered' | 'failed' | 'expired';

export interface RecipientRecord extends RecipientRequest {
  readonly state: RecipientState;
  readonly attempts: number;
  /** When it is due next (ms since the epoch); null once final. */
  readonly nextAttemptAt: number | null;
  /** The last reply or error, as a line for people (`550 5.1.1 no such user`). */
  readonly lastResult: string | null;
  /** A delay notice was queued for it (MXHOOK_DELAY_WARNING): there is never a second. */
  readonly delayNotified?: true;
}

export interface MessageRecord {
  readonly id: string;
  readonly sender: string;
  readonly createdAt: number;
  readonly sizeBytes: number;
  readonly returnContent: 'full' | 'headers';
  readonly envelopeId: string | null;
  readonly smtputf8: boolean;
  readonly eightBit: boolean;
  readonly origin: string;
  readonly recipients: readonly RecipientRecord[];
}

/** One claimed recipient, leased to `owner` until `leaseUntil`. */
export interface Claim {
  readonly messageId: string;
  readonly address: string;
  readonly attempts: number;
  readonly leaseUntil: number;
}

/** What happened to one recipient in one attempt. */
export type AttemptOutcome =
  | { readonly kind: 'delivered'; readonly reply: string }
  /**
   * Try again at `retryAt` (4xx, connection failures). `delayNotified`: a delay notice went out
   * with this attempt; the recipient keeps that mark from now on.
   */
  | {
      readonly kind: 'deferred';
      readonly reply: string;
      readonly retryAt: number;
      readonly delayNotified?: true;
    }
  /** Give up: 5xx, no such domain, a null MX, or the lifetime is over (`expired`). */
  | { readonly kind: 'failed' | 'expired'; readonly reply: string };

export interface MessageWithBody {
  readonly message: MessageRecord;
  readonly body: readonly Buffer[];
}

/** One `record` call's arguments, as the engines batch them. */
export interface OutcomeToRecord {
  readonly owner: string;
  readonly messageId: string;
  readonly address: string;
  readonly outcome: AttemptOutcome;
}

export interface QueueStats {
  /** Recipients not final (queued or delivering). */
  readonly pending: number;
  /** Age of the oldest message with a recipient not final, in ms; null when none. */
  readonly oldestAgeMs: number | null;
}

export interface OutboundQueue {
  /**
   * Stores the message durably (body fsynced, state committed) and returns its id: the 250 to the
   * client may be said once this resolves, and only then. Rejects when it cannot (disk full,
   * database down): the client gets a 451.
   */
  enqueue(message: NewMessage): Promise<string>;
  /**
   * Leases at most `limit` recipients that are due at `now` (queued and `nextAttemptAt <= now`,
   * or delivering with a lease that ran out) to `owner` for `leaseMs`, oldest first.
   */
  claim(owner: string, limit: number, now: number, leaseMs: number): Promise<readonly Claim[]>;
  /**
   * Gives back leases `owner` holds on recipients it never attempted (a runner that stops, or
   * whose claims waited too long for a free worker): due again at once, no attempt counted.
   */
  release(owner: string, claims: readonly Claim[]): Promise<void>;
  message(messageId: string): Promise<MessageRecord | null>;
  /**
   * The messages and their bodies, in pieces, for deliveries or a bounce: one round trip for
   * all. Those removed meanwhile are not in the map.
   */
  messagesWithBodies(messageIds: readonly string[]): Promise<ReadonlyMap<string, MessageWithBody>>;
  /**
   * Records one attempt's outcome for a recipient `owner` holds (ignored if the lease was lost).
   * Once every recipient of a message is final, the message and its body are removed: whatever
   * needs the body (a bounce) is made before the last outcome is recorded.
   */
  record(owner: string, messageId: string, address: string, outcome: AttemptOutcome): Promise<void>;
  /** Makes every not-final recipient of the message due now (`mxhook queue retry`). */
  retryNow(messageId: string, now: number): Promise<boolean>;
  /** Forgets the message and its body (`mxhook queue delete`). */
  remove(messageId: string): Promise<boolean>;
  /** Messages with any recipient not final, oldest first, at most `limit`. */
  list(limit: number): Promise<readonly MessageRecord[]>;
  /** Depth and age, for metrics. */
  stats(now: number): Promise<QueueStats>;
  /**
   * Calls `listener` when work may be due sooner than the caller's next poll (a message was
   * enqueued here or, for PostgreSQL, on another node: LISTEN/NOTIFY); returns the unsubscribe.
   */
  onWork(listener: () => void): () => void;
  /** Whether the queue can take a message now (for /readyz). */
  writable(): Promise<boolean>;
  close(): Promise<void>;
}
