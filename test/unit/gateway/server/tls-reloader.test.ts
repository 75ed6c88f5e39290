// TlsReloader: reload on request or on a change in the watched directory, debounced; bad files keep the old.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TlsReloader } from '../../../../gateway/server/tls-reloader.ts';
import type { TlsPair } from '../../../../gateway/server/tls-store.ts';
import { waitUntil } from '../../../helpers/wait.ts';

let dir: string;
let reloader: TlsReloader | null = null;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mxhook-reloader-'));
});

afterEach(async () => {
  reloader?.close();
  reloader = null;
  await rm(dir, { recursive: true, force: true });
});

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
    const { reloader, applied, path } = setUp({ debounceMs: 100 });
    reloader.watch();
    await writeFile(path, 'two');
    await writeFile(join(dir, 'key.pem'), 'key');
    await writeFile(path, 'three');
    await waitUntil(() => applied.length > 0, 'a reload');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(applied).toEqual(['three']);
  });

  it('ignores a change event that changed nothing it uses', async () => {
    const { reloader, applied, path } = setUp({});
    await writeFile(path, 'one');
    reloader.watch();
    await writeFile(join(dir, 'unrelated.txt'), 'x');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(applied).toEqual([]);
    await writeFile(path, 'two');
    await waitUntil(() => applied.length === 1, 'a reload');
  });

  it('stops watching on close', async () => {
    const { reloader, applied, path } = setUp({});
    reloader.watch();
    reloader.close();
    await writeFile(path, 'two');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(applied).toEqual([]);
  });
});
