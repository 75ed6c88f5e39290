// The `mxhook` command as a user runs it: a child process, configured by MXHOOK_ variables, judged by exit code and output.
import { type ChildProcess, spawn } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, VARIABLES } from '../../../gateway/config/index.ts';
import { collectOutput } from '../../helpers/child-output.ts';
import { closeAllFunctionServers, startFunctionServer } from '../../helpers/function-server.ts';
import { hasPython, sendWithSmtplib } from '../../helpers/python-smtp.ts';
import { newSecret } from '../../helpers/start-bridge.ts';
import { waitUntil } from '../../helpers/wait.ts';
import { expectValidRequests } from './schema.ts';

const NODE = fileURLToPath(new URL('../../../node_modules/.bin/node', import.meta.url));
const CLI = fileURLToPath(new URL('../../../gateway/cli.ts', import.meta.url));
/** A bound on one process's life, generous: start-up loads every module, and CI machines are slow. */
const PROCESS_LIMIT_MS = 60_000;
/** Per test: some run two processes one after the other. */
const TEST_LIMIT = { timeout: 3 * PROCESS_LIMIT_MS };

interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A working directory without a `.env`, so only the variables a test gives are seen. */
let workDir = '';
const children = new Set<ChildProcess>();
const servers: Server[] = [];

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'mxhook-cli-'));
});

// Tests run concurrently (each spawns a process that mostly waits on module loading), so
// everything is cleaned up once at the end; every test awaits its own process anyway.
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  await closeAllFunctionServers();
  await rm(workDir, { recursive: true, force: true });
});

