// One client of the audit stream: an open `text/event-stream` response and a bounded backlog.
//
// The gateway must never wait for, nor hold memory for, a subscriber that reads slowly or not at
// all. Events go straight to the socket while it takes them; once `write` says its buffer is full
// (or the socket holds more than SOCKET_HIGH_WATER_BYTES unsent), they wait in a backlog bounded
// by count and bytes, whose oldest events are dropped to make room. When the socket drains, the
// subscriber first gets a `dropped` event with how many it lost, then the backlog.
import type { ServerResponse } from 'node:http';
import type { AuditFrame, AuditType, ControlType } from './audit-events.ts';
import { BoundedQueue } from './bounded-queue.ts';
import { SSE_KEEPALIVE, sseFrame } from './sse-frame.ts';

/** Events waiting for one subscriber, at most: about 4 s of a busy gateway's events. */
export const BACKLOG_MAX_EVENTS = 4096;
export const BACKLOG_MAX_BYTES = 1024 * 1024;
/** Unsent bytes in the socket past which nothing more is written to it until it drains. */
export const SOCKET_HIGH_WATER_BYTES = 64 * 1024;

/** Why the gateway ended a stream: `mxhook tail` stops for the first, reconnects after the second. */
export type CloseReason = 'switched-off' | 'gateway-stopping';

export interface SubscriberStats {
  readonly types: readonly AuditType[];
  readonly connectedAt: string;
  /** Events waiting in the backlog, and their bytes. */
  readonly backlogEvents: number;
  readonly backlogBytes: number;
  /** Bytes handed to the socket and not yet sent. */
  readonly socketBytes: number;
  /** Events this subscriber lost because it fell behind, in all. */
  readonly dropped: number;
}

export class AuditSubscriber {
  readonly types: ReadonlySet<AuditType>;
  readonly #response: ServerResponse;
  readonly #backlog = new BoundedQueue<AuditFrame>(BACKLOG_MAX_EVENTS, BACKLOG_MAX_BYTES);
  readonly #connectedAt = new Date();
  /** Dropped since the subscriber was last told. */
  #unreported = 0;
  #droppedTotal = 0;
  /** The socket is full: write nothing until 'drain'. */
  #waiting = false;
  #closed = false;

  constructor(response: ServerResponse, types: ReadonlySet<AuditType>) {
    this.#response = response;
    this.types = types;
    response.on('drain', () => {
      this.#waiting = false;
      this.#flush();
    });
  }

  /** Writes `frame` now if the socket takes it, else keeps it in the backlog (dropping the oldest). */
  offer(frame: AuditFrame): void {
    if (this.#closed || !this.types.has(frame.type)) return;
    if (this.#backlog.length === 0 && this.#writable()) {
      this.#write(frame.text);
      return;
    }
    const dropped = this.#backlog.push(frame);
    this.#unreported += dropped;
    this.#droppedTotal += dropped;
  }

  /** Events it asked to be replayed that are no longer kept: reported with `dropped` at once. */
  missed(count: number): void {
    this.#unreported += count;
    this.#droppedTotal += count;
    this.#flush();
  }

  /** A keep-alive comment, only when nothing is waiting (an event would do as well). */
  keepAlive(): void {
    if (!this.#closed && this.#backlog.length === 0 && this.#writable()) this.#write(SSE_KEEPALIVE);
  }

  /**
   * Ends the stream with a `closed` event saying why; a subscriber that is not reading is cut
   * off at once instead, since the event would wait behind what it has not read.
   */
  close(reason: CloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#backlog.clear();
    if (this.#writable()) this.#response.end(control('closed', { reason }));
    else this.#response.destroy();
  }

  /** Called once the response is gone (the client left, or `close`). */
  discard(): void {
    this.#closed = true;
    this.#backlog.clear();
  }

  stats(): SubscriberStats {
    return {
      types: [...this.types],
      connectedAt: this.#connectedAt.toISOString(),
      backlogEvents: this.#backlog.length,
      backlogBytes: this.#backlog.bytes,
      socketBytes: this.#response.socket?.writableLength ?? 0,
      dropped: this.#droppedTotal,
    };
  }

  #writable(): boolean {
    if (this.#waiting) return false;
    return (this.#response.socket?.writableLength ?? 0) <= SOCKET_HIGH_WATER_BYTES;
  }

  #write(text: string): void {
    if (!this.#response.write(text)) this.#waiting = true;
  }

  #flush(): void {
    if (this.#closed) return;
    if (this.#unreported > 0 && this.#writable()) {
      this.#write(control('dropped', { count: this.#unreported }));
      this.#unreported = 0;
    }
    while (this.#writable()) {
      const frame = this.#backlog.shift();
      if (frame === undefined) return;
      this.#write(frame.text);
    }
  }
}

function control(type: ControlType, data: object): string {
  return sseFrame(type, JSON.stringify({ type, time: new Date().toISOString(), ...data }));
}
