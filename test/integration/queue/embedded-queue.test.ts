// The embedded queue (node:sqlite + spool directory): the shared contract, what only a directory
// can do wrong (a spool that vanished or was replaced), the spool's sharing and sweeping, and the
// durability promise tested the only honest way: kill -9 a process mid-enqueue and reopen.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { EmbeddedQueue } from '../../../gateway/outbound/embedded-queue.ts';
import { openQueue } from '../../../gateway/outbound/open-queue.ts';
import type { OutboundQueue } from '../../../gateway/outbound/queue.ts';
import { bodyOf, deferWithDelayNotice, message, queueConformance } from './conformance.ts';

const MODULE = new URL('../../../gateway/outbound/embedded-queue.ts', import.meta.url);
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mxhook-queue-'));
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

queueConformance('embedded', async () => {
  const dir = await tempDir();
  return { open: () => EmbeddedQueue.open(dir), ownedByOneProcess: true };
});

describe('embedded queue on disk', () => {
  const opened: OutboundQueue[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((queue) => queue.close()));
  });

  async function open(dir: string): Promise<OutboundQueue> {
    const queue = await openQueue(dir);
    opened.push(queue);
    return queue;
  }

  it('creates a missing directory, and keeps one file for a body shared by messages', async () => {
    const dir = join(await tempDir(), 'new', 'queue');
    const queue = await open(dir);
    await queue.enqueue(message(['a@x.test'], 'shared'));
    await queue.enqueue(message(['b@x.test'], 'shared'));
    await queue.enqueue(message(['c@x.test'], 'other'));
    expect(await readdir(join(dir, 'spool'))).toHaveLength(2);
  });

  it('removes a finished message body only once its removal is durable: at the next enqueue, or by a checkpoint within a second', async () => {
    const dir = await tempDir();
    const queue = await open(dir);
    const spool = join(dir, 'spool');
    const delivered = async (body: string, files: number): Promise<void> => {
      const id = await queue.enqueue(message(['a@x.test'], body));
      const claims = await queue.claim('w', 10, Date.now(), 60_000);
      expect(claims.map((claim) => claim.messageId)).toContain(id);
      await queue.record('w', id, 'a@x.test', { kind: 'delivered', reply: '250 ok' });
      // Committed without its own fsync: the body waits for one that makes the removal last.
      expect(await queue.message(id)).toBeNull();
      expect(await readdir(spool)).toHaveLength(files);
    };
    await delivered('first', 1);
    const next = await queue.enqueue(message(['b@x.test'], 'next'));
    await expect.poll(() => readdir(spool)).toHaveLength(1); // only `next`'s
    expect(Buffer.concat(await bodyOf(queue, next)).toString()).toBe('next');
    await delivered('second', 2);
    await expect.poll(() => readdir(spool), { timeout: 3_000 }).toHaveLength(1);
  });

  it('keeps a body stored again while its removal is under way', async () => {
    const dir = await tempDir();
    const queue = await open(dir);
    // Many rounds: the new store must land either before the unlink (and pin it) or after it.
    for (let round = 0; round < 50; round++) {
      const body = `same bytes ${round}`;
      const id = await queue.enqueue(message(['a@x.test'], body));
      await queue.claim('w', 10, Date.now(), 60_000);
      await queue.record('w', id, 'a@x.test', { kind: 'delivered', reply: '250 ok' });
      // This enqueue's commit makes the removal durable and starts the unlink; the store of the
      // same bytes right after it runs while the unlink is under way.
      const other = await queue.enqueue(message(['c@x.test'], `other ${round}`));
      const again = await queue.enqueue(message(['b@x.test'], body));
      expect(Buffer.concat(await bodyOf(queue, again)).toString()).toBe(body);
      await queue.remove(again);
      await queue.remove(other);
    }
    expect(await readdir(join(dir, 'spool'))).toEqual([]);
  });

  it('sweeps unreferenced and temporary files at open, and keeps referenced ones', async () => {
    const dir = await tempDir();
    const first = await open(dir);
    const id = await first.enqueue(message(['a@x.test'], 'kept'));
    await first.close();
    await writeFile(join(dir, 'spool', 'f'.repeat(64)), 'stray after a crash');
    await writeFile(join(dir, 'spool', '.tmp-0123456789abcdef'), 'half written');
    const second = await open(dir);
    expect(await readdir(join(dir, 'spool'))).toHaveLength(1);
    expect(Buffer.concat(await bodyOf(second, id)).toString()).toBe('kept');
  });

  it('rejects enqueue, and is not writable, when the spool was removed', async () => {
    const dir = await tempDir();
    const queue = await open(dir);
    await rm(join(dir, 'spool'), { recursive: true });
    await expect(queue.enqueue(message(['a@x.test']))).rejects.toThrow(/ENOENT/);
    expect(await queue.writable()).toBe(false);
    expect(await queue.list(10)).toEqual([]);
  });

  it('rejects enqueue when the spool is not a directory', async () => {
    const dir = await tempDir();
    const queue = await open(dir);
    await rm(join(dir, 'spool'), { recursive: true });
    await writeFile(join(dir, 'spool'), 'not a directory');
    await expect(queue.enqueue(message(['a@x.test']))).rejects.toThrow(/ENOTDIR/);
    expect(await queue.writable()).toBe(false);
  });

  it('refuses a second owner of the same directory while the first has it open', async () => {
    const dir = await tempDir();
    const first = await open(dir);
    const id = await first.enqueue(message(['a@x.test']));
    await expect(openQueue(dir)).rejects.toThrow(/locked/);
    await first.close();
    expect(await (await open(dir)).message(id)).not.toBeNull();
  });

  it('adds the delay notice column to a database of schema version 2, keeping its mail', async () => {
    const dir = await tempDir();
    const queue = await open(dir);
    const id = await queue.enqueue(message(['a@x.test']));
    await opened.pop()!.close();
    // The file as version 2 left it: no delay_notified column.
    const db = new DatabaseSync(join(dir, 'queue.sqlite'));
    db.exec('ALTER TABLE recipients DROP COLUMN delay_notified; PRAGMA user_version = 2;');
    db.close();
    const upgraded = await open(dir);
    expect((await upgraded.message(id))!.recipients).toEqual([
      expect.objectContaining({ address: 'a@x.test', state: 'queued' }),
    ]);
    await deferWithDelayNotice(upgraded, id);
    expect((await upgraded.message(id))!.recipients[0]!.delayNotified).toBe(true);
    // Opened again at the current version: nothing to add, nothing lost.
    await opened.pop()!.close();
    expect((await (await open(dir)).message(id))!.recipients[0]!.delayNotified).toBe(true);
  });

  it('cannot be opened on a path that is a file', async () => {
    const file = join(await tempDir(), 'file');
    await writeFile(file, '');
    await expect(openQueue(file)).rejects.toThrow();
  });

  it('loses no message whose enqueue resolved when the process is killed (kill -9)', async () => {
    const dir = await tempDir();
    const child = enqueueForever(dir);
    const reported: { id: string; index: number }[] = [];
    const lines = createInterface({ input: child.stdout! });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    const drained = new Promise((resolve) => lines.once('close', resolve));
    lines.on('line', (line) => {
      const [id, index] = line.split(' ');
      reported.push({ id: id!, index: Number(index) });
      // Killed mid-stream: enqueues are in flight (body written, commit pending) right now.
      if (reported.length === 150) child.kill('SIGKILL');
    });
    expect(await exited).toBe('SIGKILL');
    await drained;
    const queue = await open(dir);
    for (const { id, index } of reported) {
      expect(Buffer.concat(await bodyOf(queue, id)).equals(bodyFor(index)), id).toBe(true);
      expect((await queue.message(id))!.recipients).toHaveLength(2);
    }
    // Nothing committed points at a body that is not there (a commit in flight may have landed).
    const all = await queue.list(100_000);
    expect(all.length).toBeGreaterThanOrEqual(reported.length);
    for (const { id } of all) expect((await bodyOf(queue, id))[0]!.length).toBeGreaterThan(0);
  });
});

/** Message i's body: distinct, up to ~64 KiB, every fifth one shared with the previous one. */
function bodyFor(index: number): Buffer {
  const seed = index % 5 === 4 ? index - 1 : index;
  return Buffer.alloc(1_000 + ((seed * 7919) % 64_000), `message ${seed}\r\n`);
}

/** A process that enqueues without end and prints `<id> <index>` once each enqueue resolved. */
function enqueueForever(dir: string): ChildProcess {
  const script = `
    const { EmbeddedQueue } = await import(${JSON.stringify(MODULE.href)});
    const bodyFor = ${bodyFor.toString()};
    const queue = await EmbeddedQueue.open(${JSON.stringify(dir)});
    for (let index = 0; ; index++) {
      const id = await queue.enqueue({
        sender: 's@x.test',
        recipients: [{ address: 'a@x.test' }, { address: 'b@x.test' }],
        body: [bodyFor(index)],
        origin: 'crash-test',
      });
      process.stdout.write(id + ' ' + index + '\\n');
    }
  `;
  return spawn(process.execPath, ['--no-warnings', '--input-type=module', '--eval', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}
