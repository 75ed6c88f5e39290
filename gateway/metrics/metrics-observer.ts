// Counts what the gateway reports into plain number slots; the registry reads them when scraped.
//
// The observer runs on the hot path (once per reply, per socket read), so it only indexes fixed
// label tables and adds: no label objects, no label hashing, no strings built per call. prom-client
// does that work once per scrape instead, in each metric's `collect` (see create-metrics.ts).
// The one exception is function call latency: prom-client offers no way to load a histogram's
// buckets, so each call is observed into it directly, through children bound to their labels
// once. That happens once per function call, an HTTP round trip that dwarfs it.
import type { Authentication, AuthenticationResult, Step } from '../../functions/sdk/wire.ts';
import type { DeliveryReason } from '../outbound/delivery-reason.ts';
import type { DsnAction } from '../outbound/dsn.ts';
import type { AttemptOutcome, QueueStats } from '../outbound/queue.ts';
import type { GatewayObserver, RefusalReason, ReplyStep } from '../server/observer.ts';
import type { StepOutcome } from '../smtp/decision.ts';
import type { Reply } from '../smtp/reply.ts';
import type { TransactionOutcome } from '../smtp/session-state.ts';
import {
  AUTHENTICATION_RESULT_INDEX,
  AUTHENTICATION_RESULTS,
  CODE_CLASSES,
  DELIVERY_ATTEMPT_INDEX,
  DELIVERY_ATTEMPTS,
  DSN_ACTION_INDEX,
  DSN_ACTIONS,
  REJECTION_REASON_INDEX,
  REJECTION_REASONS,
  REPLY_REASON_INDEX,
  REPLY_STEP_INDEX,
  REPLY_STEPS,
  STEP_INDEX,
  STEP_OUTCOME_INDEX,
  TRANSACTION_OUTCOME_INDEX,
  TRANSACTION_OUTCOMES,
  VERDICT_CHECK_INDEX,
  VERDICT_CHECKS,
} from './labels.ts';

/** Receives one function call's latency, by label indexes into STEPS and STEP_OUTCOMES. */
export type CallLatencySink = (step: number, outcome: number, seconds: number) => void;

export class MetricsObserver implements GatewayObserver {
  /** By TRANSACTION_OUTCOMES index. */
  readonly transactions = new Float64Array(TRANSACTION_OUTCOMES.length);
  /** By `REPLY_STEPS index * CODE_CLASSES.length + class index` (2xx = 0 … 5xx = 3). */
  readonly replies = new Float64Array(REPLY_STEPS.length * CODE_CLASSES.length);
  /** By REJECTION_REASONS index. */
  readonly rejections = new Float64Array(REJECTION_REASONS.length);
  /** Successful, then failed handshakes. */
  readonly tlsHandshakes = new Float64Array(2);
  /** By `VERDICT_CHECKS index * AUTHENTICATION_RESULTS.length + result index`. */
  readonly verdicts = new Float64Array(VERDICT_CHECKS.length * AUTHENTICATION_RESULTS.length);
  /** Recipients' delivery attempts, by DELIVERY_ATTEMPTS (outcome and reason) index. */
  readonly deliveryAttempts = new Float64Array(DELIVERY_ATTEMPTS.length);
  /** Notices queued, by DSN_ACTIONS index. */
  readonly dsnsQueued = new Float64Array(DSN_ACTIONS.length);
  /** The outbound queue whose depth a scrape reads; null when there is none (or it is closing). */
  queue: { stats(now: number): Promise<QueueStats> } | null = null;
  /** Called when the first queue is attached: createMetrics adds the queue's families then. */
  onFirstQueue: (() => void) | null = null;
  readonly #callLatency: CallLatencySink;
  #sessionsOpen = 0;
  #sessionsTotal = 0;
  #bytesReceived = 0;

  constructor(callLatency: CallLatencySink) {
    this.#callLatency = callLatency;
  }

  get sessionsOpen(): number {
    return this.#sessionsOpen;
  }

  get sessionsTotal(): number {
    return this.#sessionsTotal;
  }

  get receivedBytes(): number {
    return this.#bytesReceived;
  }

  sessionOpened(): void {
    this.#sessionsOpen++;
    this.#sessionsTotal++;
  }

  sessionClosed(): void {
    this.#sessionsOpen--;
  }

  reply(step: ReplyStep, reply: Reply): void {
    const codeClass = ((reply.code / 100) | 0) - 2;
    const stepIndex = REPLY_STEP_INDEX.get(step);
    if (stepIndex !== undefined && codeClass >= 0 && codeClass < CODE_CLASSES.length)
      this.replies[stepIndex * CODE_CLASSES.length + codeClass]! += 1;
    const reason = REPLY_REASON_INDEX.get(reply);
    if (reason !== undefined) this.rejections[reason]! += 1;
  }

  hookCall(step: Step, outcome: StepOutcome, durationMs: number): void {
    const stepIndex = STEP_INDEX.get(step);
    const outcomeIndex = STEP_OUTCOME_INDEX.get(outcome);
    if (stepIndex === undefined || outcomeIndex === undefined) return;
    this.#callLatency(stepIndex, outcomeIndex, durationMs / 1000);
  }

  transactionEnded(outcome: TransactionOutcome): void {
    const index = TRANSACTION_OUTCOME_INDEX.get(outcome);
    if (index !== undefined) this.transactions[index]! += 1;
  }

  bytesReceived(count: number): void {
    this.#bytesReceived += count;
  }

  tlsHandshake(ok: boolean): void {
    this.tlsHandshakes[ok ? 0 : 1]! += 1;
  }

  refused(reason: RefusalReason): void {
    const index = REJECTION_REASON_INDEX.get(reason);
    if (index !== undefined) this.rejections[index]! += 1;
  }

  authenticated({ rdns, spf, dkim, dmarc, arc }: Authentication): void {
    this.#verdict('rdns', rdns?.result);
    this.#verdict('spf', spf?.result);
    // One per signature; an unsigned message counts as DKIM `none`, as its header row says.
    if (dkim !== undefined) {
      if (dkim.length === 0) this.#verdict('dkim', 'none');
      for (const signature of dkim) this.#verdict('dkim', signature.result);
    }
    this.#verdict('dmarc', dmarc?.result);
    this.#verdict('arc', arc?.result);
  }

  deliveryAttempt(outcome: AttemptOutcome['kind'], reason: DeliveryReason): void {
    const index = DELIVERY_ATTEMPT_INDEX.get(outcome)?.get(reason);
    if (index !== undefined) this.deliveryAttempts[index]! += 1;
  }

  dsnQueued(action: DsnAction): void {
    const index = DSN_ACTION_INDEX.get(action);
    if (index !== undefined) this.dsnsQueued[index]! += 1;
  }

  queueAttached(queue: { stats(now: number): Promise<QueueStats> } | null): void {
    this.queue = queue;
    const first = this.onFirstQueue;
    if (queue === null || first === null) return;
    this.onFirstQueue = null;
    first();
  }

  #verdict(check: (typeof VERDICT_CHECKS)[number], result: AuthenticationResult | undefined): void {
    if (result === undefined) return;
    const checkIndex = VERDICT_CHECK_INDEX.get(check);
    const resultIndex = AUTHENTICATION_RESULT_INDEX.get(result);
    if (checkIndex === undefined || resultIndex === undefined) return;
    this.verdicts[checkIndex * AUTHENTICATION_RESULTS.length + resultIndex]! += 1;
  }
}
