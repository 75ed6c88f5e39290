// The delivery workers: claim what is due in the queue, deliver it recipient group by recipient
// group (one message, one destination domain, one SMTP transaction), and record each recipient's
// outcome: delivered, retried later with capped backoff, or returned to its sender (RFC 3464).
// Up to `concurrency` groups are in delivery at once; idle, the runner polls once a second and
// wakes at once when the queue says new work arrived.
//
// A claim takes more recipients than there are free workers, so that a message's recipients at
// one domain make one group (one transaction); the groups no worker is free for wait in a backlog
// and start as workers finish, before anything more is claimed. Leases of groups that waited a
// third of the lease (slow deliveries ahead of them) are given back rather than started, so a
// lease never runs out under a delivery and hands its recipients to a second worker; so are those
// still waiting when the runner stops.
import type { Logger } from 'pino';
import type { GatewayObserver } from '../server/observer.ts';
import { type NoticeEvent, noticeFor } from './bounce-policy.ts';
import type { DeliveryReport, DeliveryRequest, RecipientResult } from './delivery.ts';
import { deliveryReason } from './delivery-reason.ts';
import { buildDsn, EXPIRED_STATUS } from './dsn.ts';
import type {
  AttemptOutcome,
  Claim,
  MessageRecord,
  MessageWithBody,
  OutboundQueue,
  RecipientRecord,
} from './queue.ts';
import { nextAttempt } from './retry-schedule.ts';

export interface DeliveryRunnerOptions {
  readonly queue: OutboundQueue;
  /** Delivers one group; never rejects (every failure is a per-recipient result). */
  readonly deliver: (request: DeliveryRequest) => Promise<DeliveryReport>;
  /** This runner's name in the queue's leases: unique per process. */
  readonly owner: string;
  readonly concurrency: number;
  readonly retry: { readonly minMs: number; readonly maxMs: number; readonly lifetimeMs: number };
  /**
   * How long after it was queued a recipient still deferred gets its sender one "delayed" notice
   * (MXHOOK_DELAY_WARNING); 0 or absent: never.
   */
  readonly delayWarningMs?: number;
  /** Our host name: the reporting MTA of the notices we send. */
  readonly hostname: string;
  /** How long a claim is held before another worker may take it over (a crashed one's). */
  readonly leaseMs?: number;
  readonly pollMs?: number;
  readonly log: Logger;
  readonly now?: () => number;
  /** Told each recipient's outcome and each notice queued, for metrics. */
  readonly observer?: Pick<GatewayObserver, 'deliveryAttempt' | 'dsnQueued' | 'deliveryResult'>;
  /** Told each recipient's attempt in full, at once (delivery reports); must not throw or wait. */
  readonly onAttempt?: (attempt: DeliveryAttempt) => void;
}

/** One recipient's attempt, as `onAttempt` is told it. */
export interface DeliveryAttempt {
  readonly message: MessageRecord;
  readonly body: readonly Buffer[];
  readonly result: RecipientResult;
  readonly outcome: AttemptOutcome;
  readonly report: DeliveryReport;
}

/** A claim outlives the slowest delivery: connects, TLS and a 25 MiB DATA at a slow peer. */
const DEFAULT_LEASE_MS = 15 * 60_000;
const DEFAULT_POLL_MS = 1_000;

interface Group {
  readonly messageId: string;
  readonly domain: string;
  readonly claims: Claim[];
  /** When it was claimed (the runner's clock). */
  readonly claimedAt: number;
}

export class DeliveryRunner {
  readonly #options: DeliveryRunnerOptions;
  readonly #now: () => number;
  readonly #inFlight = new Set<Promise<void>>();
  /** Claimed, not started: waiting for a free worker. */
  readonly #backlog: Group[] = [];
  #timer: NodeJS.Timeout | null = null;
  #stopping = false;
  /** The claim under way, if any. */
  #claiming: Promise<void> | null = null;
  #unsubscribe: (() => void) | null = null;
  /** A poll is due at the next turn of the event loop (see #pollSoon). */
  #pollDue = false;

  constructor(options: DeliveryRunnerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  start(): void {
    this.#unsubscribe = this.#options.queue.onWork(() => this.#poll());
    this.#poll();
  }

  /**
   * Claims nothing more, and waits up to `graceMs` for the deliveries in progress. What is not
   * finished then stays leased in the queue and is delivered after the lease runs out, by the
   * next start or by another node.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.#unsubscribe?.();
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#claiming;
    await this.#release(this.#backlog.splice(0));
    await settleWithin(this.#inFlight, graceMs);
  }

  /** Deliveries in progress now. */
  get busy(): number {
    return this.#inFlight.size;
  }

  #schedule(delayMs: number): void {
    if (this.#stopping) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#poll(), delayMs);
    this.#timer.unref();
  }

  #poll(): void {
    if (this.#stopping || this.#claiming !== null) return;
    void this.#startWaiting();
    const free = this.#free();
    // A finishing group polls again; a backlog is started before anything more is claimed.
    if (free <= 0 || this.#backlog.length > 0) return;
    this.#claiming = this.#claim().finally(() => {
      this.#claiming = null;
    });
  }

