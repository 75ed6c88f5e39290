// The embedded queue's message bodies: one file per distinct body in a directory, named by the
// SHA-256 of its bytes, so every message (and every recipient) with the same bytes shares one copy.
//
// Crash safety: a body is written to a temporary file in the same directory, fsynced, renamed
// into place and the directory fsynced, so a file under its final name is always whole and
// durable. The state database (not this module) says which bodies are referenced; a body is
// removed only after the last reference is committed away, so a crash leaves at worst a stray
// unreferenced file, which `open` sweeps. A referenced file is never deleted.
import { randomBytes } from 'node:crypto';
import { readFile as readFileCallback, readFileSync } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sha256Of, sizeOf } from '../pieces.ts';

/** Files being written carry this prefix until renamed; a sweep at open removes those a crash left. */
export const TEMP_PREFIX = '.tmp-';

/** Whether the state database still holds a message with this body (synchronous: see `discard`). */
export type IsReferenced = (hash: string) => boolean;

/**
 * Bodies up to this size are read synchronously. A read handed to libuv's thread pool is four
 * hand-offs (open, fstat, read, close), each waking a pool thread and then the event loop; for a
 * 1 KiB body those cost more CPU than the read. Draining 2,000 queued 1 KiB messages, six rounds
 * taking turns: 0.39 CPU ms per message with pooled reads, 0.29 with synchronous ones, and 2,628
 * against 3,428 msg/s (medians). A synchronous read holds the event loop for as long as the disk
 * takes, as every node:sqlite statement of this queue on the same disk already does; a large body
 * would hold it for its whole size, so those still go to the pool.
 */
const SYNC_READ_MAX_BYTES = 64 * 1024;

export class Spool {
  readonly #dir: string;
  readonly #isReferenced: IsReferenced;
  /** Bodies being stored whose reference is not committed yet: never discarded meanwhile. */
  readonly #pins = new Map<string, number>();
  /** Bodies being removed: a store of the same bytes waits for the removal, then writes anew. */
  readonly #removing = new Map<string, Promise<void>>();
  /** One fsync of the directory covers every rename before it started. */
  readonly #directorySync: CoalescedSync;

  private constructor(dir: string, isReferenced: IsReferenced) {
    this.#dir = dir;
    this.#isReferenced = isReferenced;
    this.#directorySync = new CoalescedSync(() => syncDirectory(dir));
  }

  /**
   * Opens (creating) the directory and sweeps what a crash may have left: temporary files and
   * bodies no message references. Call it before anything is stored.
   */
  static async open(dir: string, isReferenced: IsReferenced): Promise<Spool> {
    await mkdir(dir, { recursive: true });
    // The directory's own entry must survive a crash too.
    await syncDirectory(dirname(dir));
    const spool = new Spool(dir, isReferenced);
    for (const name of await readdir(dir)) {
      if (name.startsWith(TEMP_PREFIX) || !isReferenced(name)) await removeFile(join(dir, name));
    }
    return spool;
  }

  /**
   * Stores the body durably and returns its hash, pinned: it will not be discarded until
   * `release(hash)`, which the caller says once the reference is committed (or abandoned).
   */
  async store(pieces: readonly Buffer[]): Promise<string> {
    const hash = sha256Of(pieces);
    // Pinned before the first await, so a concurrent removal of the last message with these
    // bytes cannot delete the file between here and our commit.
    this.#pins.set(hash, (this.#pins.get(hash) ?? 0) + 1);
    try {
      await this.#removing.get(hash);
      await this.#write(hash, sizeOf(pieces), pieces);
    } catch (error) {
      this.release(hash);
      throw error;
    }
    return hash;
  }

