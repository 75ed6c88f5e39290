// Idle SMTP sessions kept per destination (MX host and address), under a cap on connections open
// to each: the next group to the same address skips connecting, EHLO and STARTTLS, and no MX
// address gets more than perDestinationConcurrency of our connections at once. A session is reused
// only for a delivery whose TLS requirement it meets (`fits`): a session in clear or with an
// unverified certificate never carries mail for a domain that requires verified TLS.
import type { TlsDetails } from './delivery.ts';
import type { SmtpClient } from './smtp-client.ts';

/** How long a connection waits for the next group to the same address before it is closed. */
const IDLE_MS = 5_000;
/** How long QUIT may take on close before the connection is cut. */
export const QUIT_MS = 1_000;

/** An SMTP session past EHLO (and STARTTLS, when offered), ready for a transaction. */
export interface Session {
  readonly key: string;
  readonly connection: SmtpClient;
  readonly tls: TlsDetails | null;
  idleTimer?: NodeJS.Timeout;
}

/** A caller waiting for a slot, and what session it can use. */
interface Waiter {
  readonly fits: (session: Session) => boolean;
  readonly resolve: (session: Session | null) => void;
}

/**
 * Sessions by destination (MX host and address), at most `limit` open to each, busy or idle. An
 * idle session is kept IDLE_MS for the next group to the same destination.
 */
export class SessionPool {
  readonly #limit: number;
  readonly #destinations = new Map<string, { open: number; idle: Session[]; waiters: Waiter[] }>();
  #closed = false;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`perDestinationConcurrency must be a whole number over 0, not ${limit}`);
    }
    this.#limit = limit;
  }

  /**
   * An idle session that `fits`, or null: the caller may open one. Waits while `key` is at its
   * limit; at the limit with idle sessions that do not fit, one is closed to make way.
   */
  acquire(key: string, fits: (session: Session) => boolean = () => true): Promise<Session | null> {
    let destination = this.#destinations.get(key);
    if (destination === undefined) {
      destination = { open: 0, idle: [], waiters: [] };
      this.#destinations.set(key, destination);
    }
    const index = destination.idle.findLastIndex(fits);
    const idle = index < 0 ? undefined : destination.idle.splice(index, 1)[0];
    if (idle !== undefined) {
      clearTimeout(idle.idleTimer);
      return Promise.resolve(idle);
    }
    if (destination.open < this.#limit) {
      destination.open++;
      return Promise.resolve(null);
    }
    // Its slot passes to the caller: `open` stays as it is.
    const unfit = destination.idle.shift();
    if (unfit !== undefined) {
      clearTimeout(unfit.idleTimer);
      void unfit.connection.quit(QUIT_MS);
      return Promise.resolve(null);
    }
    const queue = destination.waiters;
    return new Promise((resolve) => queue.push({ fits, resolve }));
  }

  /** Gives the slot back, with the session to keep if it is still open. */
  release(key: string, session: Session | null): void {
    const destination = this.#destinations.get(key);
    if (destination === undefined) return;
    const usable = session !== null && !session.connection.destroyed && !this.#closed;
    if (!usable) session?.connection.close();
    const waiter = destination.waiters.shift();
    if (waiter !== undefined) {
      // A session the waiter cannot use is closed; the waiter gets its slot to open its own.
      const handed = usable && waiter.fits(session) ? session : null;
      if (usable && handed === null) void session.connection.quit(QUIT_MS);
      waiter.resolve(handed);
    } else if (usable) {
      session.idleTimer = setTimeout(() => this.#expire(key, session), IDLE_MS).unref();
      destination.idle.push(session);
    } else this.#forget(key);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const idle: Session[] = [];
    for (const destination of this.#destinations.values()) {
      idle.push(...destination.idle.splice(0));
      // Nothing will be kept now: a waiter opens its own session and closes it after.
      for (const waiter of destination.waiters.splice(0)) waiter.resolve(null);
    }
    for (const session of idle) clearTimeout(session.idleTimer);
    await Promise.all(idle.map((session) => session.connection.quit(QUIT_MS)));
  }

  #expire(key: string, session: Session): void {
    const destination = this.#destinations.get(key);
    const index = destination?.idle.indexOf(session) ?? -1;
    if (index < 0) return;
    destination?.idle.splice(index, 1);
    void session.connection.quit(QUIT_MS);
    this.#forget(key);
  }

  #forget(key: string): void {
    const destination = this.#destinations.get(key);
    if (destination === undefined) return;
    destination.open--;
    if (destination.open === 0) this.#destinations.delete(key);
  }
}
