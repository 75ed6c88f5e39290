// The `mxhook` command's standard error carries what an operator must read, not node:sqlite's
// ExperimentalWarning: `mxhook serve` with a queue directory and `mxhook queue list` print nothing
// there but their own lines, while other warnings still get through.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { EmbeddedQueue } from '../../../gateway/outbound/embedded-queue.ts';
import { GatewayProcess, killAllGatewayProcesses } from '../../helpers/faults/gateway-process.ts';
import { newSecret } from '../../helpers/start-bridge.ts';
import { WAIT_MS } from '../../helpers/wait.ts';

const CLI = fileURLToPath(new URL('../../../gateway/cli.ts', import.meta.url));
/** The installed command's entry, which loads cli.ts once it has checked the Node version. */
const BIN = fileURLToPath(new URL('../../../gateway/bin.ts', import.meta.url));
const SILENCER = fileURLToPath(new URL('../../../gateway/sqlite-warning.ts', import.meta.url));
const TEST_LIMIT = { timeout: 4 * WAIT_MS };
const directories: string[] = [];

afterEach(killAllGatewayProcesses);
afterAll(() => Promise.all(directories.map((dir) => rm(dir, { recursive: true, force: true }))));

/** A queue directory a gateway has created (an empty queue). */
async function queueDirectory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mxhook-cli-stderr-'));
  directories.push(dir);
  await (await EmbeddedQueue.open(dir)).close();
  return dir;
}

/** Runs `node args…` to its end; what it wrote to stderr. */
function run(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, args, {
    cwd: tmpdir(),
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${args.join(' ')} did not exit; stderr: ${stderr}`));
    }, WAIT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('the mxhook command', () => {
  it('lists an embedded queue without a word on stderr', TEST_LIMIT, async () => {
    const env = { MXHOOK_QUEUE: await queueDirectory(), MXHOOK_HOSTNAME: 'mx.test' };
    for (const entry of [CLI, BIN])
      expect(await run([entry, 'queue', 'list'], env), entry).toEqual({ code: 0, stderr: '' });
  });

  it(
    'serves with a queue directory and writes only its shutdown line to stderr',
    TEST_LIMIT,
    async () => {
      const gateway = await GatewayProcess.start({
        MXHOOK_HOSTNAME: 'mx.test',
        // Never called: no mail is sent.
        MXHOOK_FUNCTION_URL: 'http://127.0.0.1:9/',
        MXHOOK_SIGNING_SECRET: newSecret(),
        MXHOOK_QUEUE: await queueDirectory(),
        MXHOOK_AUTH_CHECKS: 'none',
      });
      gateway.signal('SIGTERM');
      expect(await gateway.exited).toEqual({ code: 0, signal: null });
      expect(gateway.stderr).toBe('mxhook: SIGTERM received, draining sessions\n');
    },
  );

  it('still prints every other warning, experimental ones included', TEST_LIMIT, async () => {
    const script = [
      `const { silenceSqliteWarning } = await import(${JSON.stringify(SILENCER)});`,
      'silenceSqliteWarning();',
      'silenceSqliteWarning();', // twice: still one filter
      "await import('node:sqlite');",
      "process.emitWarning('a feature under test', 'ExperimentalWarning');",
      "process.emitWarning('SQLite is an experimental feature, said someone else', 'UserWarning');",
    ].join('\n');
    const { code, stderr } = await run(['--input-type=module', '-e', script]);
    expect(code).toBe(0);
    const warnings = stderr.split('\n').filter((line) => /^\(node:\d+\) /.test(line));
    expect(warnings).toEqual([
      expect.stringMatching(/\) ExperimentalWarning: a feature under test$/),
      expect.stringMatching(
        /\) UserWarning: SQLite is an experimental feature, said someone else$/,
      ),
    ]);
  });
});
