// The retry schedule: doubling from the first delay, capped, jittered downwards only, and
// never past the message's lifetime.
import { describe, expect, it } from 'vitest';
import { nextAttempt } from '../../../../gateway/outbound/retry-schedule.ts';

const MINUTE = 60_000;
const POSTFIX = { minMs: 5 * MINUTE, maxMs: 4_000_000, lifetimeMs: 5 * 24 * 60 * MINUTE };
const CREATED = Date.UTC(2026, 0, 1);
const noJitter = () => 0;

function delayAfter(attempts: number, random: () => number, now = CREATED): number {
  const next = nextAttempt(POSTFIX, attempts, CREATED, now, random);
  if (next.kind !== 'retry') throw new Error('expected a retry');
  return next.at - now;
}

describe('nextAttempt', () => {
  it('doubles from the first delay until the cap, then stays there', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 50, 10_000].map((n) => delayAfter(n, noJitter));
    expect(delays).toEqual([
      5 * MINUTE,
      10 * MINUTE,
      20 * MINUTE,
      40 * MINUTE,
      4_000_000,
      4_000_000,
      4_000_000,
      4_000_000,
      4_000_000,
    ]);
  });

  it('jitter shortens a delay by at most a fifth and never lengthens it', () => {
    expect(delayAfter(1, () => 0.5)).toBe(Math.round(5 * MINUTE * 0.9));
    expect(delayAfter(2, () => 0.999_999)).toBe(10 * MINUTE * 0.8);
    for (let i = 0; i < 200; i++) {
      const delay = delayAfter(6, Math.random);
      expect(delay).toBeGreaterThanOrEqual(4_000_000 * 0.8);
      expect(delay).toBeLessThanOrEqual(4_000_000);
    }
  });

  it('expires once the lifetime is over, and not a moment before', () => {
    const expiry = CREATED + POSTFIX.lifetimeMs;
    expect(nextAttempt(POSTFIX, 9, CREATED, expiry, noJitter)).toEqual({ kind: 'expired' });
    expect(nextAttempt(POSTFIX, 9, CREATED, expiry + 1, noJitter)).toEqual({ kind: 'expired' });
    expect(nextAttempt(POSTFIX, 9, CREATED, expiry - 1, noJitter)).toEqual({
      kind: 'retry',
      at: expiry,
    });
  });

  it('schedules the last retry at the expiry rather than past it', () => {
    const expiry = CREATED + POSTFIX.lifetimeMs;
    const now = expiry - 10 * MINUTE;
    expect(nextAttempt(POSTFIX, 40, CREATED, now, noJitter)).toEqual({ kind: 'retry', at: expiry });
  });

  it('refuses an attempt count below one', () => {
    expect(() => nextAttempt(POSTFIX, 0, CREATED, CREATED)).toThrow(RangeError);
    expect(() => nextAttempt(POSTFIX, 1.5, CREATED, CREATED)).toThrow(RangeError);
  });
});
