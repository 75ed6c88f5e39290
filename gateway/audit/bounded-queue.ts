// A first-in first-out queue bounded by count and by bytes that makes room by dropping its oldest
// entries: a slow audit subscriber's backlog, and the ring of recent events kept for replay.

/** What the queue holds: anything that knows its size. */
export interface Sized {
  readonly bytes: number;
}

export class BoundedQueue<T extends Sized> {
  readonly #maxCount: number;
  readonly #maxBytes: number;
  /** A ring: `#count` entries from `#head`, wrapping around; no array shifts per entry. */
  readonly #slots: (T | undefined)[];
  #head = 0;
  #count = 0;
  #bytes = 0;

  constructor(maxCount: number, maxBytes: number) {
    if (!(Number.isSafeInteger(maxCount) && maxCount >= 1 && maxBytes >= 1))
      throw new RangeError('a bounded queue holds at least one entry of at least one byte');
    this.#maxCount = maxCount;
    this.#maxBytes = maxBytes;
    this.#slots = new Array(maxCount);
  }

  get length(): number {
    return this.#count;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Adds `entry` at the end, dropping from the front until both bounds hold; returns how many
   * entries were dropped. An entry larger than `maxBytes` alone is dropped itself (counted).
   */
  push(entry: T): number {
    if (entry.bytes > this.#maxBytes) return 1;
    let dropped = 0;
    while (this.#count === this.#maxCount || this.#bytes + entry.bytes > this.#maxBytes) {
      this.shift();
      dropped++;
    }
    this.#slots[(this.#head + this.#count) % this.#maxCount] = entry;
    this.#count++;
    this.#bytes += entry.bytes;
    return dropped;
  }

  /** The oldest entry, removed; undefined when empty. */
  shift(): T | undefined {
    if (this.#count === 0) return undefined;
    const entry = this.#slots[this.#head]!;
    this.#slots[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#maxCount;
    this.#count--;
    this.#bytes -= entry.bytes;
    return entry;
  }

  /** The oldest entry, left in place. */
  peek(): T | undefined {
    return this.#count === 0 ? undefined : this.#slots[this.#head];
  }

  /** Oldest first. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#count; i++) yield this.#slots[(this.#head + i) % this.#maxCount]!;
  }

  clear(): void {
    this.#slots.fill(undefined);
    this.#head = 0;
    this.#count = 0;
    this.#bytes = 0;
  }
}
