// Operating the outbound queue: `mxhook queue list|show|retry|delete|bounce` as a user runs it (a
// child process on a queue directory), the same on the admin listener's /queue endpoints, the
// command going through a running gateway's listener when the gateway holds the directory, and
// the queue's metrics on /metrics of a gateway whose deliveries defer.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { publicJwks } from '../../../functions/sdk/sign.ts';
import { AdminServer } from '../../../gateway/admin/admin-server.ts';
import { EmbeddedQueue } from '../../../gateway/outbound/embedded-queue.ts';
import type { OutboundQueue } from '../../../gateway/outbound/queue.ts';
import { BOUNCED_REPLY, type MessageView } from '../../../gateway/outbound/queue-operations.ts';
import type { RunningGateway } from '../../../gateway/serve.ts';
import { startDnsServer, type TestDnsServer } from '../../helpers/dns-server.ts';
import { closeAllFunctionServers, startFunctionServer } from '../../helpers/function-server.ts';
import { parsePrometheus } from '../../helpers/prometheus.ts';
import { serveWithMetrics } from '../../helpers/serve-with-metrics.ts';
import { inTransaction, sendData } from '../../helpers/smtp-client.ts';
import { waitUntil } from '../../helpers/wait.ts';
import { bodyOf } from '../queue/conformance.ts';

const NODE = fileURLToPath(new URL('../../../node_modules/.bin/node', import.meta.url));
const CLI = fileURLToPath(new URL('../../../gateway/cli.ts', import.meta.url));
const PROCESS_LIMIT_MS = 60_000;
const TEST_LIMIT = { timeout: 4 * PROCESS_LIMIT_MS };
const HOSTNAME = 'mx.test';
const RELAY_CLIENT = '127.0.0.9';

const BODY =
  'From: alice@sender.test\r\nTo: bob@dest.test\r\nSubject: queued\r\n' +
  'Message-ID: <q1@sender.test>\r\n\r\nStill waiting.\r\n';

const dirs: string[] = [];
const opened: OutboundQueue[] = [];
const admins: AdminServer[] = [];
let workDir = '';

