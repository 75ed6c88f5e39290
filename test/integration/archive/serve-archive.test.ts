// MXHOOK_ARCHIVE through `mxhook serve` (a child process): an accepted message is on disk before its
// 250 (kill -9 right after it and the file is there), a refused one is not kept, a large one goes to
// the function by reference, and an archive that cannot be written gets 451 and fails /readyz.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RequestFor } from '../../../functions/sdk/wire.ts';
import { dayOf } from '../../../gateway/archive/archive.ts';
import { freePort } from '../../../gateway/dev/wrangler-dev.ts';
import { GatewayProcess, killAllGatewayProcesses } from '../../helpers/faults/gateway-process.ts';
import {
  ACCEPT,
  closeAllFunctionServers,
  type FunctionServer,
  startFunctionServer,
} from '../../helpers/function-server.ts';
import {
  S3_ACCESS_KEY_ID,
  S3_SECRET_ACCESS_KEY,
  startS3Server,
  type TestS3Server,
} from '../../helpers/s3-server.ts';
import {
  destroyAllClients,
  inTransaction,
  sendData,
  transaction,
} from '../../helpers/smtp-client.ts';
import { WAIT_MS } from '../../helpers/wait.ts';
import { expectValidRequests } from '../bridge/schema.ts';

let dir: string;
let fn: FunctionServer;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mxhook-archive-serve-'));
  fn = await startFunctionServer();
});

afterEach(async () => {
  destroyAllClients();
  await killAllGatewayProcesses();
  await closeAllFunctionServers();
  await rm(dir, { recursive: true, force: true });
});

async function startServe(env: Readonly<Record<string, string>> = {}): Promise<{
  gateway: GatewayProcess;
  admin: string;
}> {
  const adminPort = await freePort();
  const gateway = await GatewayProcess.start({
    MXHOOK_FUNCTION_URL: fn.url,
    MXHOOK_SIGNING_SECRET: randomBytes(32).toString('base64url'),
    MXHOOK_ARCHIVE: dir,
    MXHOOK_HTTP_LISTEN: `127.0.0.1:${adminPort}`,
    MXHOOK_PAYLOAD: 'raw',
    ...env,
  });
  const admin = `http://127.0.0.1:${adminPort}`;
  // The SMTP listener is up; the HTTP listener starts right after it.
  const deadline = performance.now() + WAIT_MS;
  while (
    !(await fetch(`${admin}/healthz`).then(
      (response) => response.ok,
      () => false,
    ))
  ) {
    if (performance.now() > deadline) throw new Error('the HTTP listener did not start');
    await sleep(20);
  }
  return { gateway, admin };
}

/** Every archived file as name → bytes (across day directories). */
async function archived(): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const day of await readdir(dir, { withFileTypes: true })) {
    if (!day.isDirectory()) continue;
    for (const name of await readdir(join(dir, day.name))) {
      files.set(name, await readFile(join(dir, day.name, name)));
    }
  }
  return files;
}

function body(size: number): string {
  const line = `${'abcdefghij'.repeat(7)}\r\n`;
  return `Subject: archived\r\n\r\n${line.repeat(Math.ceil(size / line.length))}`;
}

