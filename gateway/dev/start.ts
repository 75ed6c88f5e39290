#!/usr/bin/env node
// `npm start`: the example Worker on workerd (wrangler dev) and the gateway in-process, sharing a generated secret.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { type GatewayConfig, loadConfig } from '../config/index.ts';
import { ConfigError, MxhookError } from '../errors.ts';
import { type RunningGateway, serve } from '../serve.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// Run wrangler's JS with this Node (24), whatever `node` is first on PATH.
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
/** wrangler dev's usual port, and the one DESIGN.md promises for `npm start`. */
export const DEFAULT_WORKER_PORT = 8787;
/** wrangler bundles and starts workerd; the first run on a slow machine can take a while. */
const WORKER_START_TIMEOUT_MS = 60_000;
const WORKER_STOP_TIMEOUT_MS = 5_000;
const POLL_INTERVAL_MS = 200;
/** Lines of wrangler output kept to explain a failed start. */
const KEPT_OUTPUT_LINES = 40;

/** How to run `wrangler dev`. */
export interface WorkerDevOptions {
  /** Port on 127.0.0.1; must be free. */
  readonly port: number;
  /** `--var NAME:value` bindings (override wrangler.toml and .dev.vars). */
  readonly vars: Readonly<Record<string, string>>;
  /** wrangler config file; default the project's wrangler.toml. */
  readonly config?: string;
  /** Where local KV lives; default wrangler's `.wrangler/state`. */
  readonly persistTo?: string;
  /** DevTools port; default wrangler's choice (9229 or a free one). */
  readonly inspectorPort?: number;
  /** Each line wrangler prints, once it is up (before that, lines are kept for errors). */
  readonly onOutput?: (line: string) => void;
}

/** `wrangler dev` exited or never answered; the message carries its last lines. */
export class WorkerStartError extends Error {
  override readonly name = 'WorkerStartError';
}

/** A running `wrangler dev`. */
export interface WorkerDev {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  /** Resolves with the exit code (or signal name) when wrangler exits, for whatever reason. */
  readonly exited: Promise<number | string>;
  /** Stops wrangler and everything it started (workerd, esbuild); idempotent. */
  stop(): Promise<void>;
}

/** Whether something already listens on 127.0.0.1:`port`. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host: '127.0.0.1', port, exclusive: true }, () =>
      probe.close(() => resolve(true)),
    );
  });
}

/** A port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function wranglerArgs(options: WorkerDevOptions): string[] {
  const args = ['dev', '--ip', '127.0.0.1', '--port', String(options.port)];
  args.push('--show-interactive-dev-session=false', '--live-reload=false');
  if (options.config !== undefined) args.push('--config', options.config);
  if (options.persistTo !== undefined) args.push('--persist-to', options.persistTo);
  if (options.inspectorPort !== undefined)
    args.push('--inspector-port', String(options.inspectorPort));
  for (const [name, value] of Object.entries(options.vars)) args.push('--var', `${name}:${value}`);
  return args;
}

// Offline and unattended: no telemetry, no error-report prompt, no download of the `Request.cf`
// sample (which needs the network), no browser opened.
const WRANGLER_ENV = {
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  BROWSER: 'none',
};

function stopTree(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    // wrangler runs as the leader of its own process group: signal workerd and esbuild too.
    if (process.platform === 'win32') child.kill(signal);
    else process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Starts `wrangler dev` on 127.0.0.1 and resolves once the Worker answers HTTP. Rejects, with
 * wrangler's last lines, if it exits or does not answer within a minute.
 *
 * @example
 * ```ts
 * const worker = await startWorkerDev({ port: 8787, vars: { MXHOOK_SIGNING_SECRET: secret } });
 * await worker.stop();
 * ```
 */
