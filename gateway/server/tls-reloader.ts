// Re-reads the certificate files on request (SIGHUP) and when they change; bad new files leave the old ones in use.
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import { errorForLog } from './logger.ts';
import type { TlsPair } from './tls-store.ts';

export interface TlsReloaderOptions {
  /** Every certificate and key file; the directories holding them are watched. */
  readonly paths: readonly string[];
  /** Reads the files and checks them (each key matches its certificate); throws when they do not. */
  readonly read: () => readonly TlsPair[];
  /** Puts the pairs in use for new handshakes (`Gateway.setTls`); throws when one is unusable. */
  readonly apply: (pairs: readonly TlsPair[]) => void;
  /** What is in use now, so a change event that altered nothing reloads nothing. */
  readonly initial: readonly TlsPair[];
  readonly log: Logger;
  /**
   * Quiet time after the last change before reading. Renewal tools write the certificate and
   * the key one after the other; reading between the two would see a key that does not match.
   */
  readonly debounceMs?: number;
}

export type ReloadTrigger = 'signal' | 'file change';

const DEFAULT_DEBOUNCE_MS = 500;

/**
 * Watches the directories, not the files: certbot swaps symlinks, Kubernetes swaps a `..data`
 * symlink, editors and `mv` replace the file by rename; a watch on the old file would stay on
 * its old inode and miss all of these. Any event in a watched directory schedules a reload;
 * one that changed none of the bytes in use does nothing.
 */
export class TlsReloader {
  readonly #options: TlsReloaderOptions;
  readonly #watchers: FSWatcher[] = [];
  #current: readonly TlsPair[];
  #timer: NodeJS.Timeout | null = null;

  constructor(options: TlsReloaderOptions) {
    this.#options = options;
    this.#current = options.initial;
  }

  /** Starts watching; idempotent. A directory that cannot be watched is logged and skipped. */
  watch(): void {
    if (this.#watchers.length > 0) return;
    const directories = new Set(this.#options.paths.map((path) => dirname(path)));
    for (const directory of directories) {
      try {
        // Not persistent: watching alone must not keep the process alive after stop().
        const watcher = watch(directory, { persistent: false }, () => this.#schedule());
        watcher.on('error', (error) =>
          this.#options.log.warn(
            { directory, error: errorForLog(error) },
            'certificate watch failed',
          ),
        );
        this.#watchers.push(watcher);
      } catch (error) {
        this.#options.log.warn(
          { directory, error: errorForLog(error) },
          'cannot watch certificate directory; reload with SIGHUP',
        );
      }
    }
  }

  /**
   * Reads the files now and puts them in use. Returns false, logging why, when they are
   * unusable; the certificates in use stay. Open sessions are never touched.
   */
  reload(trigger: ReloadTrigger = 'signal'): boolean {
    const { log } = this.#options;
    let pairs: readonly TlsPair[];
    try {
      pairs = this.#options.read();
      if (trigger === 'file change' && samePairs(pairs, this.#current)) return true;
      this.#options.apply(pairs);
    } catch (error) {
      log.error(
        { trigger, error: errorForLog(error) },
        'certificate reload failed, keeping the certificates in use',
      );
      return false;
    }
    this.#current = pairs;
    const files = this.#options.paths.map((path) => basename(path));
    log.info({ trigger, certificates: pairs.length, files }, 'certificates reloaded');
    return true;
  }

  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    for (const watcher of this.#watchers.splice(0)) watcher.close();
  }

  #schedule(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.reload('file change');
    }, this.#options.debounceMs ?? DEFAULT_DEBOUNCE_MS);
    this.#timer.unref();
  }
}

function samePairs(a: readonly TlsPair[], b: readonly TlsPair[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (pair, index) => sameBytes(pair.cert, b[index]!.cert) && sameBytes(pair.key, b[index]!.key),
    )
  );
}

function sameBytes(a: string | Buffer, b: string | Buffer): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}
