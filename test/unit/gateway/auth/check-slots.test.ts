// CheckSlots: a few tasks at a time, a bounded queue in arrival order, and refusal instead of a hang.
import { describe, expect, it } from 'vitest';
import { CheckSlots } from '../../../../gateway/auth/check-slots.ts';

const never = new AbortController().signal;

/** A task that runs until the test lets it finish. */
function held(): { task: () => Promise<void>; finish: () => void } {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return { task: () => done, finish: () => finish() };
}

describe('CheckSlots', () => {
  it('runs at most `running` tasks at once and hands slots to waiters in arrival order', async () => {
    const slots = new CheckSlots({ running: 1, waiting: 2 });
    const first = held();
    const order: string[] = [];
    const running = slots.run(first.task, never);
    const second = slots.run(async () => void order.push('second'), never);
    const third = slots.run(async () => void order.push('third'), never);
    expect(slots.running).toBe(1);
    expect(order).toEqual([]);
    first.finish();
    await Promise.all([running, second, third]);
    expect(order).toEqual(['second', 'third']);
    expect(slots.running).toBe(0);
  });

  it('refuses with ERR_AUTH_BUSY when the queue is full, or when the signal aborts while waiting', async () => {
    const slots = new CheckSlots({ running: 1, waiting: 1 });
    const first = held();
    const running = slots.run(first.task, never);
    const controller = new AbortController();
    const waiting = slots.run(async () => 'ran', controller.signal);
    await expect(slots.run(async () => 'ran', never)).rejects.toMatchObject({
      code: 'ERR_AUTH_BUSY',
    });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_AUTH_BUSY' });
    // The cancelled waiter gave its place back: the queue takes one again.
    const next = slots.run(async () => 'ran', never);
    first.finish();
    await running;
    await expect(next).resolves.toBe('ran');
  });

  it('refuses impossible sizes at construction', () => {
    expect(() => new CheckSlots({ running: 0 })).toThrow(RangeError);
    expect(() => new CheckSlots({ waiting: -1 })).toThrow(RangeError);
  });
});
