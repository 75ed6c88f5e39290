// Replay protection: remembers request ids until their timestamp leaves the tolerance window.
import { MxhookError } from './errors.ts';

/**
 * Where seen request ids are kept. Back it with whatever your platform shares between instances
 * (Workers KV or a Durable Object, Redis, a database); {@link MemorySeenIdStore} protects one
 * process only.
 *
 * @example
 * ```ts
 * const kvStore: SeenIdStore = {
 *   async markSeen(id, expiresAtSeconds) {
 *     if ((await env.SEEN.get(id)) !== null) return false;
 *     await env.SEEN.put(id, '1', { expiration: expiresAtSeconds });
 *     return true;
 *   },
 * };
 * ```
 */
export interface SeenIdStore {
  /**
   * Records `id` until `expiresAtSeconds` (unix seconds). Resolves `false` if it was already
   * recorded and has not expired (a replay), `true` otherwise.
   */
  markSeen(id: string, expiresAtSeconds: number): Promise<boolean>;
}

export interface MemorySeenIdStoreOptions {
  /** The most ids kept at once; when full, the oldest is forgotten first. Default 100 000. */
  readonly maxEntries?: number;
  /** The clock, in unix seconds; for tests. */
  readonly now?: () => number;
}

/**
 * A {@link SeenIdStore} in memory, for one process or one Worker isolate. Bounded: expired ids are
 * dropped as new ones arrive, and when `maxEntries` unexpired ids are held the oldest is evicted
 * (that id could then be replayed within its window, a trade-off against unbounded memory).
 *
 * @example
 * ```ts
 * const replay = new MemorySeenIdStore({ maxEntries: 10_000 });
 * await verify(request, secret, { replay });
 * ```
 */
export class MemorySeenIdStore implements SeenIdStore {
  // Insertion order is arrival order, which is close to expiry order, so expired ids gather at the front.
  readonly #expiries = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: MemorySeenIdStoreOptions = {}) {
    const maxEntries = options.maxEntries ?? 100_000;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new MxhookError('ERR_OPTION_INVALID', 'option "maxEntries" must be a positive integer');
    }
    this.#maxEntries = maxEntries;
    this.#now = options.now ?? (() => Date.now() / 1000);
  }

  /** How many ids are held right now. */
  get size(): number {
    return this.#expiries.size;
  }

  async markSeen(id: string, expiresAtSeconds: number): Promise<boolean> {
    const now = this.#now();
    const known = this.#expiries.get(id);
    if (known !== undefined && known > now) return false;
    this.#expiries.delete(id);
    this.#dropExpired(now);
    while (this.#expiries.size >= this.#maxEntries) {
      const oldest = this.#expiries.keys().next();
      if (oldest.done === true) break;
      this.#expiries.delete(oldest.value);
    }
    this.#expiries.set(id, expiresAtSeconds);
    return true;
  }

  // Amortised O(1): stops at the first live id instead of scanning the whole map on every call.
  #dropExpired(now: number): void {
    for (const [id, expiresAt] of this.#expiries) {
      if (expiresAt > now) return;
      this.#expiries.delete(id);
    }
  }
}
