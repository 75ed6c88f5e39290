// The packages as users get them: `npm pack` (which builds dist/) of mxhook and of
// @mxhook/functions, each installed alone into a fresh project; `npx mxhook serve` from the one and
// a plain-Node function using the SDK from the other, with a mail sent through both; and consumers'
// TypeScript type-checks against the installed declarations.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, ROOT } from '../../gateway/dev/wrangler-dev.ts';
import { waitUntil } from '../helpers/wait.ts';
import { sendMail } from './helpers/mail.ts';

/** Building, packing and installing (from the npm cache when it can) on a loaded machine. */
const SETUP_TIMEOUT_MS = 240_000;
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;
const SECRET = 'package-test-secret-at-least-32-bytes-long';
const FUNCTION_FIXTURE = fileURLToPath(new URL('./fixtures/package-function.mjs', import.meta.url));

const run = promisify(execFile);

/**
 * The children's environment: the repository's Node 24 (node_modules/.bin) first on PATH, as a
 * user's own Node would be, and none of the caller's MXHOOK_ settings.
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('MXHOOK_')) env[name] = value;
  }
  env.PATH = [join(ROOT, 'node_modules', '.bin'), process.env.PATH].join(delimiter);
  return env;
}

interface Running {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<unknown>;
}

/** Starts `command` in its own process group, so stopping it reaches npx's children too. */
function start(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Running {
  const child = spawn(command, args, {
    ...options,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (text: string) => {
    output += text;
  };
  child.stdout?.setEncoding('utf8').on('data', collect);
  child.stderr?.setEncoding('utf8').on('data', collect);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { child, output: () => output, exited };
}

/** Signals the whole process group; it may be gone already. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: nothing left in the group.
  }
}

async function stop(running: Running | undefined): Promise<void> {
  const pid = running?.child.pid;
  if (running === undefined || pid === undefined || running.child.exitCode !== null) return;
  signalGroup(pid, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), STOP_TIMEOUT_MS);
  await running.exited;
  clearTimeout(timer);
}

/** The complete JSON lines a child printed on stdout and stderr (logs included). */
function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .slice(0, -1)
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

interface Packed {
  readonly tarball: string;
  readonly files: readonly string[];
}

/** `npm pack` in `directory` (its prepack builds dist/), the tarball written to `destination`. */
async function pack(directory: string, destination: string): Promise<Packed> {
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', destination], {
    cwd: directory,
    env,
  });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  if (packed === undefined) throw new Error(`npm pack printed no tarball: ${stdout}`);
  return { tarball: join(destination, packed.filename), files: packed.files.map((f) => f.path) };
}

/** A fresh project in `directory` with only `tarball` installed (from the npm cache when it can). */
async function installInNewProject(directory: string, tarball: string): Promise<void> {
  await mkdir(directory);
  await writeFile(
    join(directory, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], {
    cwd: directory,
    env,
  });
}

const env = childEnv();
let dir: string;
/** Where `mxhook` is installed: the gateway's side. */
let gatewayProject: string;
/** Where only `@mxhook/functions` is installed: the function's side. */
let functionProject: string;
let gatewayPackage: Packed;
let sdkPackage: Packed;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mxhook-package-'));
  gatewayProject = join(dir, 'gateway');
  functionProject = join(dir, 'function');
  // One after the other: both builds run tsc, on a machine other suites are loading too.
  gatewayPackage = await pack(ROOT, dir);
  sdkPackage = await pack(join(ROOT, 'functions'), dir);
  await Promise.all([
    installInNewProject(gatewayProject, gatewayPackage.tarball),
    installInNewProject(functionProject, sdkPackage.tarball),
  ]);
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** Paths in `files` that are neither built modules under dist/ nor one of `others`. */
function unexpectedFiles(files: readonly string[], others: RegExp): string[] {
  return files.filter(
    (path) =>
      !/^dist\/[\w/.-]+\.(js|d\.ts)$/.test(path) &&
      !others.test(path) &&
      !['package.json', 'README.md', 'LICENSE'].includes(path),
  );
}

/**
 * Compiles `source` as `consumer.ts` in `project` with the repository's TypeScript and a tsconfig
 * as a new project writes it (NodeNext, strict, emitting, library declarations checked), plus
 * `options`; resolves with tsc's diagnostics, empty when there are none.
 */
async function compile(
  project: string,
  source: readonly string[],
  options: Record<string, unknown>,
): Promise<string> {
  await writeFile(join(project, 'consumer.ts'), `${source.join('\n')}\n`);
  const compilerOptions = {
    module: 'NodeNext',
    target: 'ES2023',
    strict: true,
    outDir: 'out',
    skipLibCheck: false,
    ...options,
  };
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({ compilerOptions, files: ['consumer.ts'] }),
  );
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  return run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project, env }).then(
    ({ stdout }) => stdout,
    (error: { stdout?: string }) => error.stdout || String(error),
  );
}

