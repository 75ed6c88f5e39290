// Group commit: writes asked for while one is under way wait and go together in the next, so a
// burst of N outcomes costs a few commits rather than N. Each caller's promise settles with the
// write that carried its item.

interface Waiting<T> {
  readonly item: T;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class GroupedWrites<T> {
  readonly #write: (items: readonly T[]) => Promise<void> | void;
  #waiting: Waiting<T>[] = [];
  #running = false;

  /** `write` gets every item that arrived since the last one began, in the order they came. */
  constructor(write: (items: readonly T[]) => Promise<void> | void) {
    this.#write = write;
  }

  /** Settles once a write that carried `item` has finished (or failed). */
  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      if (this.#running) return;
      this.#running = true;
      // After the current turn of the event loop: what finishes in the same turn goes together.
      setImmediate(() => void this.#drain());
    });
  }

  async #drain(): Promise<void> {
    while (this.#waiting.length > 0) {
      const batch = this.#waiting;
      this.#waiting = [];
      try {
        await this.#write(batch.map((entry) => entry.item));
        for (const entry of batch) entry.resolve();
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    this.#running = false;
  }
}
