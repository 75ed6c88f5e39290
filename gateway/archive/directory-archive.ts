// The embedded archive: files in a directory, one directory per UTC day.
//
//   <dir>/20261206/<id>            the message, exactly as the function got it
//   <dir>/20261206/<id>.<hash>     a hard link to it per recipient, named by recipientHash()
//
// One copy of the bytes however many recipients (links cost a directory entry each), and, as in
// gopherpost, each recipient's mail can be found by the hash of their address without any address
// in a file name. Writes are crash-safe with the outbound spool's pieces: a temporary file written
// and fsynced, linked under its names, the day's directory fsynced (coalesced across concurrent
// writes), so a name that exists after a crash names a whole message. Retention removes whole day
// directories, oldest first, so a sweep never reads a message it keeps.

import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, rmdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  CoalescedSync,
  removeFile,
  syncDirectory,
  TEMP_PREFIX,
  writeSynced,
} from '../outbound/spool.ts';
import { sha256Of, sizeOf } from '../pieces.ts';
import {
  type Archive,
  type ArchivedMessage,
  dayOf,
  keyOf,
  parseKey,
  recipientHashes,
} from './archive.ts';
import type { RawUrlSigner } from './raw-url.ts';

const DAY_DIRECTORY = /^\d{8}$/;

export class DirectoryArchive implements Archive {
  readonly #dir: string;
  readonly #urls: RawUrlSigner;
  /** One coalesced fsync per day directory. */
  readonly #syncs = new Map<string, CoalescedSync>();

  private constructor(dir: string, urls: RawUrlSigner) {
    this.#dir = dir;
    this.#urls = urls;
  }

  /** Opens (creating) the directory and removes the temporary files a crash left. */
  static async open(dir: string, urls: RawUrlSigner): Promise<DirectoryArchive> {
    await mkdir(dir, { recursive: true });
    for (const day of await readdir(dir, { withFileTypes: true })) {
      if (!day.isDirectory() || !DAY_DIRECTORY.test(day.name)) continue;
      for (const name of await readdir(join(dir, day.name))) {
        if (name.startsWith(TEMP_PREFIX)) await removeFile(join(dir, day.name, name));
      }
    }
    return new DirectoryArchive(dir, urls);
  }

  async put(
    id: string,
    recipients: readonly string[],
    pieces: readonly Buffer[],
    receivedAt: Date,
  ): Promise<ArchivedMessage> {
    const key = keyOf(id, receivedAt);
    const day = dayOf(receivedAt);
    const dayDir = await this.#dayDirectory(day);
    const temp = join(dayDir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    try {
      await writeSynced(temp, pieces);
      for (const hash of recipientHashes(recipients))
        await link(temp, join(dayDir, `${id}.${hash}`));
      await link(temp, join(dayDir, id));
    } finally {
      await removeFile(temp);
    }
    await this.#syncOf(day).sync();
    return { key, sizeBytes: sizeOf(pieces), sha256: sha256Of(pieces) };
  }

  async get(key: string): Promise<{ sizeBytes: number; stream: Readable } | null> {
    const path = this.#pathOf(key);
    if (path === null) return null;
    // Opened first, so the size and the stream are of one file even if it is removed meanwhile.
    const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (handle === null) return null;
    const { size } = await handle.stat();
    return { sizeBytes: size, stream: handle.createReadStream() };
  }

  async remove(key: string, recipients: readonly string[]): Promise<void> {
    const parsed = parseKey(key);
    if (parsed === null) return;
    const dayDir = join(this.#dir, parsed.day);
    for (const hash of recipientHashes(recipients))
      await removeFile(join(dayDir, `${parsed.id}.${hash}`));
    await removeFile(join(dayDir, parsed.id));
    await this.#syncOf(parsed.day).sync();
  }

  async sweep(cutoff: Date, limit: number): Promise<number> {
    const before = dayOf(cutoff);
    const days = (await readdir(this.#dir)).filter(
      (day) => DAY_DIRECTORY.test(day) && day < before,
    );
    let removed = 0;
    for (const day of days.sort()) {
      const dayDir = join(this.#dir, day);
      const names = await readdir(dayDir);
      for (const name of names.slice(0, limit - removed)) {
        await removeFile(join(dayDir, name));
        removed++;
      }
      if (removed >= limit) return removed;
      await rmdir(dayDir).catch(() => {});
      this.#syncs.delete(day);
    }
    return removed;
  }

  async referenceUrl(key: string, expires: Date): Promise<string> {
    return this.#urls.url(key, expires);
  }

  /** Whether a file can be created where a message received now would go. */
  async writable(): Promise<boolean> {
    try {
      const dayDir = await this.#dayDirectory(dayOf(new Date()));
      const probe = join(dayDir, `${TEMP_PREFIX}probe-${randomBytes(6).toString('hex')}`);
      await (await open(probe, 'wx')).close();
      await unlink(probe);
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {}

  #pathOf(key: string): string | null {
    const parsed = parseKey(key);
    return parsed === null ? null : join(this.#dir, parsed.day, parsed.id);
  }

  async #dayDirectory(day: string): Promise<string> {
    const dayDir = join(this.#dir, day);
    const exists = await stat(dayDir).then(
      () => true,
      () => false,
    );
    if (!exists) {
      await mkdir(dayDir, { recursive: true });
      // The new directory's own entry must survive a crash too.
      await syncDirectory(this.#dir);
    }
    return dayDir;
  }

  #syncOf(day: string): CoalescedSync {
    let sync = this.#syncs.get(day);
    if (sync === undefined) {
      sync = new CoalescedSync(() => syncDirectory(join(this.#dir, day)));
      this.#syncs.set(day, sync);
    }
    return sync;
  }
}
