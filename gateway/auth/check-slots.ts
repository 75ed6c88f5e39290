// A gateway-wide cap on password checks running at once: each scrypt check holds its whole cost in memory.
import { MxhookError } from '../errors.ts';

/**
 * Defaults: 2 checks at once (2 × 128 MiB at the default scrypt cost, half of the shipped
 * 512 MiB container limit) and 8 more waiting; at ~0.2 s a check, a waiter is answered within
 * about a second, far inside the function timeout.
 */
const PASSWORD_CHECKS_AT_ONCE = 2;
const PASSWORD_CHECKS_WAITING = 8;

export interface CheckSlotsOptions {
  readonly running?: number;
  readonly waiting?: number;
}

/**
 * Runs tasks at most `running` at a time, with at most `waiting` queued in arrival order. A task
 * that finds the queue full, or whose signal aborts while it waits, is refused at once with
 * ERR_AUTH_BUSY: a busy gateway answers a temporary failure instead of a hang.
 */
export class CheckSlots {
  readonly #maxRunning: number;
  readonly #maxWaiting: number;
  #running = 0;
  readonly #waiting = new Set<() => void>();

  constructor({
    running = PASSWORD_CHECKS_AT_ONCE,
    waiting = PASSWORD_CHECKS_WAITING,
  }: CheckSlotsOptions = {}) {
    if (!Number.isInteger(running) || running < 1)
      throw new RangeError(`running must be a whole number of at least 1, got ${running}`);
    if (!Number.isInteger(waiting) || waiting < 0)
      throw new RangeError(`waiting must be a whole number of at least 0, got ${waiting}`);
    this.#maxRunning = running;
    this.#maxWaiting = waiting;
  }

  /** Tasks running now. */
  get running(): number {
    return this.#running;
  }

  /**
   * Runs `task` in a slot once one is free.
   *
   * @throws MxhookError ERR_AUTH_BUSY when no slot can be had: the queue is full, or `signal`
   *   aborted (the function timeout, the session gone) before a slot came free.
   */
  async run<T>(task: () => Promise<T>, signal: AbortSignal): Promise<T> {
    await this.#acquire(signal);
    try {
      return await task();
    } finally {
      this.#release();
    }
  }

  #acquire(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(busy('the attempt was cancelled'));
    if (this.#running < this.#maxRunning) {
      this.#running += 1;
      return Promise.resolve();
    }
    if (this.#waiting.size >= this.#maxWaiting)
      return Promise.reject(busy('too many password checks at once'));
    return new Promise((resolve, reject) => {
      const granted = (): void => {
        signal.removeEventListener('abort', cancelled);
        resolve();
      };
      const cancelled = (): void => {
        this.#waiting.delete(granted);
        reject(busy('the attempt was cancelled while waiting for a password check'));
      };
      this.#waiting.add(granted);
      signal.addEventListener('abort', cancelled, { once: true });
    });
  }

  /** The slot passes straight to the longest waiter, if any. */
  #release(): void {
    const next = this.#waiting.values().next();
    if (next.done) {
      this.#running -= 1;
      return;
    }
    this.#waiting.delete(next.value);
    next.value();
  }
}

function busy(why: string): MxhookError {
  return new MxhookError('ERR_AUTH_BUSY', why);
}
