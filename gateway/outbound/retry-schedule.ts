// When a deferred recipient is tried next: capped exponential backoff with jitter, after
// Postfix's defaults (minimal_backoff_time 300 s, maximal_backoff_time 4000 s,
// maximal_queue_lifetime 5 d).
//
// The rule, exactly:
// - the nominal delay after the n-th attempt is min(maxMs, minMs · 2^(n−1)): 5, 10, 20, 40 min,
//   then 4000 s for good;
// - jitter shortens it by up to 20 % (delay · (1 − 0.2 · random())), never lengthens it, so retries
//   are never further apart than maxMs and never later than the nominal schedule; it spreads the
//   retries of a batch that failed together (a destination down) so they do not return together;
// - once now ≥ createdAt + lifetimeMs the recipient has expired;
// - a retry that would fall past the expiry is scheduled at the expiry itself: one last attempt
//   at the end of the lifetime, and then the next call says `expired`.

export interface RetrySettings {
  /** The first delay, ms (Postfix: 300 s). */
  readonly minMs: number;
  /** The longest delay, ms (Postfix: 4000 s). */
  readonly maxMs: number;
  /** How long after its arrival a message is given up on, ms (Postfix: 5 days). */
  readonly lifetimeMs: number;
}

export type NextAttempt =
  | { readonly kind: 'retry'; readonly at: number }
  | { readonly kind: 'expired' };

/** The largest share of a delay that jitter takes off. */
const JITTER = 0.2;

/**
 * @param attempts attempts made so far, at least 1.
 * @param random a number in [0, 1); Math.random when absent.
 */
export function nextAttempt(
  settings: RetrySettings,
  attempts: number,
  createdAt: number,
  now: number,
  random: () => number = Math.random,
): NextAttempt {
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new RangeError(`attempts must be an integer of at least 1, not ${attempts}`);
  }
  const expiresAt = createdAt + settings.lifetimeMs;
  if (now >= expiresAt) return { kind: 'expired' };
  // 2^(attempts−1) overflows to Infinity for a large count; min() still gives maxMs.
  const nominal = Math.min(settings.maxMs, settings.minMs * 2 ** (attempts - 1));
  const delay = nominal * (1 - JITTER * random());
  return { kind: 'retry', at: Math.min(expiresAt, Math.round(now + delay)) };
}