  #free(): number {
    return this.#options.concurrency - this.#inFlight.size;
  }

  async #claim(): Promise<void> {
    const { queue, owner, log } = this.#options;
    let claims: readonly Claim[];
    try {
      // Several recipients make one group: enough for ten groups per worker, those no worker is
      // free for waiting in the backlog. (Claiming for the free workers only, ten each, made no
      // difference to the outbound benchmark's drain; it only claimed more often.)
      claims = await queue.claim(
        owner,
        this.#options.concurrency * 10,
        this.#now(),
        this.#leaseMs(),
      );
    } catch (error) {
      log.error({ err: error }, 'queue claim failed');
      this.#schedule(this.#pollMs());
      return;
    }
    if (claims.length === 0) {
      this.#schedule(this.#pollMs());
      return;
    }
    this.#backlog.push(...groupsOf(claims, this.#now()));
    // Stopping meanwhile: stop gives the backlog back once this claim is done.
    if (this.#stopping) return;
    await this.#startWaiting();
    this.#schedule(0);
  }

  /**
   * Starts waiting groups while workers are free, their messages and bodies read together (one
   * round trip to PostgreSQL for all); gives back those that waited too long.
   */
  async #startWaiting(): Promise<void> {
    const starting: Group[] = [];
    const stale: Group[] = [];
    const oldest = this.#now() - this.#leaseMs() / 3;
    while (!this.#stopping && this.#free() > starting.length && this.#backlog.length > 0) {
      const group = this.#backlog.shift() as Group;
      if (group.claimedAt < oldest) stale.push(group);
      else starting.push(group);
    }
    if (starting.length > 0) {
      const read = this.#options.queue.messagesWithBodies(starting.map((group) => group.messageId));
      for (const group of starting) this.#start(group, read);
    }
    await this.#release(stale);
  }

  #start(group: Group, read: Promise<ReadonlyMap<string, MessageWithBody>>): void {
    const work = this.#deliverGroup(group, read).catch((error: unknown) =>
      this.#options.log.error(
        { err: error, messageId: group.messageId },
        'delivery failed unexpectedly',
      ),
    );
    this.#inFlight.add(work);
    void work.finally(() => {
      this.#inFlight.delete(work);
      this.#pollSoon();
    });
  }

  /**
   * Polls at the next turn of the event loop, once for every worker that finished in this one:
   * outcomes are committed in batches, so workers finish together, and their successors are then
   * started together, with one read.
   */
  #pollSoon(): void {
    if (this.#pollDue) return;
    this.#pollDue = true;
    setImmediate(() => {
      this.#pollDue = false;
      this.#poll();
    });
  }

  /** Gives the groups' leases back to the queue; a failure leaves them to run out. */
  async #release(groups: readonly Group[]): Promise<void> {
    if (groups.length === 0) return;
    try {
      await this.#options.queue.release(
        this.#options.owner,
        groups.flatMap((group) => group.claims),
      );
    } catch (error) {
      this.#options.log.warn({ err: error }, 'queue release failed: the leases will run out');
    }
  }

  async #deliverGroup(
    group: Group,
    read: Promise<ReadonlyMap<string, MessageWithBody>>,
  ): Promise<void> {
    const { queue, owner, log } = this.#options;
    const found = (await read).get(group.messageId);
    if (found === undefined) return; // removed meanwhile (mxhook queue delete)
    const { message, body } = found;
    const addresses = new Set(group.claims.map((claim) => claim.address));
    const recipients = message.recipients.filter((r) => addresses.has(r.address));
    const report = await this.#options.deliver({
      domain: group.domain,
      sender: message.sender,
      recipients,
      body,
      sizeBytes: message.sizeBytes,
      ...(message.envelopeId === null ? {} : { envelopeId: message.envelopeId }),
      returnContent: message.returnContent,
      smtputf8: message.smtputf8,
      eightBit: message.eightBit,
    });
    const outcomes = report.results.map(
      (result) => [result, this.#outcomeOf(message, result)] as const,
    );
    for (const [result, outcome] of outcomes) {
      const reason = deliveryReason(outcome, report.tlsPolicy, result.local === true);
      log.info(
        {
          queueId: message.id,
          rcpt: result.address,
          outcome: outcome.kind,
          reason,
          reply: result.reply,
          host: report.host,
          address: report.address,
          tls: report.tls,
          tlsPolicy: report.tlsPolicy,
        },
        'delivery attempt',
      );
      this.#options.observer?.deliveryAttempt?.(outcome.kind, reason);
      this.#options.observer?.deliveryResult?.(message.id, result, outcome, report);
    }
    // Notices first: they need the message, which the last final outcome removes.
    await this.#notify(message, body, report, outcomes);
    for (const [result, outcome] of outcomes) {
      await queue.record(owner, message.id, result.address, outcome);
      // Once recorded: a report never tells of an outcome the queue does not hold.
      this.#options.onAttempt?.({ message, body, result, outcome, report });
    }
  }

  #outcomeOf(message: MessageRecord, result: RecipientResult): AttemptOutcome {
    if (result.kind !== 'deferred') return { kind: result.kind, reply: result.reply };
    const recipient = message.recipients.find((r) => r.address === result.address);
    const attempts = (recipient?.attempts ?? 0) + 1;
    const next = nextAttempt(this.#options.retry, attempts, message.createdAt, this.#now());
    if (next.kind === 'expired') return { kind: 'expired', reply: result.reply };
    const deferred = { kind: 'deferred', reply: result.reply, retryAt: next.at } as const;
    return this.#delayNoticeDue(message, recipient)
      ? { ...deferred, delayNotified: true }
      : deferred;
  }

  /**
   * Whether a recipient deferred now gets its sender a "delayed" notice: once it has waited
   * delayWarningMs, if its NOTIFY asks for delays, and only if it never had one (the queue keeps
   * the mark recorded with the outcome).
   */
  #delayNoticeDue(message: MessageRecord, recipient: RecipientRecord | undefined): boolean {
    const after = this.#options.delayWarningMs ?? 0;
    return (
      after > 0 &&
      recipient !== undefined &&
      recipient.delayNotified !== true &&
      this.#now() - message.createdAt >= after &&
      noticeFor(message.sender, recipient, 'delayed')
    );
  }

  /** Queues the delivery status notifications the sender asked for (or gets by default). */
  async #notify(
    message: MessageRecord,
    body: readonly Buffer[],
    report: DeliveryReport,
    outcomes: readonly (readonly [RecipientResult, AttemptOutcome])[],
  ): Promise<void> {
    const reported = outcomes.flatMap(([result, outcome]) => {
      const event = noticeEventOf(outcome);
      const recipient = message.recipients.find((r) => r.address === result.address);
      if (event === null || recipient === undefined) return [];
      return noticeFor(message.sender, recipient, event) ? [{ recipient, event, outcome }] : [];
    });
    if (reported.length === 0) return;
    const notice = await buildDsn({
      hostname: this.#options.hostname,
      message,
      body,
      recipients: reported.map(({ recipient, event, outcome }) => ({
        recipient,
        action: event,
        reply: outcome.reply,
        ...(outcome.kind === 'expired' ? { status: EXPIRED_STATUS } : {}),
        // RFC 3464 §2.3.9: when the queue gives up on it.
        ...(event === 'delayed'
          ? { willRetryUntil: message.createdAt + this.#options.retry.lifetimeMs }
          : {}),
        ...(report.host === null ? {} : { remoteMta: report.host }),
        lastAttemptAt: this.#now(),
      })),
      now: this.#now(),
    });
    await this.#options.queue.enqueue({
      sender: notice.sender,
      recipients: [{ address: notice.recipient }],
      body: [notice.body],
      eightBit: notice.eightBit,
      origin: `dsn:${message.id}`,
    });
    this.#options.observer?.dsnQueued?.(notice.action);
  }

  #leaseMs(): number {
    return this.#options.leaseMs ?? DEFAULT_LEASE_MS;
  }

  #pollMs(): number {
    return this.#options.pollMs ?? DEFAULT_POLL_MS;
  }
}

/** What a notice says of an outcome: of a deferral, only when a delay notice goes with it. */
function noticeEventOf(outcome: AttemptOutcome): NoticeEvent | null {
  switch (outcome.kind) {
    case 'delivered':
      return 'delivered';
    case 'deferred':
      return outcome.delayNotified === true ? 'delayed' : null;
    case 'failed':
    case 'expired':
      return 'failed';
  }
}

/** Claims grouped by message and recipient domain: one SMTP transaction each. */
function groupsOf(claims: readonly Claim[], claimedAt: number): Group[] {
  const groups = new Map<string, Group>();
  for (const claim of claims) {
    const domain = claim.address.slice(claim.address.lastIndexOf('@') + 1).toLowerCase();
    const key = `${claim.messageId} ${domain}`;
    const group = groups.get(key);
    if (group === undefined) {
      groups.set(key, { messageId: claim.messageId, domain, claims: [claim], claimedAt });
    } else group.claims.push(claim);
  }
  return [...groups.values()];
}

/** Waits until every one of `calls` has settled, or `graceMs` has passed, whichever is first. */
export async function settleWithin(
  calls: Iterable<Promise<unknown>>,
  graceMs: number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled([...calls]),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    }),
  ]);
  clearTimeout(timer);
}
