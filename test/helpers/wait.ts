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

/**
 * Waiting for the nth item of a growing record (calls, requests): whoever records calls
 * `notify()`, and `nth()` resolves as soon as enough items are there, or fails after `timeoutMs`.
 */
export class Arrivals {
  readonly #watchers = new Set<() => boolean>();

  notify(): void {
    for (const check of [...this.#watchers]) check();
  }

  nth<T>(
    items: () => readonly T[],
    count: number,
    timeoutMs: number,
    missing: () => string,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const seen = items();
        if (seen.length < count) return false;
        this.#watchers.delete(check);
        clearTimeout(timer);
        resolve(seen[count - 1]!);
        return true;
      };
      const timer = setTimeout(() => {
        this.#watchers.delete(check);
        reject(new Error(`${missing()} within ${timeoutMs} ms`));
      }, timeoutMs);
      if (!check()) this.#watchers.add(check);
    });
  }
}