  /** Drops a pin taken by `store`; removes the body if nothing references it any more. */
  release(hash: string): void {
    const count = (this.#pins.get(hash) ?? 1) - 1;
    if (count > 0) this.#pins.set(hash, count);
    else this.#pins.delete(hash);
    this.discard(hash);
  }

  /**
   * Removes the body if no committed message references it and no store is pinning it. The check
   * is synchronous and the removal is registered before anything else runs, so a store of the
   * same bytes that starts meanwhile waits for the unlink and writes the file again, rather than
   * finding it and losing it to the unlink. (A synchronous unlink was 12 % of the event loop's
   * time while the outbound benchmark drained a queue.) Never throws: it runs after a commit,
   * whose result stands, and a body it failed to remove is a stray that the next `open` sweeps.
   */
  discard(hash: string): void {
    try {
      if (this.#pins.has(hash) || this.#removing.has(hash) || this.#isReferenced(hash)) return;
    } catch {
      return; // a database that failed: left for the sweep
    }
    const removal = unlink(join(this.#dir, hash))
      .catch(() => {
        // ENOENT (already gone) or a spool that failed: left for the sweep.
      })
      .finally(() => this.#removing.delete(hash));
    this.#removing.set(hash, removal);
  }

  /** Resolves once every removal `discard` started has finished. */
  async settled(): Promise<void> {
    await Promise.all(this.#removing.values());
  }

  /**
   * The body stored under `hash`, `sizeBytes` long. A large one with the callback `readFile`: the
   * promise one reads in steps of its own, and cost about five times the CPU for a 1 KiB body
   * (2,000 reads 20 at a time: 210–280 ms against 45–145 ms).
   */
  read(hash: string, sizeBytes: number): Promise<readonly Buffer[]> {
    const path = join(this.#dir, hash);
    if (sizeBytes <= SYNC_READ_MAX_BYTES) {
      try {
        return Promise.resolve([readFileSync(path)]);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return new Promise((resolve, reject) => {
      readFileCallback(path, (error, body) => {
        if (error === null) resolve([body]);
        else reject(error);
      });
    });
  }

  /** Whether a file can be created in the directory now (for /readyz). */
  async writable(): Promise<boolean> {
    const probe = join(this.#dir, `${TEMP_PREFIX}probe-${randomBytes(6).toString('hex')}`);
    try {
      await (await open(probe, 'wx')).close();
      await unlink(probe);
      return true;
    } catch {
      return false;
    }
  }

  async #write(hash: string, size: number, pieces: readonly Buffer[]): Promise<void> {
    const path = join(this.#dir, hash);
    // Same bytes already here: a file under its final name is whole and was fsynced before its
    // rename. Syncing the directory still covers a rename by a store that is still running.
    if (await hasSize(path, size)) return this.#directorySync.sync();
    const temp = join(this.#dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    try {
      await writeSynced(temp, pieces);
      await rename(temp, path);
    } catch (error) {
      await removeFile(temp);
      throw error;
    }
    await this.#directorySync.sync();
  }
}

/**
 * Runs `work` for every caller, but shares runs: a caller waits for a run that starts after it
 * asked (one already under way may have missed its rename), and every caller that asks while
 * that one waits shares it. Under load many renames then cost one directory fsync, not one each.
 */
export class CoalescedSync {
  readonly #work: () => Promise<void>;
  #running: Promise<void> | null = null;
  #next: Promise<void> | null = null;

  constructor(work: () => Promise<void>) {
    this.#work = work;
  }

  sync(): Promise<void> {
    if (this.#running === null) return this.#start();
    this.#next ??= this.#running.then(
      () => this.#start(),
      () => this.#start(),
    );
    return this.#next;
  }

  #start(): Promise<void> {
    this.#next = null;
    const run = this.#work().finally(() => {
      if (this.#running === run) this.#running = null;
    });
    this.#running = run;
    return run;
  }
}

/**
 * Writes a new file (never an existing one: `wx`), readable by the owner only, and fsyncs it. Its
 * name becomes durable only once its directory is synced (syncDirectory).
 */
export async function writeSynced(path: string, pieces: readonly Buffer[]): Promise<void> {
  const file = await open(path, 'wx', 0o600);
  try {
    await file.writeFile(pieces);
    await file.sync();
  } finally {
    await file.close();
  }
}

async function hasSize(path: string, size: number): Promise<boolean> {
  try {
    return (await stat(path)).size === size;
  } catch {
    return false;
  }
}

/** Removes a file; one already gone is not an error. */
export async function removeFile(path: string): Promise<void> {
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}

/** fsync on a directory makes the entries created or renamed in it durable (Linux, macOS). */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
