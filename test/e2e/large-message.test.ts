// End to end, a 25 MiB message by reference: nodemailer → the gateway (serve(), in-process, with a
// directory archive) → the example Worker on workerd, which fetches the message from the gateway's
// signed URL with the SDK's rawMessage() and stores it in KV (in parts: more than one value holds).
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { getJson, sendMail } from './helpers/mail.ts';
import { startTestWorker, type TestWorker } from './helpers/worker.ts';

const MiB = 1024 * 1024;

let worker: TestWorker;
let gateway: TestGateway;
let archiveDir: string;

beforeAll(async () => {
  archiveDir = await mkdtemp(join(tmpdir(), 'mxhook-e2e-archive-'));
  worker = await startTestWorker();
  gateway = await startTestGateway(`${worker.url}mxhook/`, worker.secret, {
    MXHOOK_ARCHIVE: archiveDir,
    MXHOOK_HTTP_LISTEN: '127.0.0.1:0',
    MXHOOK_MAX_MESSAGE_SIZE: String(30 * MiB),
    MXHOOK_FUNCTION_TIMEOUT: '60',
  });
}, 90_000);

afterAll(async () => {
  await gateway?.stop();
  await worker?.stop();
  await rm(archiveDir, { recursive: true, force: true });
}, 30_000);

/** A plain-text body of `size` bytes in 78-character lines. */
function textOf(size: number): string {
  const line = `${'0123456789'.repeat(7)}abcdefgh\r\n`;
  return line.repeat(Math.ceil(size / line.length)).slice(0, size);
}

describe('a 25 MiB message by reference', () => {
  it('reaches the Worker as a URL, which fetches, checks and stores the exact bytes', async () => {
    const info = await sendMail(gateway.port, {
      to: 'bob@inbox.test',
      subject: 'Twenty-five MiB',
      text: textOf(25 * MiB),
    });
    const id = /^250 2\.0\.0 Stored as (\S+)$/.exec(info.response)?.[1];
    expect(id, info.response).toBeDefined();
    // The archived copy is what the Worker was sent the URL of.
    const [day] = await readdir(archiveDir);
    const names = await readdir(join(archiveDir, day!));
    const kept = await readFile(join(archiveDir, day!, names.find((name) => /\.1$/.test(name))!));
    expect(kept.length).toBeGreaterThan(25 * MiB);

    const message = await getJson<{ size: number; subject: string; hasRaw: boolean }>(
      worker.url,
      `api/messages/${id}`,
    );
    expect(message).toMatchObject({ size: kept.length, subject: 'Twenty-five MiB', hasRaw: true });
    const raw = Buffer.from(
      await (await fetch(new URL(`api/messages/${id}/raw`, worker.url))).arrayBuffer(),
    );
    expect(createHash('sha256').update(raw).digest('hex')).toBe(
      createHash('sha256').update(kept).digest('hex'),
    );
  }, 120_000);
});
