// The directory engine: the Archive contract, its file layout, and its signed URLs served over HTTP.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { AdminServer } from '../../../gateway/admin/admin-server.ts';
import { recipientHash } from '../../../gateway/archive/archive.ts';
import { DirectoryArchive } from '../../../gateway/archive/directory-archive.ts';
import { rawMessageRoute } from '../../../gateway/archive/raw-route.ts';
import { RawUrlSigner } from '../../../gateway/archive/raw-url.ts';
import { Sweeper } from '../../../gateway/archive/sweeper.ts';
import { archiveConformance, type TestArchive } from './conformance.ts';

/** A directory archive in a new temporary directory, its URLs served by the admin listener. */
async function freshDirectoryArchive(dir?: string): Promise<TestArchive & { dir: string }> {
  const root = dir ?? (await mkdtemp(join(tmpdir(), 'mxhook-archive-')));
  let base = '';
  const urls = new RawUrlSigner(randomBytes(32), () => base);
  const archive = await DirectoryArchive.open(root, urls);
  const admin = new AdminServer({
    host: '127.0.0.1',
    port: 0,
    isReady: () => true,
    jwks: { keys: [] },
    rawMessages: rawMessageRoute(archive, urls),
  });
  const { port } = await admin.start();
  base = `http://127.0.0.1:${port}`;
  return {
    archive,
    dir: root,
    async close() {
      await admin.stop();
      await archive.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

archiveConformance('directory', () => freshDirectoryArchive());

describe('the directory layout', () => {
  const opened: TestArchive[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((archive) => archive.close()));
  });

  it('keeps one file per message and a link per recipient named by a hash, never the address', async () => {
    const fresh = await freshDirectoryArchive();
    opened.push(fresh);
    const recipients = ['bob@example.com', 'Carol@Example.org', 'BOB@example.com'];
    const kept = await fresh.archive.put(
      'abc.1',
      recipients,
      [Buffer.from('hi\r\n')],
      new Date('2026-12-06T10:00:00Z'),
    );
    const names = (await readdir(join(fresh.dir, '20261206'))).sort();
    // Addresses differing in case are one recipient (the hash is of the lower-cased address).
    expect(names).toEqual(
      [
        'abc.1',
        `abc.1.${recipientHash('bob@example.com')}`,
        `abc.1.${recipientHash('carol@example.org')}`,
      ].sort(),
    );
    expect(names.join(' ')).not.toMatch(/@|bob|carol|example/i);
    // Hard links: one copy of the bytes.
    expect((await stat(join(fresh.dir, '20261206', 'abc.1'))).nlink).toBe(3);
    await fresh.archive.remove(kept.key, recipients);
    expect(await readdir(join(fresh.dir, '20261206'))).toEqual([]);
  });

  it('removes the temporary files a crash left when opened', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mxhook-archive-'));
    const first = await freshDirectoryArchive(root);
    const kept = await first.archive.put('abc.2', [], [Buffer.from('whole\r\n')], new Date());
    const day = kept.key.slice(0, 8);
    await writeFile(join(root, day, '.tmp-0123456789abcdef'), 'half a messa');
    const reopened = await DirectoryArchive.open(root, new RawUrlSigner(randomBytes(32), () => ''));
    expect(await readdir(join(root, day))).toEqual(['abc.2']);
    await reopened.close();
    await first.close();
  });

  it('refuses a URL whose signature or key was changed, with the same 403 as an expired one', async () => {
    const fresh = await freshDirectoryArchive();
    opened.push(fresh);
    const kept = await fresh.archive.put('abc.3', [], [Buffer.from('secret\r\n')], new Date());
    const url = new URL(await fresh.archive.referenceUrl(kept.key, new Date(Date.now() + 60_000)));
    const forged = new URL(url);
    forged.searchParams.set('signature', `${url.searchParams.get('signature')!.slice(0, -2)}AA`);
    const otherKey = new URL(url.href.replace(kept.key, kept.key.replace('abc.3', 'abc.4')));
    const later = new URL(url);
    later.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3600));
    for (const bad of [forged, otherKey, later]) {
      const response = await fetch(bad);
      expect(response.status).toBe(403);
      expect(await response.text()).toBe('forbidden\n');
    }
    expect((await fetch(url)).status).toBe(200);
  });

  it('keeps MXHOOK_RETENTION_DAYS whole days: the sweeper removes what is older and keeps the rest', async () => {
    const fresh = await freshDirectoryArchive();
    opened.push(fresh);
    const now = new Date('2026-12-06T12:00:00Z');
    const day = 24 * 60 * 60 * 1000;
    const at = (days: number) => new Date(now.getTime() - days * day);
    const gone = await fresh.archive.put(
      'old.1',
      ['a@example.com'],
      [Buffer.from('31\r\n')],
      at(31),
    );
    const kept = await fresh.archive.put('edge.1', [], [Buffer.from('30\r\n')], at(30));
    await fresh.archive.put('new.1', [], [Buffer.from('0\r\n')], now);
    const sweeper = new Sweeper(fresh.archive, 30, pino({ level: 'silent' }));
    // The message and its recipient link.
    expect(await sweeper.runOnce(now)).toBe(2);
    expect(await fresh.archive.get(gone.key)).toBeNull();
    expect(await fresh.archive.get(kept.key)).not.toBeNull();
    expect((await readdir(fresh.dir)).sort()).toEqual(['20261106', '20261206']);
  });
});
