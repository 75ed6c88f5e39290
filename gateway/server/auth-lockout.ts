// Counts failed and undecided AUTH attempts per client address, so password guessing from one address is cut off.
import { clientKeyOf } from '../net/cidr.ts';

/** Defaults: 10 failures within 15 minutes lock an address out until the window passes. */
const AUTH_LOCKOUT_FAILURES = 10;
const AUTH_LOCKOUT_WINDOW_MS = 15 * 60_000;
// Beyond this many addresses the oldest are forgotten, so an attacker cannot exhaust memory.
const MAX_ADDRESSES = 100_000;

export class AuthLockout {
  readonly #failures = new Map<string, { count: number; firstAt: number }>();
  /**
   * Attempts begun and not yet decided, per key. They count like failures: otherwise many
   * attempts sent at once would all pass the check before the first failure is recorded. At most
   * one per open session, so this is bounded by the connection limit.
   */
  readonly #inFlight = new Map<string, number>();
  readonly #maxFailures: number;
  readonly #windowMs: number;

  constructor(maxFailures = AUTH_LOCKOUT_FAILURES, windowMs = AUTH_LOCKOUT_WINDOW_MS) {
    this.#maxFailures = maxFailures;
    this.#windowMs = windowMs;
  }

  /** Failures count per IPv4 address and per IPv6 /64 (net/cidr.ts clientKeyOf says why). */
  isLockedOut(address: string, now: number): boolean {
    const key = clientKeyOf(address);
    const failures = this.#current(key, now)?.count ?? 0;
    return failures + (this.#inFlight.get(key) ?? 0) >= this.#maxFailures;
  }

  /**
   * An attempt from `address` goes to the password check: it counts against the lockout until
   * the returned function settles it (call that once it is decided, whatever the outcome, then
   * `record` the verdict if there is one).
   */
  begin(address: string): () => void {
    const key = clientKeyOf(address);
    this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1);
    let settled = false;
    return () => {
      if (settled) return;
      settled = true;
      const left = (this.#inFlight.get(key) ?? 1) - 1;
      if (left > 0) this.#inFlight.set(key, left);
      else this.#inFlight.delete(key);
    };
  }

  /** A success clears the address; a failure counts towards the lockout. */
  record(address: string, ok: boolean, now: number): void {
    const key = clientKeyOf(address);
    if (ok) {
      this.#failures.delete(key);
      return;
    }
    const entry = this.#current(key, now);
    if (entry !== undefined) {
      entry.count += 1;
      return;
    }
    if (this.#failures.size >= MAX_ADDRESSES) {
      const oldest = this.#failures.keys().next().value;
      if (oldest !== undefined) this.#failures.delete(oldest);
    }
    this.#failures.set(key, { count: 1, firstAt: now });
  }

  #current(key: string, now: number): { count: number; firstAt: number } | undefined {
    const entry = this.#failures.get(key);
    if (entry !== undefined && now - entry.firstAt >= this.#windowMs) {
      this.#failures.delete(key);
      return undefined;
    }
    return entry;
  }
}
