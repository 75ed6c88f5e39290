// The bounded queue behind each subscriber's backlog and the replay ring: oldest out first, and
// never more than its count or its bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../../../../gateway/audit/bounded-queue.ts';

interface Entry {
  readonly n: number;
  readonly bytes: number;
}

const entry = (n: number, bytes = 10): Entry => ({ n, bytes });
const numbers = (queue: BoundedQueue<Entry>): number[] => [...queue].map((e) => e.n);

describe('BoundedQueue', () => {
  it('gives entries back oldest first', () => {
    const queue = new BoundedQueue<Entry>(4, 1000);
    for (const n of [1, 2, 3]) expect(queue.push(entry(n))).toBe(0);
    expect(queue.shift()?.n).toBe(1);
    expect(queue.peek()?.n).toBe(2);
    expect(numbers(queue)).toEqual([2, 3]);
    expect(queue.length).toBe(2);
    expect(queue.bytes).toBe(20);
  });

  it('drops the oldest entries past its count and says how many', () => {
    const queue = new BoundedQueue<Entry>(3, 1000);
    for (const n of [1, 2, 3]) queue.push(entry(n));
    expect(queue.push(entry(4))).toBe(1);
    expect(numbers(queue)).toEqual([2, 3, 4]);
  });

  it('drops as many of the oldest as the bytes of a new entry need', () => {
    const queue = new BoundedQueue<Entry>(10, 100);
    for (const n of [1, 2, 3, 4]) queue.push(entry(n, 25));
    expect(queue.push(entry(5, 60))).toBe(3);
    expect(numbers(queue)).toEqual([4, 5]);
    expect(queue.bytes).toBe(85);
  });

  it('drops an entry larger than the byte bound itself, keeping the others', () => {
    const queue = new BoundedQueue<Entry>(10, 100);
    queue.push(entry(1));
    expect(queue.push(entry(2, 101))).toBe(1);
    expect(numbers(queue)).toEqual([1]);
  });

  it('wraps around its slots without losing order', () => {
    const queue = new BoundedQueue<Entry>(3, 1000);
    for (let n = 1; n <= 10; n++) {
      queue.push(entry(n));
      if (n % 2 === 0) queue.shift();
    }
    expect(numbers(queue)).toEqual([9, 10]);
    queue.clear();
    expect(queue.length).toBe(0);
    expect(queue.bytes).toBe(0);
    expect(queue.shift()).toBeUndefined();
  });

  it('refuses bounds that could hold nothing', () => {
    expect(() => new BoundedQueue(0, 10)).toThrow(RangeError);
    expect(() => new BoundedQueue(1, 0)).toThrow(RangeError);
  });

  it('keeps within both bounds, keeps the newest, and accounts for every entry', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 120 }), fc.constant(-1)), { maxLength: 60 }),
        (maxCount, maxBytes, steps) => {
          const queue = new BoundedQueue<Entry>(maxCount, maxBytes);
          let pushed = 0;
          let dropped = 0;
          let shifted = 0;
          let last: number | null = null;
          steps.forEach((bytes, n) => {
            if (bytes === -1) {
              if (queue.shift() !== undefined) shifted++;
              return;
            }
            pushed++;
            dropped += queue.push(entry(n, bytes));
            if (bytes <= maxBytes) last = n;
          });
          expect(queue.length).toBeLessThanOrEqual(maxCount);
          expect(queue.bytes).toBeLessThanOrEqual(maxBytes);
          expect(pushed).toBe(dropped + shifted + queue.length);
          const held = numbers(queue);
          expect(held).toEqual([...held].sort((a, b) => a - b));
          if (last !== null && queue.length > 0) expect(held.at(-1)).toBeLessThanOrEqual(last);
        },
      ),
    );
  });
});
