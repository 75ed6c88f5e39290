// MemorySeenIdStore: refuses ids seen within their window, forgets them after, and stays bounded.
import { describe, expect, it } from 'vitest';
import { MxhookError } from '../../../../functions/sdk/errors.ts';
import { MemorySeenIdStore } from '../../../../functions/sdk/replay.ts';

function clock(start: number): { now: () => number; advance: (seconds: number) => void } {
  let current = start;
  return { now: () => current, advance: (seconds) => (current += seconds) };
}

describe('MemorySeenIdStore', () => {
  it('reports an id as new the first time and as seen the second time', async () => {
    const time = clock(1000);
    const store = new MemorySeenIdStore({ now: time.now });
    expect(await store.markSeen('a', 1300)).toBe(true);
    expect(await store.markSeen('a', 1300)).toBe(false);
    expect(await store.markSeen('b', 1300)).toBe(true);
  });

  it('forgets an id once it has expired', async () => {
    const time = clock(1000);
    const store = new MemorySeenIdStore({ now: time.now });
    await store.markSeen('a', 1300);
    time.advance(300);
    expect(await store.markSeen('a', 1600)).toBe(true);
  });

  it('drops expired ids as new ones arrive', async () => {
    const time = clock(1000);
    const store = new MemorySeenIdStore({ now: time.now });
    for (let index = 0; index < 50; index += 1) await store.markSeen(`old-${index}`, 1010);
    time.advance(20);
    await store.markSeen('new', 1330);
    expect(store.size).toBe(1);
  });

  it('never holds more than maxEntries ids, evicting the oldest first', async () => {
    const time = clock(1000);
    const store = new MemorySeenIdStore({ now: time.now, maxEntries: 3 });
    for (const id of ['a', 'b', 'c', 'd']) await store.markSeen(id, 2000);
    expect(store.size).toBe(3);
    expect(await store.markSeen('d', 2000)).toBe(false);
    expect(await store.markSeen('a', 2000)).toBe(true);
  });

  it.each([0, -1, 1.5, Number.NaN])(
    'refuses maxEntries %s with ERR_OPTION_INVALID',
    (maxEntries) => {
      expect(() => new MemorySeenIdStore({ maxEntries })).toThrow(MxhookError);
      expect(() => new MemorySeenIdStore({ maxEntries })).toThrow(/maxEntries/);
    },
  );

  it('uses the wall clock by default', async () => {
    const store = new MemorySeenIdStore();
    const nowSeconds = Date.now() / 1000;
    expect(await store.markSeen('a', nowSeconds - 1)).toBe(true);
    expect(await store.markSeen('a', nowSeconds + 60)).toBe(true);
    expect(await store.markSeen('a', nowSeconds + 60)).toBe(false);
  });
});