describe('MXHOOK_ARCHIVE with mxhook serve', () => {
  it('has an accepted message on disk when the 250 is said: killed at once, the file is there', async () => {
    fn.answer('data', ACCEPT);
    const { gateway } = await startServe();
    const client = await inTransaction(gateway.port, { to: ['bob@mx.test'] });
    const reply = await sendData(client, body(2000));
    expect(reply.code).toBe(250);
    await gateway.kill();
    const files = await archived();
    // The message and one recipient link, the same bytes the function got.
    expect(files.size).toBe(2);
    const sent = Buffer.from(fn.requestsFor('data')[0]!.body.message.raw!, 'base64');
    for (const bytes of files.values()) expect(bytes.equals(sent)).toBe(true);
    expect(sent.toString()).toMatch(/^Return-Path: <sender@client\.test>\r\n/);
    expect([...files.keys()].join(' ')).not.toContain('bob');
  });

  it('keeps nothing of a message the function refuses', async () => {
    fn.answer('data', { kind: 'json', body: { action: 'reject' } });
    const { gateway } = await startServe();
    const client = await inTransaction(gateway.port);
    expect((await sendData(client, body(2000))).code).toBe(554);
    expect((await archived()).size).toBe(0);
  });

  it('sends a message over MXHOOK_INLINE_MAX by reference: the function fetches the bytes from the URL', async () => {
    let fetched: Buffer | null = null;
    fn.answer('data', async (request) => {
      const { rawRef } = (request.body as RequestFor<'data'>).message;
      fetched = Buffer.from(await (await fetch(rawRef!.url)).arrayBuffer());
      return ACCEPT;
    });
    const { gateway, admin } = await startServe({ MXHOOK_INLINE_MAX: '4096' });
    const client = await inTransaction(gateway.port);
    expect((await sendData(client, body(50_000))).code).toBe(250);
    const { message } = fn.requestsFor('data')[0]!.body;
    expect(message.raw).toBeUndefined();
    expect(message.rawRef).toEqual({
      url: expect.stringMatching(
        new RegExp(`^${admin}/v1/messages/\\d{8}-[0-9a-f]{16}\\.1/raw\\?expires=\\d+&signature=`),
      ),
      sha256: createHash('sha256').update(fetched!).digest('hex'),
      expires: expect.any(Number),
    });
    expect(fetched!.length).toBe(message.size);
    expect(fetched!.toString()).toContain('Subject: archived');
    // The small call body: the reference, not the message.
    expect(fn.requestsFor('data')[0]!.raw.length).toBeLessThan(4096);
  });

  it('describes the attachments of a by-reference message without their bytes, as the schema allows', async () => {
    fn.answer('data', ACCEPT);
    const { gateway } = await startServe({ MXHOOK_INLINE_MAX: '4096', MXHOOK_PAYLOAD: 'both' });
    const client = await inTransaction(gateway.port);
    const attachment = randomBytes(30_000).toString('base64').replace(/.{76}/g, '$&\r\n');
    const mime = [
      'Subject: with a file',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain',
      '',
      'See the file.',
      '--b1',
      'Content-Type: application/octet-stream; name="data.bin"',
      'Content-Disposition: attachment; filename="data.bin"',
      'Content-Transfer-Encoding: base64',
      '',
      attachment,
      '--b1--',
      '',
    ].join('\r\n');
    expect((await sendData(client, mime)).code).toBe(250);
    const [request] = fn.requestsFor('data');
    const { message } = request!.body;
    expect(message.raw).toBeUndefined();
    expect(message.rawRef).toBeDefined();
    expect(message.parsed?.text).toBe('See the file.');
    expect(message.parsed?.attachments).toEqual([
      expect.objectContaining({ filename: 'data.bin', size: 30_000 }),
    ]);
    expect(message.parsed?.attachments[0]).not.toHaveProperty('content');
    expectValidRequests(fn.requestsFor('data'));
  });

  it('removes a by-reference message again when the function does not accept it', async () => {
    fn.answer('data', { kind: 'json', body: { action: 'defer' } });
    const { gateway } = await startServe({ MXHOOK_INLINE_MAX: '4096' });
    const client = await inTransaction(gateway.port);
    expect((await sendData(client, body(50_000))).code).toBe(451);
    expect(fn.requestsFor('data')[0]!.body.message.rawRef).toBeDefined();
    expect((await archived()).size).toBe(0);
  });

  it('answers 451 4.3.0 when the archive cannot be written, and /readyz says not ready', async () => {
    fn.answer('data', ACCEPT);
    const { gateway, admin } = await startServe();
    expect((await fetch(`${admin}/readyz`)).status).toBe(200);
    // Today's (and, in case the day turns, tomorrow's) directory becomes a file: no message fits in.
    const now = Date.now();
    for (const time of [now, now + 86_400_000]) {
      const day = join(dir, dayOf(new Date(time)));
      await rm(day, { recursive: true, force: true });
      await writeFile(day, '');
    }
    const client = await inTransaction(gateway.port);
    const reply = await sendData(client, body(2000));
    expect(reply.code).toBe(451);
    expect(reply.text).toMatch(/^4\.3\.0 /);
    // The function accepted, but the client never got a 250 for it.
    expect(fn.requestsFor('data')).toHaveLength(1);
    expect((await fetch(`${admin}/readyz`)).status).toBe(503);
  });
});

