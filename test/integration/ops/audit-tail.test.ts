// `mxhook tail` as an operator runs it: a child process reading a running gateway's audit stream,
// printing a line per event, reconnecting when the gateway restarts, ending on Ctrl-C (SIGINT).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { authorization } from '../../helpers/audit-stream.ts';
import { collectOutput } from '../../helpers/child-output.ts';
import { closeAllFunctionServers, startFunctionServer } from '../../helpers/function-server.ts';
import { freePort } from '../../helpers/receiving-mta.ts';
import { destroyAllClients, inTransaction, sendData } from '../../helpers/smtp-client.ts';
import { startBridge, stopAllBridges, type TestBridge } from '../../helpers/start-bridge.ts';
import { waitUntil } from '../../helpers/wait.ts';

const NODE = fileURLToPath(new URL('../../../node_modules/.bin/node', import.meta.url));
const CLI = fileURLToPath(new URL('../../../gateway/cli.ts', import.meta.url));
/** Start-up loads every module, and CI machines are slow: a generous bound on waiting for output. */
const OUTPUT_WAIT_MS = 60_000;
const TOKEN = randomBytes(32).toString('base64url');

let workDir = '';
let adminPort = 0;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  // No `.env` there: the command sees only the variables the test gives it.
  workDir = await mkdtemp(join(tmpdir(), 'mxhook-tail-'));
  adminPort = await freePort(['127.0.0.1']);
});
afterAll(() => rm(workDir, { recursive: true, force: true }));
afterEach(async () => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  destroyAllClients();
  await stopAllBridges();
  await closeAllFunctionServers();
});

interface Tail {
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
  readonly child: ChildProcess;
}

function tail(args: readonly string[]): Tail {
  const child = spawn(NODE, [CLI, 'tail', ...args], {
    cwd: workDir,
    env: {
      PATH: process.env['PATH'] ?? '',
      MXHOOK_HTTP_LISTEN: `127.0.0.1:${adminPort}`,
      MXHOOK_ADMIN_TOKEN: TOKEN,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const output = collectOutput(child);
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      children.delete(child);
      resolve(code);
    });
  });
  return { ...output, exited, child };
}

/** The real `mxhook serve` stack, its admin listener on the port `mxhook tail` is pointed at. */
async function gateway(): Promise<TestBridge> {
  const fn = await startFunctionServer();
  return startBridge({
    functionUrl: fn.url,
    env: { MXHOOK_HTTP_LISTEN: `127.0.0.1:${adminPort}`, MXHOOK_ADMIN_TOKEN: TOKEN },
  });
}

async function subscribers(bridge: TestBridge): Promise<number> {
  const response = await fetch(`${bridge.adminUrl}/v1/audit`, { headers: authorization(TOKEN) });
  return ((await response.json()) as { subscribers: unknown[] }).subscribers.length;
}

async function waitForSubscribers(bridge: TestBridge, count: number): Promise<void> {
  const deadline = performance.now() + OUTPUT_WAIT_MS;
  while ((await subscribers(bridge)) < count) {
    if (performance.now() > deadline) throw new Error(`${count} subscribers never connected`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function send(bridge: TestBridge, to: string): Promise<void> {
  const client = await inTransaction(bridge.port, { from: 'alice@client.test', to: [to] });
  expect((await sendData(client, 'Subject: tail\r\n\r\nhello\r\n')).code).toBe(250);
  await client.command('QUIT');
}

describe('mxhook tail', () => {
  it('prints a line per event, reconnects when the gateway restarts, and ends on Ctrl-C', async () => {
    let bridge = await gateway();
    const lines = tail(['--types', 'session,decision']);
    const json = tail(['--types=decision', '--json']);
    await waitForSubscribers(bridge, 2);

    await send(bridge, 'first@mx.test');
    const decided = / decision \S+ rcpt first@mx\.test 250 2\.1\.5 accepted [0-9.]+ms\n/;
    await waitUntil(() => decided.test(lines.stdout()), 'the rcpt decision line', OUTPUT_WAIT_MS);
    await waitUntil(
      () =>
        / session {2}closed \S+ client=127\.0\.0\.1:\d+ helo=client\.test tls=none\n/.test(
          lines.stdout(),
        ),
      'the session closed line',
      OUTPUT_WAIT_MS,
    );
    expect(lines.stdout()).toMatch(
      /^\d{4}-\d\d-\d\dT[0-9:.]+Z session {2}opened \S+ client=127\.0\.0\.1:\d+ tls=none\n/,
    );
    await waitUntil(() => json.stdout().split('\n').length > 2, 'two JSON lines', OUTPUT_WAIT_MS);
    const events = json
      .stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; step: string; argument: string | null });
    expect(events.map((e) => [e.type, e.step, e.argument])).toEqual([
      ['decision', 'rcpt', 'first@mx.test'],
      ['decision', 'data', null],
    ]);

    // The gateway restarts on the same admin port: both reconnect on their own.
    await bridge.stop();
    bridge = await gateway();
    await waitForSubscribers(bridge, 2);
    await send(bridge, 'second@mx.test');
    await waitUntil(
      () => / decision \S+ rcpt second@mx\.test 250 /.test(lines.stdout()),
      'a line from the new gateway',
      OUTPUT_WAIT_MS,
    );
    expect(lines.stderr()).toMatch(/trying again in 1 s\n(.*\n)*mxhook tail: reconnected\n/);

    lines.child.kill('SIGINT');
    json.child.kill('SIGINT');
    expect(await lines.exited).toBe(0);
    expect(await json.exited).toBe(0);
  });

  it('says why and ends when the token is refused', async () => {
    await gateway();
    const refused = tail(['--token', 'not-the-token-but-long-enough-to-be-one-0123']);
    expect(await refused.exited).toBe(1);
    expect(refused.stderr()).toMatch(
      /^mxhook tail: http:\/\/127\.0\.0\.1:\d+: 401 a bearer token \(MXHOOK_ADMIN_TOKEN\) is required\n$/,
    );
  });
});