function start(args: readonly string[], env: Readonly<Record<string, string>> = {}) {
  const child = spawn(NODE, [CLI, ...args], {
    cwd: workDir,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const output = collectOutput(child);
  const finished = new Promise<Finished>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mxhook ${args.join(' ')} did not exit; stderr: ${output.stderr()}`));
    }, PROCESS_LIMIT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout: output.stdout(), stderr: output.stderr() });
    });
  });
  return {
    child,
    finished,
    output: () => ({ stdout: output.stdout(), stderr: output.stderr() }),
  };
}

function run(args: readonly string[], env: Readonly<Record<string, string>> = {}) {
  return start(args, env).finished;
}

/** The environment of a gateway that would start: every required setting present and valid. */
function goodEnv(functionUrl: string): Record<string, string> {
  return {
    MXHOOK_LISTEN: '127.0.0.1:0',
    MXHOOK_HTTP_LISTEN: '127.0.0.1:0',
    MXHOOK_HOSTNAME: 'mx.test',
    MXHOOK_FUNCTION_URL: functionUrl,
    MXHOOK_SIGNING_SECRET: newSecret(),
    // Test traffic stays on loopback: no checks (no system DNS); authentication tests bring their own DNS server.
    MXHOOK_AUTH_CHECKS: 'none',
  };
}

/** Exit code non-zero and exactly one stderr line, which names `variable` (stdout carries only logs). */
function expectOneLineNaming(result: Finished, variable: string): void {
  expect(result.code).not.toBe(0);
  expect(result.code).not.toBeNull();
  expect(result.stderr).toMatch(/^mxhook: [^\n]+\n$/);
  expect(result.stderr).toContain(variable);
}

async function portInUse(): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe.concurrent('mxhook --help', TEST_LIMIT, () => {
  it.each(['--help', 'serve --help'])(
    '`mxhook %s` lists every MXHOOK_ variable with its default',
    async (command) => {
      const result = await run(command.split(' '));
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      const lines = result.stdout.split('\n');
      for (const spec of VARIABLES) {
        // The row of the table: `  --flag <placeholder>  MXHOOK_NAME  default`.
        const line = lines.find((l) => new RegExp(`^  --\\S+ \\S+ +${spec.name} `).test(l));
        expect(line, `${spec.name} is missing`).toBeDefined();
        expect(line!.trimEnd().endsWith(spec.defaultText), `${spec.name}: ${line}`).toBe(true);
      }
      for (const name of [
        'MXHOOK_LISTEN',
        'MXHOOK_FUNCTION_URL',
        'MXHOOK_SIGNING_KEY',
        'MXHOOK_HTTP_LISTEN',
      ]) {
        expect(result.stdout).toContain(name);
      }
      expect(result.stdout).toMatch(/MXHOOK_LISTEN\s+127\.0\.0\.1:2525/);
      expect(result.stdout).toMatch(/MXHOOK_MAX_MESSAGE_SIZE\s+10485760/);
    },
  );

  it.each(['--version', '-v', 'version'])(
    '`mxhook %s` prints the package version and nothing else',
    async (command) => {
      const manifest = JSON.parse(
        await readFile(new URL('../../../package.json', import.meta.url), 'utf8'),
      );
      const result = await run([command]);
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe(`${manifest.version}\n`);
    },
  );

  it('an unknown command exits 2 and says so', async () => {
    const result = await run(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^mxhook: unknown command "frobnicate"/);
  });
});

describe.concurrent(
  'mxhook serve refuses bad configuration with one line naming the variable',
  TEST_LIMIT,
  () => {
    it('missing MXHOOK_FUNCTION_URL', async () => {
      const env = goodEnv('http://127.0.0.1:9/');
      delete env['MXHOOK_FUNCTION_URL'];
      expectOneLineNaming(await run(['serve'], env), 'MXHOOK_FUNCTION_URL');
    });

    it.each([
      ['MXHOOK_MAX_MESSAGE_SIZE', 'ten'],
      ['MXHOOK_FUNCTION_TIMEOUT', 'soon'],
    ])('unparsable number: %s=%s', async (variable, value) => {
      const env = { ...goodEnv('http://127.0.0.1:9/'), [variable]: value };
      expectOneLineNaming(await run(['serve'], env), variable);
    });

    it('an unreadable or unusable MXHOOK_SIGNING_KEY', async () => {
      const missing = {
        ...goodEnv('http://127.0.0.1:9/'),
        MXHOOK_SIGNING_KEY: join(workDir, 'no-such-key.pem'),
      };
      expectOneLineNaming(await run(['serve'], missing), 'MXHOOK_SIGNING_KEY');
      const garbage = join(workDir, 'garbage.pem');
      await writeFile(garbage, 'not a key\n');
      const bad = { ...goodEnv('http://127.0.0.1:9/'), MXHOOK_SIGNING_KEY: garbage };
      expectOneLineNaming(await run(['serve'], bad), 'MXHOOK_SIGNING_KEY');
    });

    it('the same secret or key file given twice', async () => {
      const secret = newSecret();
      const twice = {
        ...goodEnv('http://127.0.0.1:9/'),
        MXHOOK_SIGNING_SECRET: `${secret},${secret}`,
      };
      const secretResult = await run(['serve'], twice);
      expectOneLineNaming(secretResult, 'MXHOOK_SIGNING_SECRET');
      expect(secretResult.stderr).not.toContain(secret);
      const key = join(workDir, 'twice.pem');
      await writeFile(
        key,
        generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }),
      );
      const keyTwice = { ...goodEnv('http://127.0.0.1:9/'), MXHOOK_SIGNING_KEY: `${key},${key}` };
      expectOneLineNaming(await run(['serve'], keyTwice), 'MXHOOK_SIGNING_KEY');
    });

    it('an unknown flag, with the did-you-mean hint', async () => {
      const result = await run(['serve', '--max-mesage-size', '5'], goodEnv('http://127.0.0.1:9/'));
      expectOneLineNaming(result, 'unknown flag --max-mesage-size');
      expect(result.stderr).toContain('(did you mean --max-message-size?)');
    });

    it('an SMTP listener that cannot bind names MXHOOK_LISTEN', async () => {
      const port = await portInUse();
      const env = { ...goodEnv('http://127.0.0.1:9/'), MXHOOK_LISTEN: `127.0.0.1:${port}` };
      const result = await run(['serve'], env);
      expectOneLineNaming(result, 'MXHOOK_LISTEN');
      expect(result.stderr).toContain(String(port));
    });

    it('an admin listener that cannot bind names MXHOOK_HTTP_LISTEN', async () => {
      const port = await portInUse();
      const env = { ...goodEnv('http://127.0.0.1:9/'), MXHOOK_HTTP_LISTEN: `127.0.0.1:${port}` };
      expectOneLineNaming(await run(['serve'], env), 'MXHOOK_HTTP_LISTEN');
    });
  },
);

describe.concurrent('mxhook serve', TEST_LIMIT, () => {
  it.skipIf(!hasPython)(
    'starts, accepts a message sent with Python smtplib, and exits 0 after SIGTERM',
    async () => {
      const fn = await startFunctionServer();
      const env = { ...goodEnv(fn.url), MXHOOK_LOG_LEVEL: 'info' };
      const server = start(['serve'], env);
      const port = await smtpPortOf(server);

      const run = await sendWithSmtplib(port, [
        {
          method: 'send_message',
          from: 'py@client.test',
          to: ['b@mx.test'],
          subject: 'from smtplib',
          body: 'Hello from Python.',
        },
      ]);
      expect(run.results).toEqual([{ ok: true, refused: {} }]);
      const [data] = fn.requestsFor('data');
      expect(data!.body.message.parsed!.subject).toBe('from smtplib');
      expect(data!.body.session.helo).toBe('python.test');
      expectValidRequests(fn.requests);

      server.child.kill('SIGTERM');
      const result = await server.finished;
      expect(result.code).toBe(0);
      expect(result.stderr).toContain('SIGTERM received');
    },
  );
});

describe.concurrent(
  'mxhook serve with unknown MXHOOK_ variables in the environment',
  TEST_LIMIT,
  () => {
    it('starts, logs one warning per unknown name (never its value), and exits 0 after SIGTERM', async () => {
      const fn = await startFunctionServer();
      // A function's own settings, exported in the same shell as the gateway's.
      const functionSecret = newSecret();
      const env = {
        ...goodEnv(fn.url),
        MXHOOK_AUDIENCE: fn.url,
        MXHOOK_LISTN: '127.0.0.1:25',
        MXHOOK_SECRET: functionSecret,
      };
      const server = start(['serve'], env);
      await smtpPortOf(server);
      server.child.kill('SIGTERM');
      const result = await server.finished;
      expect(result.code).toBe(0);
      const warnings = logLines(result.stdout)
        .filter((line) => line['level'] === 40)
        .map((line) => ({ variable: line['variable'], msg: line['msg'] }))
        .sort((a, b) => String(a.variable).localeCompare(String(b.variable)));
      expect(warnings).toEqual([
        { variable: 'MXHOOK_AUDIENCE', msg: 'unknown variable in the environment, ignored' },
        {
          variable: 'MXHOOK_LISTN',
          msg: 'unknown variable in the environment, ignored (did you mean MXHOOK_LISTEN?)',
        },
        { variable: 'MXHOOK_SECRET', msg: 'unknown variable in the environment, ignored' },
      ]);
      expect(result.stdout).not.toContain(functionSecret);
    });
  },
);

describe.concurrent('mxhook keygen and mxhook secret', TEST_LIMIT, () => {
  it('keygen prints a PKCS#8 PEM Ed25519 private key that MXHOOK_SIGNING_KEY accepts', async () => {
    const result = await run(['keygen']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/,
    );
    expect(createPrivateKey(result.stdout).asymmetricKeyType).toBe('ed25519');
    const file = join(workDir, 'generated.pem');
    await writeFile(file, result.stdout);
    const config = loadConfig({
      env: {
        MXHOOK_HOSTNAME: 'mx.test',
        MXHOOK_FUNCTION_URL: 'http://127.0.0.1:9/',
        MXHOOK_SIGNING_KEY: file,
      },
    });
    expect(config.signingKeys).toHaveLength(1);
  });

  it('secret prints whsec_ and the base64 of 32 random bytes, new each time', async () => {
    const [first, second] = await Promise.all([run(['secret']), run(['secret'])]);
    for (const result of [first, second]) {
      expect(result.code).toBe(0);
      // A Standard Webhooks secret, and at 50 characters a valid HS256 secret for JWS as well.
      expect(result.stdout).toMatch(/^whsec_[A-Za-z0-9+/]{43}=\n$/);
    }
    expect(first.stdout).not.toBe(second.stdout);
  });
});

/** The gateway's pino JSON lines from its stdout. */
function logLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The SMTP port from the gateway's `listening` log line (pino JSON on stdout). */
async function smtpPortOf(server: ReturnType<typeof start>): Promise<number> {
  const port = (): number | null => {
    for (const entry of logLines(server.output().stdout)) {
      const address = entry['address'] as { port?: number } | undefined;
      if (entry['msg'] === 'listening' && address?.port) return address.port;
    }
    return null;
  };
  await waitUntil(
    () => port() !== null || server.child.exitCode !== null,
    'mxhook serve to log its SMTP address',
    PROCESS_LIMIT_MS,
  );
  const found = port();
  if (found === null) throw new Error(`mxhook serve exited: ${server.output().stderr}`);
  return found;
}
