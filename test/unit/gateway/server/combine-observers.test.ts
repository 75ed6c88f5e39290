// Several observers as the one the gateway takes: each call reaches every observer that has the
// method, classes' methods included, with `this` intact.
import { describe, expect, it } from 'vitest';
import { combineObservers } from '../../../../gateway/server/combine-observers.ts';
import type { GatewayObserver } from '../../../../gateway/server/observer.ts';

class Counter implements GatewayObserver {
  opened = 0;
  sessionOpened(): void {
    this.opened += 1;
  }
}

describe('combineObservers', () => {
  it('is the observer itself when there is one, and an empty one when there is none', () => {
    const only = new Counter();
    expect(combineObservers(undefined, only)).toBe(only);
    expect(combineObservers()).toEqual({});
  });

  it("calls each observer's own method, with its arguments, in order", () => {
    const calls: string[] = [];
    const counter = new Counter();
    const plain: GatewayObserver = {
      sessionOpened: () => calls.push('plain opened'),
      refused: (reason) => calls.push(`refused ${reason}`),
    };
    const combined = combineObservers(counter, plain);
    combined.sessionOpened?.();
    combined.sessionOpened?.();
    combined.refused?.('timeout');
    expect(counter.opened).toBe(2);
    expect(calls).toEqual(['plain opened', 'plain opened', 'refused timeout']);
    expect(combined.reply).toBeUndefined();
  });
});
