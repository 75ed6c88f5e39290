// When the client must have sent its next command (or message) by: a deadline, not an inactivity timeout.
// A trickled byte resets a socket's inactivity timeout, so a slowloris could hold a session forever.

export class ClientDeadline {
  readonly #onExpired: () => void;
  /** In performance.now() ms; Infinity while nothing is due from the client. */
  #atMs = Number.POSITIVE_INFINITY;
  #timer: NodeJS.Timeout | null = null;
  #timerDueMs = 0;

  constructor(onExpired: () => void) {
    this.#onExpired = onExpired;
  }

  /** Nothing is due from the client (a handler is deciding, or the session is over). */
  clear(): void {
    this.#atMs = Number.POSITIVE_INFINITY;
  }

  /** The client has `fromNowMs` from now. */
  set(fromNowMs: number): void {
    const at = performance.now() + fromNowMs;
    this.#atMs = at;
    // A timer due before the new deadline is kept: it re-arms itself when it fires. So the
    // deadline moves with every command without a timer being made for each.
    if (this.#timer === null || this.#timerDueMs > at) this.#arm(at);
  }

  /** Moves the deadline later by `ms` (a message earns time with every byte it delivers). */
  extend(ms: number): void {
    this.#atMs += ms;
  }

  dispose(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#atMs = Number.POSITIVE_INFINITY;
  }

  #arm(at: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timerDueMs = at;
    this.#timer = setTimeout(() => this.#fire(), Math.max(1, at - performance.now()));
  }

  #fire(): void {
    this.#timer = null;
    const at = this.#atMs;
    if (at === Number.POSITIVE_INFINITY) return;
    if (performance.now() < at) this.#arm(at);
    else this.#onExpired();
  }
}