describe('the mxhook package', () => {
  it('carries the built gateway and SDK, and no tests, benchmarks or sources', () => {
    const { files } = gatewayPackage;
    expect(files).toContain('dist/gateway/bin.js');
    expect(files).toContain('dist/gateway/bridge/parse-worker.js');
    expect(files).toContain('dist/functions/sdk/index.d.ts');
    expect(unexpectedFiles(files, /^functions\/schema\/[\w.-]+\.json$/)).toEqual([]);
    expect(files.filter((path) => /test|bench/.test(path))).toEqual([]);
  });

  it('type-checks and runs a consumer importing both entries, compiled with plain NodeNext', async () => {
    const source = [
      "import { createGateway, type GatewayOptions } from 'mxhook';",
      "import { accept, type DataRequest, verifyBody } from 'mxhook/functions';",
      'export const start = (options: GatewayOptions) => createGateway(options);',
      'export const answer = async (body: string, signature: string) => {',
      "  const call = (await verifyBody(body, signature, 'secret')) as DataRequest;",
      '  return call.message.size > 0 ? accept() : undefined;',
      '};',
      'console.log(typeof createGateway, typeof verifyBody);',
    ];
    // The repository's @types/node: the temporary project installs only the tarball.
    const nodeTypes = { typeRoots: [join(ROOT, 'node_modules', '@types')], types: ['node'] };
    expect(await compile(gatewayProject, source, nodeTypes)).toBe('');
    const { stdout } = await run(process.execPath, ['out/consumer.js'], {
      cwd: gatewayProject,
      env,
    });
    expect(stdout).toBe('function function\n');
    // The declarations name the emitted .js files, as the JavaScript does.
    const index = join(gatewayProject, 'node_modules/mxhook/dist/gateway/index.d.ts');
    expect(await readFile(index, 'utf8')).not.toMatch(/from '\.\.?\/[^']*\.ts'/);
  });

  it('runs the installed mxhook command under Node from node_modules', async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    const { stdout } = await run('npx', ['--no', '--', 'mxhook', '--version'], {
      cwd: gatewayProject,
      env,
    });
    expect(stdout).toBe(`${version}\n`);
  });

  it('refuses an older Node in one line naming the version it needs', async () => {
    // This Node pretending to be 20: the check runs before anything else is loaded.
    const pretend = `data:text/javascript,Object.defineProperty(process.versions,'node',{value:'20.20.2'})`;
    const bin = join(gatewayProject, 'node_modules', '.bin', 'mxhook');
    const failed = await run(process.execPath, ['--import', pretend, bin, 'serve'], { env }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr).toBe(
      'mxhook: Node.js 22.19 or newer is required (this is Node.js 20.20.2)\n',
    );
  });

  it(
    'serves with npx mxhook serve and delivers a mail to a plain-Node function using the SDK package',
    async () => {
      let fn: Running | undefined;
      let gateway: Running | undefined;
      try {
        await copyFile(FUNCTION_FIXTURE, join(functionProject, 'function.mjs'));
        fn = start('node', ['function.mjs', SECRET], { cwd: functionProject, env });
        const running = fn;
        await waitUntil(
          () => running.output().includes('"port"'),
          'the function to listen',
          START_TIMEOUT_MS,
        );
        const functionPort = jsonLines(fn.output()).find((line) => 'port' in line)?.port;

        const [smtpPort, adminPort] = await Promise.all([freePort(), freePort()]);
        gateway = start('npx', ['--no', 'mxhook', 'serve'], {
          cwd: gatewayProject,
          env: {
            ...env,
            MXHOOK_LISTEN: `127.0.0.1:${smtpPort}`,
            MXHOOK_HTTP_LISTEN: `127.0.0.1:${adminPort}`,
            MXHOOK_HOSTNAME: 'mx.package.test',
            MXHOOK_FUNCTION_URL: `http://127.0.0.1:${functionPort}/`,
            MXHOOK_SIGNING_SECRET: SECRET,
            // Test traffic stays on loopback: no checks (no system DNS).
            MXHOOK_AUTH_CHECKS: 'none',
          },
        });
        const served = gateway;
        await waitUntil(
          () => served.output().includes('mxhook ready') || served.child.exitCode !== null,
          'the gateway to start',
          START_TIMEOUT_MS,
        );
        expect(gateway.output()).toContain('mxhook ready');

        const info = await sendMail(smtpPort, {
          to: 'bob@example.test',
          subject: 'From the installed package',
          text: 'Hello through npx mxhook serve.',
        });
        expect(info.response).toMatch(/^250 /);

        const called = fn;
        await waitUntil(() => called.output().includes('"data"'), 'the data call to be printed');
        expect(jsonLines(fn.output()).filter((line) => 'refused' in line)).toEqual([]);
        const data = jsonLines(fn.output()).find((line) => 'data' in line)?.data as
          | { subject: string; text: string; raw: string }
          | undefined;
        // `parsed` comes from the parse worker, which the built package loads as parse-worker.js.
        expect(data?.subject).toBe('From the installed package');
        expect(data?.text?.trim()).toBe('Hello through npx mxhook serve.');
        expect(Buffer.from(data?.raw ?? '', 'base64').toString()).toContain('Received: ');
      } finally {
        await Promise.all([stop(gateway), stop(fn)]);
      }
    },
    START_TIMEOUT_MS * 2,
  );
});

describe('the @mxhook/functions package', () => {
  it('carries the built SDK and the JSON schemas only', () => {
    const { files } = sdkPackage;
    expect(files).toContain('dist/sdk/index.js');
    expect(unexpectedFiles(files, /^schema\/[\w.-]+\.json$/)).toEqual([]);
  });

  it('installs with jose and hono and nothing else', async () => {
    const lock = JSON.parse(
      await readFile(join(functionProject, 'node_modules', '.package-lock.json'), 'utf8'),
    ) as { packages: Record<string, unknown> };
    expect(Object.keys(lock.packages).sort()).toEqual([
      'node_modules/@mxhook/functions',
      'node_modules/hono',
      'node_modules/jose',
    ]);
  });

  it('type-checks a consumer with Web types only, as on Workers', async () => {
    const source = [
      "import { accept, verify } from '@mxhook/functions';",
      'export default {',
      '  async fetch(request: Request): Promise<Response> {',
      "    await verify(request, 'secret');",
      '    return Response.json(accept());',
      '  },',
      '};',
    ];
    expect(
      await compile(functionProject, source, { lib: ['ES2023', 'WebWorker'], types: [] }),
    ).toBe('');
  });
});