beforeAll(async () => {
  workDir = await tempDir();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((queue) => queue.close()));
  await Promise.all(admins.splice(0).map((admin) => admin.stop()));
});
afterAll(async () => {
  await closeAllFunctionServers();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mxhook-queue-ops-'));
  dirs.push(dir);
  return dir;
}

async function open(dir: string): Promise<OutboundQueue> {
  const queue = await EmbeddedQueue.open(dir);
  opened.push(queue);
  return queue;
}

async function close(queue: OutboundQueue): Promise<void> {
  opened.splice(opened.indexOf(queue), 1);
  await queue.close();
}

/**
 * A queue with two messages: one from alice to bob (tried once, deferred for 10 minutes) and
 * carol (not tried yet), and a notice (null sender) to dave.
 */
async function seed(queue: OutboundQueue): Promise<{ fromAlice: string; notice: string }> {
  const fromAlice = await queue.enqueue({
    sender: 'alice@sender.test',
    recipients: [{ address: 'bob@dest.test' }, { address: 'carol@dest.test' }],
    body: [Buffer.from(BODY)],
    origin: 'test',
  });
  const notice = await queue.enqueue({
    sender: '',
    recipients: [{ address: 'dave@far.test' }],
    body: [Buffer.from(BODY)],
    origin: 'dsn:earlier',
  });
  const [claim] = await queue.claim('test', 1, Date.now(), 60_000);
  expect(claim).toMatchObject({ messageId: fromAlice, address: 'bob@dest.test' });
  await queue.record('test', fromAlice, 'bob@dest.test', {
    kind: 'deferred',
    reply: '451 4.3.0 try again later',
    retryAt: Date.now() + 10 * 60_000,
  });
  return { fromAlice, notice };
}

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function mxhook(args: readonly string[], env: Readonly<Record<string, string>>): Promise<Finished> {
  const child = spawn(NODE, [CLI, ...args], {
    cwd: workDir,
    env: { PATH: process.env['PATH'] ?? '', MXHOOK_HOSTNAME: HOSTNAME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mxhook ${args.join(' ')} did not exit; stderr: ${stderr}`));
    }, PROCESS_LIMIT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The notice a bounce queued, with its body. */
async function noticeOf(queue: OutboundQueue, id: string) {
  const notices = (await queue.list(100)).filter((m) => m.origin === `dsn:${id}`);
  expect(notices).toHaveLength(1);
  const notice = notices[0]!;
  return { notice, text: Buffer.concat(await bodyOf(queue, notice.id)).toString() };
}

describe('mxhook queue (the command, on a queue directory)', () => {
  it('lists, shows, retries, bounces and deletes', TEST_LIMIT, async () => {
    const dir = await tempDir();
    const queue = await open(dir);
    const { fromAlice, notice } = await seed(queue);
    await close(queue);
    const env = { MXHOOK_QUEUE: dir };

    const list = await mxhook(['queue', 'list'], env);
    expect(list.code, list.stderr).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +AGE +SENDER +PENDING +NEXT ATTEMPT +LAST RESULT$/);
    expect(lines[1]).toMatch(
      new RegExp(
        `^${fromAlice} +\\d+s +alice@sender\\.test +2/2 +now +451 4\\.3\\.0 try again later$`,
      ),
    );
    expect(lines[2]).toMatch(new RegExp(`^${notice} +\\d+s +<> +1/1 +now +-$`));
    expect(lines).toHaveLength(3);

    const json = await mxhook(['queue', 'list', '--json', '--limit', '1'], env);
    const listed = JSON.parse(json.stdout) as { messages: MessageView[] };
    expect(listed.messages.map((m) => [m.id, m.pending])).toEqual([[fromAlice, 2]]);

    const show = await mxhook(['queue', 'show', fromAlice], env);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain(`id:           ${fromAlice}\n`);
    expect(show.stdout).toContain('pending:      2 of 2 recipients\n');
    expect(show.stdout).toMatch(
      /^bob@dest\.test +queued +1 +in (9|10)m +451 4\.3\.0 try again later$/m,
    );
    expect(show.stdout).toMatch(/^carol@dest\.test +queued +0 +now +-$/m);

    const retry = await mxhook(['queue', 'retry', fromAlice], env);
    expect([retry.code, retry.stdout]).toEqual([
      0,
      `${fromAlice}: every queued recipient is due now\n`,
    ]);
    let reopened = await open(dir);
    const bob = (await reopened.message(fromAlice))!.recipients[0]!;
    expect(bob.nextAttemptAt).toBeLessThanOrEqual(Date.now());
    expect(bob.attempts).toBe(1);
    await close(reopened);

    const bounce = await mxhook(['queue', 'bounce', fromAlice], env);
    expect(bounce.code, bounce.stderr).toBe(0);
    expect(bounce.stdout).toMatch(
      new RegExp(
        `^${fromAlice}: returned 2 recipients, removed; notice \\w+ queued to alice@sender\\.test\\n$`,
      ),
    );
    reopened = await open(dir);
    expect(await reopened.message(fromAlice)).toBeNull();
    const { notice: dsn, text } = await noticeOf(reopened, fromAlice);
    expect(dsn.sender).toBe('');
    expect(dsn.recipients.map((r) => r.address)).toEqual(['alice@sender.test']);
    expect(text).toContain('Final-Recipient: rfc822; bob@dest.test');
    expect(text).toContain('Final-Recipient: rfc822; carol@dest.test');
    expect(text).toContain('Status: 5.0.0');
    expect(text).toContain(BOUNCED_REPLY);
    expect(text).toContain('Reporting-MTA: dns; mx.test');
    // Bouncing a notice (the null sender) removes it and tells nobody.
    await close(reopened);
    const quiet = await mxhook(['queue', 'bounce', notice], env);
    expect(quiet.stdout).toBe(
      `${notice}: returned 1 recipient, removed; no notice to <> (the null sender gets none)\n`,
    );

    const remove = await mxhook(['queue', 'delete', dsn.id], env);
    expect([remove.code, remove.stdout]).toEqual([0, `${dsn.id}: deleted\n`]);
    const empty = await mxhook(['queue', 'list'], env);
    expect(empty.stdout).toBe('the queue is empty\n');
  });

  it(
    'says so in one line, exit code 1, for an unknown id or no MXHOOK_QUEUE',
    TEST_LIMIT,
    async () => {
      const dir = await tempDir();
      await close(await open(dir));
      const results = await Promise.all([
        ...['show', 'retry', 'delete', 'bounce'].map((action) =>
          mxhook(['queue', action, '0000000000000deadbeef'], { MXHOOK_QUEUE: dir }),
        ),
        mxhook(['queue', 'list'], {}),
        mxhook(['queue', 'list'], { MXHOOK_QUEUE: join(dir, 'nothing-here') }),
        mxhook(['queue', 'flush'], { MXHOOK_QUEUE: dir }),
      ]);
      const lines = (text: string) => text.split('\n').filter((line) => line.startsWith('mxhook'));
      for (const result of results.slice(0, 4)) {
        expect(result.code).toBe(1);
        expect(result.stdout).toBe('');
        expect(lines(result.stderr)).toEqual([
          'mxhook: no message 0000000000000deadbeef in the queue',
        ]);
      }
      expect([results[4]!.code, lines(results[4]!.stderr)]).toEqual([
        1,
        ['mxhook: no outbound queue: MXHOOK_QUEUE is not set'],
      ]);
      expect([results[5]!.code, lines(results[5]!.stderr)]).toEqual([
        1,
        [
          `mxhook: no queue in ${join(dir, 'nothing-here')} (MXHOOK_QUEUE): a gateway creates it there`,
        ],
      ]);
      expect(results[6]!.code).toBe(2);
      expect(results[6]!.stderr).toContain('mxhook queue: unknown action "flush"');
    },
  );

  it(
    'goes through the admin listener of the gateway that holds the directory',
    TEST_LIMIT,
    async () => {
      const dir = await tempDir();
      const queue = await open(dir);
      const { fromAlice } = await seed(queue);
      const admin = await adminFor(queue);
      const env = { MXHOOK_QUEUE: dir, MXHOOK_HTTP_LISTEN: `127.0.0.1:${admin.port}` };

      const list = await mxhook(['queue', 'list'], env);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toContain(fromAlice);
      const missing = await mxhook(['queue', 'show', '0000000000000deadbeef'], env);
      expect([missing.code, missing.stdout]).toEqual([1, '']);
      expect(missing.stderr).toContain('mxhook: no message 0000000000000deadbeef in the queue');
      const bounce = await mxhook(['queue', 'bounce', fromAlice], env);
      expect(bounce.code, bounce.stderr).toBe(0);
      expect(await queue.message(fromAlice)).toBeNull();
      await noticeOf(queue, fromAlice);

      const off = await mxhook(['queue', 'list'], { MXHOOK_QUEUE: dir, MXHOOK_HTTP_LISTEN: 'off' });
      expect(off.code).toBe(1);
      expect(off.stderr).toContain(`mxhook: the queue in ${dir} is in use by a running mxhook`);
    },
  );
});

async function adminFor(queue: OutboundQueue): Promise<{ url: string; port: number }> {
  const admin = new AdminServer({
    host: '127.0.0.1',
    port: 0,
    isReady: () => true,
    jwks: publicJwks([]),
    queue: { queue, hostname: HOSTNAME },
  });
  admins.push(admin);
  const { port } = await admin.start();
  return { url: `http://127.0.0.1:${port}`, port };
}

async function call(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('/queue on the admin listener', () => {
  it('lists, shows, retries, bounces and deletes, in JSON', async () => {
    const queue = await open(await tempDir());
    const { fromAlice, notice } = await seed(queue);
    const { url } = await adminFor(queue);

    const list = await call(`${url}/queue`);
    expect(list.status).toBe(200);
    const messages = list.body['messages'] as MessageView[];
    expect(messages.map((m) => [m.id, m.sender, m.pending])).toEqual([
      [fromAlice, 'alice@sender.test', 2],
      [notice, '', 1],
    ]);
    expect(((await call(`${url}/queue?limit=1`)).body['messages'] as unknown[]).length).toBe(1);
    expect((await call(`${url}/queue?limit=x`)).status).toBe(400);

    const shown = await call(`${url}/queue/${fromAlice}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({
      id: fromAlice,
      pending: 2,
      lastResult: '451 4.3.0 try again later',
      recipients: [
        { address: 'bob@dest.test', state: 'queued', attempts: 1 },
        { address: 'carol@dest.test', state: 'queued', attempts: 0 },
      ],
    });

    expect(await call(`${url}/queue/${fromAlice}/retry`, { method: 'POST' })).toEqual({
      status: 200,
      body: { id: fromAlice, retried: true },
    });
    expect((await queue.message(fromAlice))!.recipients[0]!.nextAttemptAt).toBeLessThanOrEqual(
      Date.now(),
    );

    const bounced = await call(`${url}/queue/${fromAlice}/bounce`, { method: 'POST' });
    expect(bounced.status).toBe(200);
    expect(bounced.body).toMatchObject({
      id: fromAlice,
      returned: ['bob@dest.test', 'carol@dest.test'],
    });
    const { notice: dsn } = await noticeOf(queue, fromAlice);
    expect(bounced.body['notice']).toBe(dsn.id);
    expect(await queue.message(fromAlice)).toBeNull();

    expect(await call(`${url}/queue/${notice}`, { method: 'DELETE' })).toEqual({
      status: 200,
      body: { id: notice, deleted: true },
    });
    expect(await queue.message(notice)).toBeNull();
  });

  it('answers 404 for an unknown id, 405 for a wrong method, 403 to a web browser', async () => {
    const queue = await open(await tempDir());
    const { fromAlice } = await seed(queue);
    const { url } = await adminFor(queue);
    const unknown = '0000000000000deadbeef';
    for (const [path, method] of [
      [`/queue/${unknown}`, 'GET'],
      [`/queue/${unknown}`, 'DELETE'],
      [`/queue/${unknown}/retry`, 'POST'],
      [`/queue/${unknown}/bounce`, 'POST'],
    ] as const)
      expect(await call(`${url}${path}`, { method }), `${method} ${path}`).toEqual({
        status: 404,
        body: { error: `no message ${unknown} in the queue` },
      });
    expect((await call(`${url}/queue/${fromAlice}/flush`, { method: 'POST' })).status).toBe(404);
    expect((await call(`${url}/queue`, { method: 'POST' })).status).toBe(405);
    expect((await call(`${url}/queue/${fromAlice}/bounce`)).status).toBe(405);
    expect((await call(`${url}/queue/${fromAlice}`, { method: 'PUT' })).status).toBe(405);
    // A page in the operator's browser can neither bounce nor read (DNS rebinding) the queue.
    expect(
      (
        await call(`${url}/queue/${fromAlice}/bounce`, {
          method: 'POST',
          headers: { origin: 'https://evil.example' },
        })
      ).status,
    ).toBe(403);
    expect(
      (await call(`${url}/queue`, { headers: { 'sec-fetch-site': 'same-origin' } })).status,
    ).toBe(403);
    expect(await queue.message(fromAlice)).not.toBeNull();
  });

  it('is 404 without a queue, and not in the index', async () => {
    const admin = new AdminServer({
      host: '127.0.0.1',
      port: 0,
      isReady: () => true,
      jwks: publicJwks([]),
    });
    admins.push(admin);
    const { port } = await admin.start();
    expect(await call(`http://127.0.0.1:${port}/queue`)).toEqual({
      status: 404,
      body: { error: 'no outbound queue: MXHOOK_QUEUE is off' },
    });
    const index = await call(`http://127.0.0.1:${port}/`);
    expect(Object.keys(index.body['endpoints'] as object)).not.toContain('/queue');
  });
});

describe('a gateway with a queue (mxhook serve)', () => {
  let dns: TestDnsServer;
  let running: RunningGateway | null = null;
  beforeAll(async () => {
    // Nothing resolves: every delivery defers (451 4.4.3, a DNS failure), and is retried late.
    dns = await startDnsServer({});
    dns.fail('dest.test', true);
  });
  afterAll(async () => {
    await running?.stop();
    await dns.close();
  });

  it('serves /queue and the queue metrics', async () => {
    const fn = await startFunctionServer();
    const served = await serveWithMetrics(fn.url, {
      MXHOOK_QUEUE: await tempDir(),
      MXHOOK_RELAY_NETWORKS: `${RELAY_CLIENT}/32`,
      MXHOOK_DNS_SERVERS: dns.server,
      MXHOOK_RETRY_MIN: '3600',
    });
    running = served.running;
    const url = `http://127.0.0.1:${running.adminAddress!.port}`;
    const client = await inTransaction(running.smtpAddresses[0]!.port, {
      localAddress: RELAY_CLIENT,
      from: 'alice@sender.test',
      to: ['bob@dest.test', 'carol@dest.test'],
    });
    expect((await sendData(client, BODY)).code).toBe(250);
    await client.command('QUIT');

    const scrape = async () => parsePrometheus(await (await fetch(`${url}/metrics`)).text());
    const value = (
      exposition: Awaited<ReturnType<typeof scrape>>,
      name: string,
      outcome?: string,
    ) =>
      exposition.samples.find(
        (s) => s.name === name && (outcome === undefined || s.labels['outcome'] === outcome),
      )?.value;
    // Both recipients' attempts are counted (the observer is the scrape's source).
    await waitUntil(
      () => served.observer.deliveryAttempts.reduce((a, b) => a + b) === 2,
      'two delivery attempts',
    );
    let exposition = await scrape();
    // Deferred by DNS failing (451 4.4.3), each under that reason.
    expect(
      exposition.value('mxhook_delivery_attempts_total', { outcome: 'deferred', reason: 'dns' }),
    ).toBe(2);
    expect(
      exposition.value('mxhook_delivery_attempts_total', { outcome: 'delivered', reason: 'ok' }),
    ).toBe(0);
    expect(value(exposition, 'mxhook_queue_messages_pending')).toBe(2);
    expect(value(exposition, 'mxhook_queue_oldest_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(value(exposition, 'mxhook_queue_oldest_age_seconds')).toBeLessThan(60);

    const index = await call(`${url}/`);
    expect(Object.keys(index.body['endpoints'] as object)).toContain('/queue');
    // The outcomes are recorded just after they are counted.
    let listed: MessageView[] = [];
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
      listed = (await call(`${url}/queue`)).body['messages'] as MessageView[];
      if (listed[0]?.recipients.every((r) => r.state === 'queued' && r.attempts === 1)) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(listed).toHaveLength(1);
    const [message] = listed;
    expect(message).toMatchObject({ sender: 'alice@sender.test', pending: 2 });
    expect(message!.lastResult).toMatch(/^451 4\.4\.3 /);
    expect(message!.nextAttemptAt).toBeGreaterThan(Date.now() + 30 * 60_000);

    expect((await call(`${url}/queue/${message!.id}`, { method: 'DELETE' })).status).toBe(200);
    exposition = await scrape();
    expect(value(exposition, 'mxhook_queue_messages_pending')).toBe(0);
    expect(value(exposition, 'mxhook_queue_oldest_age_seconds')).toBe(0);
  });
});
