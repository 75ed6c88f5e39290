// The outbound queue with its changes reported to the gateway's observer (the audit stream's
// `queue` events). Wrapped once where the queue is opened (outbound.ts), so every way of filling
// it — relay, delivery notices, an API, forwarding — is reported without knowing about it.
import type { GatewayObserver } from '../server/observer.ts';
import type {
  AttemptOutcome,
  Claim,
  MessageRecord,
  MessageWithBody,
  NewMessage,
  OutboundQueue,
  QueueStats,
} from './queue.ts';

export type QueueObserver = Pick<
  GatewayObserver,
  'queueEnqueued' | 'queueRecorded' | 'queueRetried' | 'queueRemoved'
>;

export class ObservedQueue implements OutboundQueue {
  readonly #queue: OutboundQueue;
  readonly #observer: QueueObserver;

  constructor(queue: OutboundQueue, observer: QueueObserver) {
    this.#queue = queue;
    this.#observer = observer;
  }

  async enqueue(message: NewMessage): Promise<string> {
    const id = await this.#queue.enqueue(message);
    this.#observer.queueEnqueued?.(id, message);
    return id;
  }

  async record(
    owner: string,
    messageId: string,
    address: string,
    outcome: AttemptOutcome,
  ): Promise<void> {
    await this.#queue.record(owner, messageId, address, outcome);
    this.#observer.queueRecorded?.(messageId, address, outcome);
  }

  async retryNow(messageId: string, now: number): Promise<boolean> {
    const found = await this.#queue.retryNow(messageId, now);
    if (found) this.#observer.queueRetried?.(messageId);
    return found;
  }

  async remove(messageId: string): Promise<boolean> {
    const found = await this.#queue.remove(messageId);
    if (found) this.#observer.queueRemoved?.(messageId);
    return found;
  }

  // The rest changes nothing worth an event, and is passed on as it is.

  claim(owner: string, limit: number, now: number, leaseMs: number): Promise<readonly Claim[]> {
    return this.#queue.claim(owner, limit, now, leaseMs);
  }

  release(owner: string, claims: readonly Claim[]): Promise<void> {
    return this.#queue.release(owner, claims);
  }

  message(messageId: string): Promise<MessageRecord | null> {
    return this.#queue.message(messageId);
  }

  messagesWithBodies(messageIds: readonly string[]): Promise<ReadonlyMap<string, MessageWithBody>> {
    return this.#queue.messagesWithBodies(messageIds);
  }

  list(limit: number): Promise<readonly MessageRecord[]> {
    return this.#queue.list(limit);
  }

  stats(now: number): Promise<QueueStats> {
    return this.#queue.stats(now);
  }

  onWork(listener: () => void): () => void {
    return this.#queue.onWork(listener);
  }

  writable(): Promise<boolean> {
    return this.#queue.writable();
  }

  close(): Promise<void> {
    return this.#queue.close();
  }
}
