// Inbox message ids: they sort newest first, so listing KV keys (ascending) lists the inbox in order.

/** The largest millisecond timestamp an id can count down from (year 2286). */
const LATEST_MS = 9_999_999_999_999;
const MESSAGE_ID = /^\d{13}-[0-9a-f]{12}$/;

/**
 * A new id: 13 digits counting down from {@link LATEST_MS}, then 48 random bits so two
 * messages in the same millisecond never collide.
 *
 * @example
 * ```ts
 * newMessageId(Date.parse('2026-01-01T00:00:00Z')); // '8232774399999-3f9c0a17b2e4'
 * ```
 */
export function newMessageId(nowMs: number = Date.now()): string {
  const random = crypto.getRandomValues(new Uint8Array(6));
  const suffix = [...random].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${String(LATEST_MS - Math.floor(nowMs)).padStart(13, '0')}-${suffix}`;
}

/** Whether `value` has the shape of an id; routes check this before touching storage. */
export function isMessageId(value: string): boolean {
  return MESSAGE_ID.test(value);
}
