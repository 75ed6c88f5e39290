// GroupedWrites: what arrives while a write runs goes in the next one, and each caller learns
// how the write that carried its item went.
import { describe, expect, it } from 'vitest';
import { GroupedWrites } from '../../../../gateway/outbound/grouped-writes.ts';

/** A write that holds until the test lets it finish, recording each batch it got. */
function heldWrites() {
  const batches: number[][] = [];
  const finish: ((error?: Error) => void)[] = [];
  const writes = new GroupedWrites<number>(
    (items) =>
      new Promise<void>((resolve, reject) => {
        batches.push([...items]);
        finish.push((error) => (error === undefined ? resolve() : reject(error)));
      }),
  );
  return { writes, batches, finish };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupedWrites', () => {
  it('writes what arrived in one turn together, and what arrived meanwhile in the next write', async () => {
    const { writes, batches, finish } = heldWrites();
    const first = [writes.add(1), writes.add(2), writes.add(3)];
    await turn();
    expect(batches).toEqual([[1, 2, 3]]);
    const second = [writes.add(4), writes.add(5)];
    await turn();
    // Not before the first write is done.
    expect(batches).toHaveLength(1);
    finish[0]!();
    await Promise.all(first);
    await turn();
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    finish[1]!();
    await Promise.all(second);
  });

  it('fails only the callers whose write failed, and goes on writing', async () => {
    const { writes, batches, finish } = heldWrites();
    const failed = writes.add(1);
    await turn();
    const later = writes.add(2);
    finish[0]!(new Error('connection lost'));
    await expect(failed).rejects.toThrow('connection lost');
    await turn();
    expect(batches).toEqual([[1], [2]]);
    finish[1]!();
    await expect(later).resolves.toBeUndefined();
  });

  it('starts a new write for what comes after it went idle', async () => {
    const { writes, batches, finish } = heldWrites();
    const one = writes.add(1);
    await turn();
    finish[0]!();
    await one;
    await turn();
    const two = writes.add(2);
    await turn();
    expect(batches).toEqual([[1], [2]]);
    finish[1]!();
    await two;
  });

  it('takes a synchronous write, and a synchronous throw fails its batch', async () => {
    const seen: number[][] = [];
    const writes = new GroupedWrites<number>((items) => {
      seen.push([...items]);
      if (items.includes(13)) throw new Error('refused');
    });
    await expect(Promise.all([writes.add(1), writes.add(2)])).resolves.toEqual([
      undefined,
      undefined,
    ]);
    await expect(writes.add(13)).rejects.toThrow('refused');
    expect(seen).toEqual([[1, 2], [13]]);
  });
});
