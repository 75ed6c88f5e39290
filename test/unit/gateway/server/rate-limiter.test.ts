// RateLimiter: a token bucket per address, refilled over a minute, in bounded memory.
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../../gateway/server/rate-limiter.ts';

/** How many of `count` connections at `atMs` the limiter lets through. */
function allowed(limiter: RateLimiter, address: string, count: number, atMs: number): number {
  let n = 0;
  for (let i = 0; i < count; i++) if (limiter.take(address, atMs)) n++;
  return n;
}

describe('RateLimiter', () => {
  it('allows a burst of perMinute connections, then refuses', () => {
    const limiter = new RateLimiter(3);
    expect(allowed(limiter, '192.0.2.1', 5, 0)).toBe(3);
  });

  it('refills one connection every 60 / perMinute seconds', () => {
    const limiter = new RateLimiter(6); // one every 10 s
    expect(allowed(limiter, '192.0.2.1', 6, 0)).toBe(6);
    expect(limiter.take('192.0.2.1', 9_999)).toBe(false);
    expect(limiter.take('192.0.2.1', 10_000)).toBe(true);
    expect(limiter.take('192.0.2.1', 10_001)).toBe(false);
    expect(allowed(limiter, '192.0.2.1', 10, 40_001)).toBe(3);
  });

  it('never refills past a full bucket', () => {
    const limiter = new RateLimiter(2);
    limiter.take('192.0.2.1', 0);
    expect(allowed(limiter, '192.0.2.1', 5, 10 * 60_000)).toBe(2);
  });

  it('counts each address separately', () => {
    const limiter = new RateLimiter(1);
    expect(limiter.take('192.0.2.1', 0)).toBe(true);
    expect(limiter.take('192.0.2.2', 0)).toBe(true);
    expect(limiter.take('192.0.2.1', 0)).toBe(false);
  });

  it('does not let refused attempts earn tokens faster', () => {
    const limiter = new RateLimiter(60); // one per second
    expect(allowed(limiter, '192.0.2.1', 60, 0)).toBe(60);
    for (let t = 100; t < 1_000; t += 100) expect(limiter.take('192.0.2.1', t)).toBe(false);
    expect(limiter.take('192.0.2.1', 1_000)).toBe(true);
  });

  it('forgets an address once its bucket has been full for a minute', () => {
    const limiter = new RateLimiter(10);
    limiter.take('192.0.2.1', 0);
    limiter.take('192.0.2.2', 30_000);
    expect(limiter.size).toBe(2);
    limiter.take('192.0.2.3', 60_000);
    expect(limiter.size).toBe(2); // 192.0.2.1 is gone, .2 is not a minute old
    limiter.take('192.0.2.3', 200_000);
    expect(limiter.size).toBe(1);
  });

  it('stays within maxAddresses under a flood of addresses, forgetting the longest idle', () => {
    const limiter = new RateLimiter(1, 100);
    for (let i = 0; i < 10_000; i++) limiter.take(`10.0.${i >> 8}.${i & 255}`, i);
    expect(limiter.size).toBe(100);
    // The most recent ones are still limited.
    expect(limiter.take('10.0.39.15', 10_000)).toBe(false);
  });

  it('refuses nonsense limits', () => {
    expect(() => new RateLimiter(0)).toThrow(RangeError);
    expect(() => new RateLimiter(Number.NaN)).toThrow(RangeError);
    expect(() => new RateLimiter(1, 0)).toThrow(RangeError);
  });
});
