// Bounded waiting for tests: one generous default, and polling for state that has no event.

/** How long a helper waits for something that should happen promptly; generous for loaded machines. */
export const WAIT_MS = 15_000;

/** Polls `condition` every few milliseconds until it holds; fails after `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean,
  what: string,
  timeoutMs = WAIT_MS,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
