// Retention (MXHOOK_RETENTION_DAYS): removes archived messages older than the retention, a bounded
// number per run, so a backlog (retention just lowered, a gateway that was down) is worked off in
// short runs that never stall the gateway, one right after another until it is gone.
import type { Logger } from 'pino';
import type { Archive } from './archive.ts';

/** Entries removed in one run at most. */
export const SWEEP_LIMIT = 1000;
/** Runs this often while nothing is left over. */
const SWEEP_INTERVAL_MS = 10 * 60 * 1000;
/** The pause before the next run when the last one stopped at its limit. */
const BACKLOG_PAUSE_MS = 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export class Sweeper {
  readonly #archive: Archive;
  readonly #retentionDays: number;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;

  constructor(archive: Archive, retentionDays: number, log: Logger) {
    this.#archive = archive;
    this.#retentionDays = retentionDays;
    this.#log = log;
  }

  /** Starts sweeping: a first run now, then periodically. */
  start(): void {
    this.#schedule(0);
  }

  /** One run: removes what is older than the retention, at most SWEEP_LIMIT entries. */
  async runOnce(now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - this.#retentionDays * DAY_MS);
    const removed = await this.#archive.sweep(cutoff, SWEEP_LIMIT);
    if (removed > 0) this.#log.info({ removed, cutoff }, 'archive retention sweep');
    return removed;
  }

  /** Stops scheduling and waits for a run under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.runOnce().then(
        (removed) => this.#schedule(removed >= SWEEP_LIMIT ? BACKLOG_PAUSE_MS : SWEEP_INTERVAL_MS),
        (error: unknown) => {
          this.#log.warn({ err: error }, 'archive retention sweep failed');
          this.#schedule(SWEEP_INTERVAL_MS);
        },
      );
    }, delayMs).unref();
  }
}
