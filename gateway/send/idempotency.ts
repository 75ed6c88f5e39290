// What makes a send idempotent beyond the queue's own once-key: the fingerprint of the request a
// key was first used with, so a key reused for another message gets 409 instead of the first id.
//
// The queue keeps the key itself durably (NewMessage.once, 24 h): after a restart or on another
// node of a fleet, a reused key still never queues a second message; only the 409 needs this
// process to have seen the first request (it then answers the first message's id).
import { createHash } from 'node:crypto';

/** How long a key holds: the queue's once-key ttl, and the fingerprints' here. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60_000;
/** Fingerprints kept at most; the oldest goes first. 100 000 × ~150 bytes ≈ 15 MB. */
const MAX_KEYS = 100_000;
/** draft-ietf-httpapi-idempotency-key-header leaves the format open; this keeps keys sane. */
const KEY = /^[\x21-\x7e]{1,255}$/;

export function isValidKey(key: string): boolean {
  return KEY.test(key);
}

/** The request's fingerprint: SHA-256 over its validated form, hex. */
export function fingerprintOf(validated: unknown): string {
  // Bytes (attachments, raw) stand in as their own hash: JSON would spell each byte out. The
  // holder's member is looked at, as Buffer's toJSON runs before a replacer sees the value.
  const text = JSON.stringify(
    validated,
    function bytesAsHash(this: Record<string, unknown>, key, value) {
      const original = this[key];
      return Buffer.isBuffer(original) ? sha256(original) : value;
    },
  );
  return sha256(Buffer.from(text, 'utf8'));
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class RecentKeys {
  readonly #entries = new Map<
    string,
    { readonly fingerprint: string; readonly expiresAt: number }
  >();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Remembers the key's fingerprint; false when the key is live with another one (a conflict). */
  claim(key: string, fingerprint: string): boolean {
    const now = this.#now();
    const entry = this.#entries.get(key);
    if (entry !== undefined && entry.expiresAt > now) return entry.fingerprint === fingerprint;
    this.#entries.delete(key);
    this.#entries.set(key, { fingerprint, expiresAt: now + IDEMPOTENCY_TTL_MS });
    // Insertion order is expiry order: the oldest are at the front.
    for (const [oldKey, old] of this.#entries) {
      if (this.#entries.size <= MAX_KEYS && old.expiresAt > now) break;
      this.#entries.delete(oldKey);
    }
    return true;
  }
}
