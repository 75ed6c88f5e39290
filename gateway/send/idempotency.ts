// What makes a send idempotent: the client's key becomes the queue's once key (NewMessage.once,
// 24 h), kept with the fingerprint of the request it was first used with, in the same commit as
// the message. So the same key and request name the first message, and the key reused for another
// message gets 409, after a restart and on every node of a fleet alike.
import { createHash } from 'node:crypto';

/** How long a key holds: the queue's once-key ttl. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60_000;
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