export async function startWorkerDev(options: WorkerDevOptions): Promise<WorkerDev> {
  const child = spawn(process.execPath, [WRANGLER, ...wranglerArgs(options)], {
    cwd: ROOT,
    env: { ...process.env, ...WRANGLER_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C reaches only us, so the gateway drains before the Worker stops.
    detached: process.platform !== 'win32',
  });
  const url = `http://127.0.0.1:${options.port}/`;
  const kept: string[] = [];
  let ready = false;
  const onLine = (line: string): void => {
    if (ready) options.onOutput?.(line);
    else {
      kept.push(line);
      if (kept.length > KEPT_OUTPUT_LINES) kept.shift();
    }
  };
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.setEncoding('utf8').on('data', (text: string) => {
      const lines = (partial + text).split(/\r?\n/);
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') onLine(line);
    });
  }
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.once('error', (error) => resolve(error.message));
  });
  // Never leave a Worker behind if this process ends without stopping it.
  const killOnExit = () => stopTree(child, 'SIGKILL');
  process.once('exit', killOnExit);

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopTree(child, 'SIGTERM');
      const timer = setTimeout(() => stopTree(child, 'SIGKILL'), WORKER_STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
      process.removeListener('exit', killOnExit);
    })();
    return stopping;
  };

  const deadline = Date.now() + WORKER_START_TIMEOUT_MS;
  let exitedEarly: number | string | null = null;
  void exited.then((code) => {
    exitedEarly = code;
  });
  while (!ready) {
    if (exitedEarly !== null || Date.now() > deadline) {
      await stop();
      const why =
        exitedEarly !== null
          ? `exited (${exitedEarly})`
          : `did not answer within ${WORKER_START_TIMEOUT_MS / 1000} s`;
      throw new WorkerStartError(`wrangler dev ${why}:\n${kept.join('\n')}`);
    }
    try {
      await fetch(url, { signal: AbortSignal.timeout(2_000) }).then((response) =>
        response.body?.cancel(),
      );
      ready = true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  }
  return { url, exited, stop };
}

/** start.ts's own flags, taken out before the rest go to loadConfig as `mxhook serve` flags. */
interface DevFlags {
  readonly workerPort: number | null;
  readonly persistTo: string | null;
  readonly rest: string[];
}

function parseDevFlags(argv: readonly string[]): DevFlags {
  let workerPort: number | null = null;
  let persistTo: string | null = null;
  const rest: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    const [flag, inline] = argument.startsWith('--') ? argument.split(/=(.*)/s, 2) : [argument];
    if (flag !== '--worker-port' && flag !== '--persist-to') {
      rest.push(argument);
      continue;
    }
    const value = inline ?? argv[++index];
    if (value === undefined || value === '') throw new ConfigError(flag!, 'needs a value');
    if (flag === '--persist-to') persistTo = value;
    else {
      workerPort = Number(value);
      if (!Number.isInteger(workerPort) || workerPort < 0 || workerPort > 65_535) {
        throw new ConfigError(flag, `must be a port number (0 for any free one), got ${value}`);
      }
    }
  }
  return { workerPort, persistTo, rest };
}

/** The first domain wrangler.toml's `DOMAINS` var names, for the banner's example address. */
function exampleRecipient(): string {
  try {
    const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
    const domains = /^\s*DOMAINS\s*=\s*"([^"]*)"/m.exec(toml)?.[1] ?? '';
    const domain = domains.split(',')[0]?.trim().replace(/^@/, '');
    if (domain) return `you@${domain}`;
  } catch {
    // no wrangler.toml: fall through
  }
  return 'you@example.com';
}

async function chooseWorkerPort(requested: number | null): Promise<number> {
  if (requested === 0) return freePort();
  const wanted = requested ?? DEFAULT_WORKER_PORT;
  if (await isPortFree(wanted)) return wanted;
  const port = await freePort();
  process.stderr.write(
    `mxhook: 127.0.0.1:${wanted} is already in use (another wrangler dev or npm start?), so the Worker runs on 127.0.0.1:${port} instead\n`,
  );
  return port;
}

/** The Worker's verification settings: the gateway's secrets, or its JWKS when an Ed25519 key signs. */
function workerKeyVars(config: GatewayConfig, secrets: readonly string[]): Record<string, string> {
  if (config.signingKeys.length === 0) return { MXHOOK_SIGNING_SECRET: secrets.join(',') };
  const admin = config.httpListen;
  if (admin === null || admin.port === 0) {
    throw new ConfigError(
      'MXHOOK_HTTP_LISTEN',
      'needs a fixed port with MXHOOK_SIGNING_KEY: under npm start the Worker verifies with the JWKS served there',
    );
  }
  const host = admin.host === '0.0.0.0' || admin.host === '::' ? '127.0.0.1' : admin.host;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return { MXHOOK_JWKS_URL: `http://${hostPart}:${admin.port}/.well-known/jwks.json` };
}

