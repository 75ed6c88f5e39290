// `node test/bench/archive-write.ts`: what keeping a message costs, per engine: 1 KiB messages put
// one after another (the latency a transaction waits) and 20 at a time (throughput, directory
// fsyncs coalesced), with the CPU time of this process per message. The S3 engine runs against
// s3rver on 127.0.0.1, so its latency is s3rver's, not a real store's; its CPU is the client's.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Archive } from '../../gateway/archive/archive.ts';
import { DirectoryArchive } from '../../gateway/archive/directory-archive.ts';
import { RawUrlSigner } from '../../gateway/archive/raw-url.ts';
import { S3Archive } from '../../gateway/archive/s3-archive.ts';
import { S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, startS3Server } from '../helpers/s3-server.ts';

const MESSAGES = 300;
const CONCURRENCY = 20;
const body = [Buffer.from(`Subject: bench\r\n\r\n${'x'.repeat(1000)}\r\n`)];

async function measure(name: string, archive: Archive): Promise<void> {
  let next = 0;
  const put = () =>
    archive.put(
      `${randomBytes(8).toString('hex')}.${next++}`,
      ['bob@example.com'],
      body,
      new Date(),
    );
  for (const [label, concurrency] of [
    ['one at a time', 1],
    [`${CONCURRENCY} at a time`, CONCURRENCY],
  ] as const) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    let left = MESSAGES;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (left-- > 0) await put();
      }),
    );
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    console.log(
      JSON.stringify({
        engine: name,
        mode: label,
        msPerMessage: Number((ms / MESSAGES).toFixed(3)),
        messagesPerSecond: Math.round(MESSAGES / (ms / 1000)),
        cpuMsPerMessage: Number(((used.user + used.system) / 1000 / MESSAGES).toFixed(3)),
      }),
    );
  }
}

const dir = await mkdtemp(join(tmpdir(), 'mxhook-bench-archive-'));
await measure(
  'directory',
  await DirectoryArchive.open(dir, new RawUrlSigner(randomBytes(32), () => '')),
);
await rm(dir, { recursive: true, force: true });

const s3 = await startS3Server();
await measure(
  's3 (s3rver)',
  new S3Archive({
    bucket: s3.bucket,
    prefix: 'bench/',
    endpoint: s3.endpoint,
    region: 'us-east-1',
    accessKeyId: S3_ACCESS_KEY_ID,
    secretAccessKey: S3_SECRET_ACCESS_KEY,
  }),
);
await s3.stop();
