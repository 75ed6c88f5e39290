// TlsReloader: reload on request or on a change in the watched directory, debounced; bad files keep the old.
// The watching is real (fs.watch on a temporary directory); the debounce runs on fake timers.
import { readFileSync, watch } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TlsReloader } from '../../../../gateway/server/tls-reloader.ts';
import type { TlsPair } from '../../../../gateway/server/tls-store.ts';

let dir: string;
let reloader: TlsReloader | null = null;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mxhook-reloader-'));
});

afterEach(async () => {
  reloader?.close();
  reloader = null;
  vi.useRealTimers();
  await rm(dir, { recursive: true, force: true });
});

/** Fakes the timers the debounce uses, and only those: fs.watch and setImmediate stay real. */
const fakeDebounceTimers = (): void =>
  void vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });

let sentinels = 0;

/**
 * Resolves once every change made so far in the test directory has reached the watchers of that
 * directory. inotify (Linux) reports a directory's events in order, and libuv hands each event to every
 * watcher of the directory in the same pass of the event loop; so once a watcher of our own has
 * seen a sentinel file written last, and that pass has ended, the reloader has seen every event
 * before it (and scheduled its reload, if it is still watching).
 */
async function changesDelivered(): Promise<void> {
  const name = `sentinel-${++sentinels}`;
  const seen = new Promise<void>((resolve) => {
    const watcher = watch(dir, { persistent: false }, (_event, file) => {
      if (file !== name) return;
      watcher.close();
      resolve();
    });
  });
  await writeFile(join(dir, name), '');
  await seen;
  await new Promise((resolve) => setImmediate(resolve));
}

/** A reloader over `cert.pem` in the test directory whose "read" is the file's text. */
function setUp(options: { apply?: (pairs: readonly TlsPair[]) => void; debounceMs?: number }) {
  const lines: { level: number; msg: string; error?: { code: string; message: string } }[] = [];
  const log = pino(
    { level: 'debug' },
    { write: (line: string) => void lines.push(JSON.parse(line)) },
  );
  const applied: string[] = [];
  const path = join(dir, 'cert.pem');
  const read = (): TlsPair[] => {
    const text = readFileSync(path, 'utf8');
    if (text.startsWith('bad'))
      throw new Error(`MXHOOK_TLS_CERT: ${path} is not a PEM certificate`);
    return [{ cert: text, key: 'key' }];
  };
  reloader = new TlsReloader({
    paths: [path, join(dir, 'key.pem')],
    read,
    apply: (pairs) => {
      options.apply?.(pairs);
      applied.push(String(pairs[0]!.cert));
    },
    initial: [{ cert: 'one', key: 'key' }],
    log,
    debounceMs: options.debounceMs ?? 50,
  });
  return { reloader, applied, lines, path };
}

describe('TlsReloader', () => {
  it('applies what it reads on request, and logs it', async () => {
    const { reloader, applied, lines, path } = setUp({});
    await writeFile(path, 'two');
    expect(reloader.reload()).toBe(true);
    expect(applied).toEqual(['two']);
    expect(lines.at(-1)).toMatchObject({ level: 30, msg: 'certificates reloaded' });
  });

  it('keeps the certificates in use and logs an error when reading or applying fails', async () => {
    const apply = (pairs: readonly TlsPair[]): void => {
      if (pairs[0]!.cert === 'unusable') throw new Error('key values mismatch');
    };
    const { reloader, applied, lines, path } = setUp({ apply });
    await writeFile(path, 'bad');
    expect(reloader.reload()).toBe(false);
    await writeFile(path, 'unusable');
    expect(reloader.reload()).toBe(false);
    expect(applied).toEqual([]);
    expect(lines.map((line) => [line.level, line.msg, line.error])).toEqual([
      [
        50,
        'certificate reload failed, keeping the certificates in use',
        { code: 'Error', message: expect.stringContaining('is not a PEM certificate') },
      ],
      [
        50,
        'certificate reload failed, keeping the certificates in use',
        { code: 'Error', message: 'key values mismatch' },
      ],
    ]);
  });

  it('reloads once after a burst of changes in the directory', async () => {
    fakeDebounceTimers();
    const { reloader, applied, path } = setUp({ debounceMs: 100 });
    reloader.watch();
    await writeFile(path, 'two');
    await writeFile(join(dir, 'key.pem'), 'key');
    await writeFile(path, 'three');
    await changesDelivered();
    await vi.advanceTimersByTimeAsync(100);
    expect(applied.length).toBeGreaterThan(0);
    await vi.advanceTimersByTimeAsync(300);
    expect(applied).toEqual(['three']);
  });

  it('ignores a change event that changed nothing it uses', async () => {
    fakeDebounceTimers();
    const { reloader, applied, path } = setUp({});
    await writeFile(path, 'one');
    reloader.watch();
    await writeFile(join(dir, 'unrelated.txt'), 'x');
    await changesDelivered();
    await vi.advanceTimersByTimeAsync(300);
    expect(applied).toEqual([]);
    await writeFile(path, 'two');
    await changesDelivered();
    await vi.advanceTimersByTimeAsync(300);
    expect(applied).toHaveLength(1);
  });

  it('stops watching on close', async () => {
    fakeDebounceTimers();
    const { reloader, applied, path } = setUp({});
    reloader.watch();
    reloader.close();
    await writeFile(path, 'two');
    await changesDelivered();
    await vi.advanceTimersByTimeAsync(300);
    expect(applied).toEqual([]);
  });
});
