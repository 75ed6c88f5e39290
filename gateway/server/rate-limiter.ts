// Connections per minute per client address: a token bucket per address, in bounded memory.

const WINDOW_MS = 60_000;
/** ~100 bytes each: at most about 10 MB, even under a flood of distinct source addresses. */
const DEFAULT_MAX_ADDRESSES = 100_000;

interface Bucket {
  /** When the bucket is full again: each connection pushes it `interval` further (GCRA). */
  readonly fullAtMs: number;
  /** When the address was last seen; the map is kept in this order. */
  readonly seenMs: number;
}

/**
 * Each address may open `perMinute` connections at once, then one more every `60 / perMinute`
 * seconds: a token bucket of `perMinute` tokens refilled over a minute, kept the way the generic
 * cell rate algorithm (ITU-T I.371) keeps it, as one timestamp per address: when its bucket is
 * full again. A refused attempt changes nothing, so neither hammering nor rounding errors piling
 * up can earn or lose a token. The clock is passed in (`performance.now()` in the gateway), so
 * tests need no timers.
 *
 * Memory stays bounded two ways. Buckets are kept in the order their addresses were last seen;
 * a bucket untouched for a whole minute is full again, the same as no bucket, so it is dropped
 * from the front as time passes. And past `maxAddresses` the least recently seen address is
 * forgotten: under a flood of distinct addresses, those that stopped connecting longest ago
 * lose their history first.
 */
export class RateLimiter {
  readonly #intervalMs: number;
  readonly #maxAddresses: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(perMinute: number, maxAddresses = DEFAULT_MAX_ADDRESSES) {
    if (!Number.isFinite(perMinute) || perMinute <= 0) {
      throw new RangeError(`perMinute must be a positive number, got ${perMinute}`);
    }
    if (!Number.isInteger(maxAddresses) || maxAddresses < 1) {
      throw new RangeError(`maxAddresses must be a positive whole number, got ${maxAddresses}`);
    }
    this.#intervalMs = WINDOW_MS / perMinute;
    this.#maxAddresses = maxAddresses;
  }

  /** Addresses with a bucket right now. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Counts one connection from `address` at `nowMs`; false when it is over the rate. */
  take(address: string, nowMs: number): boolean {
    this.#forgetIdle(nowMs);
    const bucket = this.#buckets.get(address);
    const fullAtMs = Math.max(bucket?.fullAtMs ?? nowMs, nowMs);
    // Room for one more while the bucket holds at least one token: it is full again within
    // the window less one interval.
    const allowed = fullAtMs - nowMs <= WINDOW_MS - this.#intervalMs;
    this.#buckets.delete(address); // re-inserted at the most recently seen end
    this.#buckets.set(address, {
      fullAtMs: allowed ? fullAtMs + this.#intervalMs : fullAtMs,
      seenMs: nowMs,
    });
    if (this.#buckets.size > this.#maxAddresses) {
      const oldest = this.#buckets.keys().next();
      if (!oldest.done) this.#buckets.delete(oldest.value);
    }
    return allowed;
  }

  /** A bucket is full a window after its address was last seen at the latest. */
  #forgetIdle(nowMs: number): void {
    for (const [address, bucket] of this.#buckets) {
      if (nowMs - bucket.seenMs < WINDOW_MS) return;
      this.#buckets.delete(address);
    }
  }
}
