// The audit stream's switchboard: whether events are made, the subscribers they go to, and the
// ring of recent events a reconnecting subscriber is replayed from.
//
// An event of a type is made only while it is wanted: the switch is on (MXHOOK_AUDIT=on, or
// `PUT /v1/audit`), or a connected subscriber asked for that type. So with the switch off and
// nobody listening, the observer's calls cost a property read each and nothing is built; a
// subscriber turns its types on for as long as it stays connected (that is how `mxhook tail`
// works whatever the switch says). Switching off ends every open stream.
import type { ServerResponse } from 'node:http';
import { AUDIT_TYPES, type AuditFrame, type AuditType } from './audit-events.ts';
import { AuditSubscriber, type SubscriberStats } from './audit-subscriber.ts';
import { BoundedQueue } from './bounded-queue.ts';
import { sseFrame } from './sse-frame.ts';

/** Recent events kept for `Last-Event-ID`: a reconnect within a few seconds misses nothing. */
export const REPLAY_MAX_EVENTS = 2048;
export const REPLAY_MAX_BYTES = 1024 * 1024;
/** Streams open at once: each may hold a full backlog, so this bounds their memory in all. */
export const MAX_SUBSCRIBERS = 16;
const KEEPALIVE_MS = 15_000;

export interface AuditStatus {
  readonly enabled: boolean;
  /** Types being made now (the switch, or a subscriber wanting them). */
  readonly active: readonly AuditType[];
  /** The id of the last event made. */
  readonly lastEventId: string | null;
  /** Events made since start, and the bytes of their frames. */
  readonly made: { readonly events: number; readonly bytes: number };
  readonly subscribers: readonly SubscriberStats[];
}

export class AuditHub {
  /** Per type, whether its events are made now. Read by the observer on every call: keep it a plain object. */
  readonly wanted: Record<AuditType, boolean>;
  /**
   * This run's prefix of every event id (`<run>.<sequence>`): a `Last-Event-ID` from before a
   * restart names another run, whose sequence says nothing about this one's.
   */
  readonly #run = Date.now().toString(36);
  #sequence = 0;
  #madeBytes = 0;
  #enabled: boolean;
  readonly #subscribers = new Set<AuditSubscriber>();
  readonly #recent = new BoundedQueue<AuditFrame>(REPLAY_MAX_EVENTS, REPLAY_MAX_BYTES);
  #keepAlive: NodeJS.Timeout | null = null;

  constructor(enabled: boolean) {
    this.#enabled = enabled;
    this.wanted = Object.fromEntries(AUDIT_TYPES.map((type) => [type, enabled])) as Record<
      AuditType,
      boolean
    >;
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /** Sends an event to every subscriber that wants its type, and keeps it for replay. */
  publish(type: AuditType, data: object): void {
    const sequence = ++this.#sequence;
    const text = sseFrame(type, JSON.stringify(data), this.#idOf(sequence));
    const frame: AuditFrame = { type, sequence, text, bytes: Buffer.byteLength(text) };
    this.#madeBytes += frame.bytes;
    this.#recent.push(frame);
    for (const subscriber of this.#subscribers) subscriber.offer(frame);
  }

  /** Switches on or off; off ends every open stream with a `closed` event. */
  setEnabled(enabled: boolean): void {
    this.#enabled = enabled;
    if (!enabled) {
      for (const subscriber of [...this.#subscribers]) subscriber.close('switched-off');
      this.#subscribers.clear();
    }
    this.#recompute();
  }

  /**
   * Adds a subscriber on an open response (headers already sent), replaying what it missed after
   * `lastEventId`. The caller keeps them within MAX_SUBSCRIBERS.
   */
  subscribe(
    response: ServerResponse,
    types: ReadonlySet<AuditType>,
    lastEventId: string | null,
  ): AuditSubscriber {
    const subscriber = new AuditSubscriber(response, types);
    this.#replay(subscriber, lastEventId);
    this.#subscribers.add(subscriber);
    response.once('close', () => {
      subscriber.discard();
      this.#subscribers.delete(subscriber);
      this.#recompute();
    });
    this.#recompute();
    return subscriber;
  }

  status(): AuditStatus {
    return {
      enabled: this.#enabled,
      active: AUDIT_TYPES.filter((type) => this.wanted[type]),
      lastEventId: this.#sequence === 0 ? null : this.#idOf(this.#sequence),
      made: { events: this.#sequence, bytes: this.#madeBytes },
      subscribers: [...this.#subscribers].map((subscriber) => subscriber.stats()),
    };
  }

  /** Ends every stream (the admin listener is stopping). */
  close(): void {
    for (const subscriber of this.#subscribers) subscriber.close('gateway-stopping');
    this.#subscribers.clear();
    this.#recompute();
  }

  #idOf(sequence: number): string {
    return `${this.#run}.${sequence}`;
  }

  /**
   * Events after `lastEventId` still in the ring; after a restart (another run), all of them.
   * Events older than the ring are gone: the subscriber is told how many with `dropped`.
   */
  #replay(subscriber: AuditSubscriber, lastEventId: string | null): void {
    if (lastEventId === null) return;
    const dot = lastEventId.lastIndexOf('.');
    const sameRun = lastEventId.slice(0, dot) === this.#run;
    const seen = sameRun ? Number(lastEventId.slice(dot + 1)) : 0;
    if (!Number.isSafeInteger(seen) || seen < 0) return;
    // The first event still kept; with none kept, the next one to be made.
    const kept = this.#recent.peek()?.sequence ?? this.#sequence + 1;
    const missed = kept - seen - 1;
    if (sameRun && missed > 0) subscriber.missed(missed);
    for (const frame of this.#recent) if (frame.sequence > seen) subscriber.offer(frame);
  }

  #recompute(): void {
    for (const type of AUDIT_TYPES) {
      let wanted = this.#enabled;
      for (const subscriber of this.#subscribers) wanted ||= subscriber.types.has(type);
      this.wanted[type] = wanted;
    }
    // One timer for every stream, running only while there are some.
    if (this.#subscribers.size > 0 && this.#keepAlive === null) {
      this.#keepAlive = setInterval(() => {
        for (const subscriber of this.#subscribers) subscriber.keepAlive();
      }, KEEPALIVE_MS).unref();
    } else if (this.#subscribers.size === 0 && this.#keepAlive !== null) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = null;
    }
  }
}
