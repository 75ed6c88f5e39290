// The Archive contract (gateway/archive/archive.ts), as one suite every engine runs: each engine's
// test file calls `archiveConformance` with a factory for a fresh, empty archive.
import { createHash, randomBytes } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Archive } from '../../../gateway/archive/archive.ts';

export interface TestArchive {
  readonly archive: Archive;
  close(): Promise<void>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function pieces(body: string): Buffer[] {
  // Several pieces, as a message arrives: the archive must keep them as if concatenated.
  const bytes = Buffer.from(body);
  return [bytes.subarray(0, 7), bytes.subarray(7, 20), bytes.subarray(20)];
}

function freshId(): string {
  return `${randomBytes(8).toString('hex')}.1`;
}

async function bytesOf(archive: Archive, key: string): Promise<string | null> {
  const found = await archive.get(key);
  return found === null ? null : text(found.stream);
}

export function archiveConformance(name: string, fresh: () => Promise<TestArchive>): void {
  describe(`${name}: the Archive contract`, () => {
    const opened: TestArchive[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((archive) => archive.close()));
    });
    async function open(): Promise<Archive> {
      const archive = await fresh();
      opened.push(archive);
      return archive.archive;
    }

    it('keeps the exact bytes under a key of the day and id, with their size and SHA-256', async () => {
      const archive = await open();
      const body = `Return-Path: <a@example.org>\r\nSubject: kept\r\n\r\n${'x'.repeat(5000)}\r\n`;
      const id = freshId();
      const receivedAt = new Date('2026-12-06T23:59:59Z');
      const kept = await archive.put(id, ['Bob@Example.com'], pieces(body), receivedAt);
      expect(kept).toEqual({
        key: `20261206-${id}`,
        sizeBytes: Buffer.byteLength(body),
        sha256: createHash('sha256').update(body).digest('hex'),
      });
      const found = await archive.get(kept.key);
      expect(found?.sizeBytes).toBe(Buffer.byteLength(body));
      expect(await text(found!.stream)).toBe(body);
      expect(await archive.writable()).toBe(true);
    });

    it('has nothing under an unknown key, and refuses a key that is not one', async () => {
      const archive = await open();
      expect(await archive.get(`20261206-${freshId()}`)).toBeNull();
      expect(await archive.get('../../etc/passwd')).toBeNull();
    });

    it('removes a message, and removing it again is no error', async () => {
      const archive = await open();
      const kept = await archive.put(
        freshId(),
        ['a@example.com'],
        pieces('gone soon\r\n'),
        new Date(),
      );
      await archive.remove(kept.key, ['a@example.com']);
      expect(await archive.get(kept.key)).toBeNull();
      await archive.remove(kept.key, ['a@example.com']);
    });

    it('hands out a URL that GETs the bytes until it expires', async () => {
      const archive = await open();
      const body = `Subject: by reference\r\n\r\n${'y'.repeat(70_000)}\r\n`;
      const kept = await archive.put(freshId(), ['a@example.com'], pieces(body), new Date());
      // Three seconds: a busy machine must still fetch it in time (signatures count whole seconds).
      const url = await archive.referenceUrl(kept.key, new Date(Date.now() + 3000));
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(body);
      // Past its expiry (and the store's one-second resolution), the same URL is refused.
      await sleep(4100);
      const late = await fetch(url);
      await late.arrayBuffer();
      expect(late.status).toBe(403);
    });

    it('sweeps the days before the cutoff, oldest first, and keeps the rest', async () => {
      const archive = await open();
      const now = Date.now();
      const old = await archive.put(freshId(), [], pieces('old\r\n'), new Date(now - 10 * DAY_MS));
      const older = await archive.put(
        freshId(),
        [],
        pieces('older\r\n'),
        new Date(now - 20 * DAY_MS),
      );
      const recent = await archive.put(freshId(), [], pieces('recent\r\n'), new Date(now - DAY_MS));
      const today = await archive.put(freshId(), [], pieces('today\r\n'), new Date(now));
      const cutoff = new Date(now - 5 * DAY_MS);
      // A bounded run removes the oldest first and says it may have left some.
      expect(await archive.sweep(cutoff, 1)).toBe(1);
      expect(await archive.get(older.key)).toBeNull();
      expect(await bytesOf(archive, old.key)).toBe('old\r\n');
      expect(await archive.sweep(cutoff, 100)).toBe(1);
      expect(await archive.get(old.key)).toBeNull();
      expect(await bytesOf(archive, recent.key)).toBe('recent\r\n');
      expect(await bytesOf(archive, today.key)).toBe('today\r\n');
      expect(await archive.sweep(cutoff, 100)).toBe(0);
    });
  });
}