describe('MXHOOK_ARCHIVE=s3://… with mxhook serve', () => {
  let s3: TestS3Server;
  beforeEach(async () => {
    s3 = await startS3Server();
  });
  afterEach(async () => {
    await s3.stop();
  });

  function s3Env(): Record<string, string> {
    return {
      MXHOOK_ARCHIVE: `s3://${s3.bucket}/mx1/`,
      MXHOOK_ARCHIVE_ENDPOINT: s3.endpoint,
      MXHOOK_ARCHIVE_ACCESS_KEY_ID: S3_ACCESS_KEY_ID,
      MXHOOK_ARCHIVE_SECRET_ACCESS_KEY: S3_SECRET_ACCESS_KEY,
    };
  }

  /** The objects under the prefix, as the store lists them (a presigned list: s3rver's own view). */
  async function objects(): Promise<string[]> {
    const listing = await (await fetch(`${s3.endpoint}/${s3.bucket}?prefix=mx1/`)).text();
    return [...listing.matchAll(/<Key>([^<]+)<\/Key>/g)].map((match) => match[1]!);
  }

  it('has an accepted message in the bucket when the 250 is said, and a large one by presigned URL', async () => {
    let fetched: Buffer | null = null;
    fn.answer('data', async (request) => {
      const { rawRef } = (request.body as RequestFor<'data'>).message;
      if (rawRef !== undefined)
        fetched = Buffer.from(await (await fetch(rawRef.url)).arrayBuffer());
      return ACCEPT;
    });
    const { gateway } = await startServe({ ...s3Env(), MXHOOK_INLINE_MAX: '4096' });
    const client = await inTransaction(gateway.port);
    expect((await sendData(client, body(1000))).code).toBe(250);
    await transaction(client, 'sender@client.test', ['rcpt@mx.test']);
    expect((await sendData(client, body(50_000))).code).toBe(250);
    await gateway.kill();
    const keys = await objects();
    expect(keys).toHaveLength(2);
    for (const key of keys) expect(key).toMatch(/^mx1\/\d{8}-[0-9a-f]{16}\.[12]$/);
    const [small, large] = fn.requestsFor('data').map((request) => request.body.message);
    expect(small!.raw).toBeDefined();
    // The store's own presigned GET, not the gateway.
    expect(large!.rawRef!.url).toContain(`${s3.endpoint}/${s3.bucket}/mx1/`);
    expect(large!.rawRef!.url).toContain('X-Amz-Signature=');
    expect(createHash('sha256').update(fetched!).digest('hex')).toBe(large!.rawRef!.sha256);
  });

  it('keeps nothing of a refused message, by reference or not', async () => {
    fn.answer('data', { kind: 'json', body: { action: 'reject' } });
    const { gateway } = await startServe({ ...s3Env(), MXHOOK_INLINE_MAX: '4096' });
    const client = await inTransaction(gateway.port);
    expect((await sendData(client, body(1000))).code).toBe(554);
    await transaction(client, 'sender@client.test', ['rcpt@mx.test']);
    expect((await sendData(client, body(50_000))).code).toBe(554);
    expect(await objects()).toEqual([]);
  });
});
