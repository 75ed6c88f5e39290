// After a fault: no session, no held message byte, and (loosely) no memory left behind.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Gateway } from '../../../gateway/server/gateway.ts';
import { waitUntil } from '../wait.ts';

/** Waits until the gateway holds no session and no message byte. */
export async function expectNoLeaks(gateway: Gateway): Promise<void> {
  await waitUntil(() => gateway.sessionCount === 0, `sessionCount 0 (is ${gateway.sessionCount})`);
  await waitUntil(
    () => gateway.bytesInFlight === 0,
    `bytesInFlight 0 (is ${gateway.bytesInFlight})`,
  );
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
