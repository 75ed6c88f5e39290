// After a fault: no session, no held message byte, and (loosely) no memory left behind.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Gateway } from '../../../gateway/server/gateway.ts';
import { waitUntil } from '../wait.ts';

/** Waits until the gateway holds no session and no message byte. */
export async function expectNoLeaks(gateway: Gateway): Promise<void> {
  await waitUntil(() => gateway.sessionCount === 0, 'sessionCount to return to 0');
  await waitUntil(() => gateway.bytesInFlight === 0, 'bytesInFlight to return to 0');
}

/**
 * What keeps this process alive, by kind — sockets, servers, timers, child processes — as Node
 * lists them (`process.getActiveResourcesInfo`; unref'd ones, such as idle pooled connections to
 * the function, are not listed).
 */
export function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo().sort())
    counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/**
 * Waits until the process holds no more of any kind of resource than `before`: no socket or
 * timer left behind (fewer is fine: a start-up timer may have run out meanwhile).
 */
export async function expectResourcesBack(before: Record<string, number>): Promise<void> {
  const added = (): string[] =>
    Object.entries(activeResources())
      .filter(([kind, count]) => count > (before[kind] ?? 0))
      .map(([kind, count]) => `${kind} ${before[kind] ?? 0} → ${count}`);
  try {
    await waitUntil(() => added().length === 0, 'resources to be released');
  } catch {
    throw new Error(`resources left behind: ${added().join(', ')}`);
  }
}

/**
 * A full garbage collection, when one can be had: vitest does not start its workers with
 * --expose-gc, so the flag is turned on late (V8 allows it; `gc` then exists in new contexts).
 * Returns false when that did not work; memory figures are then only a loose upper bound.
 */
export function collectGarbage(): boolean {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (() => void) | undefined;
    if (typeof gc !== 'function') return false;
    gc();
    gc();
    return true;
  } catch {
    return false;
  }
}

export interface MemorySample {
  readonly rssBytes: number;
  /** JS heap in use plus Buffers (ArrayBuffers): what a leak of messages would grow. */
  readonly heldBytes: number;
}

/** Memory of this process after a garbage collection, if one could be made. */
export async function memorySample(): Promise<MemorySample> {
  // Let closed sockets and aborted calls finish their callbacks before collecting.
  await new Promise((resolve) => setTimeout(resolve, 50));
  collectGarbage();
  const usage = process.memoryUsage();
  return { rssBytes: usage.rss, heldBytes: usage.heapUsed + usage.arrayBuffers };
}
