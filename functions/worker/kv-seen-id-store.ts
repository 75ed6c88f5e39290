// Replay protection backed by Workers KV: a request id is remembered until its signature expires.
import type { KVNamespace } from '@cloudflare/workers-types';
import type { SeenIdStore } from '../sdk/index.ts';

/** KV refuses an `expiration` less than 60 seconds ahead. */
const KV_MIN_TTL_SECONDS = 60;
/** KV keys are at most 512 bytes; longer ids are stored by their SHA-256. */
const KV_MAX_KEY_BYTES = 512;

/**
 * A {@link SeenIdStore} in a KV namespace, shared by every isolate and location of the Worker.
 *
 * Best effort, by the nature of KV: a read then a write is not atomic, and a write takes up to a
 * minute to reach other locations. So a replay that lands within that minute, elsewhere, may
 * pass; one an hour later is refused by the timestamp check anyway. For strict once-only
 * processing, keep ids in a Durable Object instead. Each call costs one KV read and one write.
 *
 * @example
 * ```ts
 * mxhook(handlers, { keys, replay: (c) => new KvSeenIdStore(c.env.SEEN) });
 * ```
 */
export class KvSeenIdStore implements SeenIdStore {
  readonly #kv: KVNamespace;
  readonly #now: () => number;

  constructor(kv: KVNamespace, options: { readonly now?: () => number } = {}) {
    if (typeof kv?.get !== 'function' || typeof kv.put !== 'function') {
      throw new TypeError(
        'KvSeenIdStore needs a KV namespace binding (is SEEN bound in wrangler.toml?)',
      );
    }
    this.#kv = kv;
    this.#now = options.now ?? (() => Date.now() / 1000);
  }

  async markSeen(id: string, expiresAtSeconds: number): Promise<boolean> {
    const key = await keyFor(id);
    if ((await this.#kv.get(key)) !== null) return false;
    const expiration = Math.max(
      Math.ceil(expiresAtSeconds),
      Math.ceil(this.#now()) + KV_MIN_TTL_SECONDS,
    );
    await this.#kv.put(key, '1', { expiration });
    return true;
  }
}

async function keyFor(id: string): Promise<string> {
  const key = `seen:${id}`;
  if (new TextEncoder().encode(key).byteLength <= KV_MAX_KEY_BYTES) return key;
  const digest = new Uint8Array(
    await crypto.subtle.digest('SHA-256', new TextEncoder().encode(id)),
  );
  return `seen:sha256:${[...digest].map((byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}