function banner(
  running: RunningGateway,
  worker: WorkerDev,
  functionUrl: URL,
  generatedSecret: boolean,
): string {
  const smtp = running.smtpAddresses[0]!;
  const to = exampleRecipient();
  const admin = running.adminAddress;
  const python = `python3 -c "import smtplib; s = smtplib.SMTP('127.0.0.1', ${smtp.port}); s.sendmail('me@sender.test', ['${to}'], b'Subject: Hello from mxhook\\r\\n\\r\\nIt works.\\r\\n'); s.quit()"`;
  return [
    '',
    'mxhook is running (development)',
    `  SMTP gateway  127.0.0.1:${smtp.port}, calling ${functionUrl.href}`,
    `  Worker        ${worker.url} (wrangler dev on workerd; inbox, JSON API at ${worker.url}api/messages)`,
    ...(admin === null
      ? []
      : [`  Admin         http://127.0.0.1:${admin.port}/ (health, metrics, JWKS)`]),
    `  Signing       ${generatedSecret ? 'a secret generated for this run, given to both' : 'your MXHOOK_SIGNING_* settings'}`,
    '',
    'Send a test mail:',
    `  ${python}`,
    `  swaks --server 127.0.0.1:${smtp.port} --from me@sender.test --to ${to}`,
    `Then see it at ${worker.url}`,
    'Ctrl-C stops both.',
    '',
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const flags = parseDevFlags(argv);
  const config = loadConfig({
    env: process.env,
    argv: flags.rest,
    cwd: process.cwd(),
    requireFunctionUrl: false,
  });
  const generatedSecret = config.signingSecrets.length === 0 && config.signingKeys.length === 0;
  const secrets = generatedSecret ? [randomBytes(32).toString('base64url')] : config.signingSecrets;
  const workerPort = await chooseWorkerPort(flags.workerPort);
  const worker = await startWorkerDev({
    port: workerPort,
    vars: { ...workerKeyVars(config, secrets), INBOX_PUBLIC: 'true' },
    ...(flags.persistTo === null ? {} : { persistTo: flags.persistTo }),
    onOutput: (line) => process.stderr.write(`[worker] ${line}\n`),
  });
  const functionUrl = config.functionUrl ?? new URL(`http://127.0.0.1:${workerPort}/mxhook/`);
  let running: RunningGateway;
  try {
    running = await serve(
      { ...config, functionUrl, signingSecrets: secrets },
      // Logs to stderr, synchronously, so stdout carries only the banner, and it comes last.
      { logger: pino({ level: config.logLevel }, pino.destination({ dest: 2, sync: true })) },
    );
  } catch (error) {
    await worker.stop();
    throw error;
  }
  process.stdout.write(banner(running, worker, functionUrl, generatedSecret));

  return new Promise((resolve) => {
    let stopping = false;
    const shutdown = (why: string, code: number): void => {
      if (stopping) {
        // A second Ctrl-C: stop now, without waiting for sessions to drain.
        void worker.stop().then(() => resolve(1));
        return;
      }
      stopping = true;
      process.stderr.write(
        `mxhook: ${why}, stopping the gateway (draining sessions) and the Worker\n`,
      );
      void running
        .stop()
        .finally(() => worker.stop())
        .then(() => resolve(code));
    };
    process.on('SIGINT', () => shutdown('SIGINT received', 0));
    process.on('SIGTERM', () => shutdown('SIGTERM received', 0));
    void worker.exited.then((code) => {
      if (!stopping) shutdown(`wrangler dev exited unexpectedly (${code})`, 1);
    });
  });
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      // Configuration and start-up problems: one clear line (wrangler's own lines after it).
      const expected = error instanceof MxhookError || error instanceof WorkerStartError;
      const text =
        error instanceof Error
          ? expected
            ? error.message
            : (error.stack ?? error.message)
          : String(error);
      process.stderr.write(`mxhook: ${text}\n`);
      process.exit(1);
    },
  );
}
