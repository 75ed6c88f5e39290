#!/usr/bin/env node
// `npm start`: the example Worker on workerd (wrangler dev) and the gateway in-process, sharing a generated secret.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { type GatewayConfig, loadConfig } from '../config/index.ts';
import { ConfigError, MxhookError } from '../errors.ts';
import { createMetrics } from '../metrics/index.ts';
import { type RunningGateway, serve } from '../serve.ts';
import {
  freePort,
  isPortFree,
  ROOT,
  startWorkerDev,
  type WorkerDev,
  WorkerStartError,
} from './wrangler-dev.ts';

/** wrangler dev's usual port, and the one README.md's set-up names for `npm start`. */
const DEFAULT_WORKER_PORT = 8787;

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
  if (config.signatureFormat !== 'jws') {
    throw new ConfigError(
      'MXHOOK_SIGNATURE_FORMAT',
      'must be jws under npm start: the example Worker verifies the Mxhook-Signature header only',
    );
  }
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

/**
 * SIGINT and SIGTERM from the very start: the first aborts `stop` (start-up is abandoned, or the
 * running pair shuts down gracefully); a second one calls `now`.
 */
function watchSignals(now: () => void): AbortSignal {
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) now();
    else stop.abort(`${signal} received`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return stop.signal;
}

function aborted(signal: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(String(signal.reason));
    else signal.addEventListener('abort', () => resolve(String(signal.reason)), { once: true });
  });
}

async function main(argv: readonly string[]): Promise<number> {
  // A second Ctrl-C: stop now, without waiting for sessions to drain.
  let forceExit = (): void => {};
  const stopSignal = watchSignals(() => forceExit());
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
  process.stderr.write(`mxhook: starting the Worker (wrangler dev) on 127.0.0.1:${workerPort}\n`);
  let worker: WorkerDev;
  try {
    worker = await startWorkerDev({
      port: workerPort,
      vars: { ...workerKeyVars(config, secrets), INBOX_PUBLIC: 'true' },
      ...(flags.persistTo === null ? {} : { persistTo: flags.persistTo }),
      onOutput: (line) => process.stderr.write(`[worker] ${line}\n`),
      signal: stopSignal,
    });
  } catch (error) {
    if (!stopSignal.aborted) throw error;
    process.stderr.write(`mxhook: ${stopSignal.reason} while starting; stopped\n`);
    return 0;
  }
  const functionUrl = config.functionUrl ?? new URL(`http://127.0.0.1:${workerPort}/mxhook/`);
  let running: RunningGateway;
  // Metrics on, as under `mxhook serve`: the banner's admin URL lists them, and a local
  // Prometheus or a curl can be tried against them before deploying.
  const metrics = createMetrics();
  try {
    running = await serve(
      { ...config, functionUrl, signingSecrets: secrets },
      {
        // Logs to stderr, synchronously, so stdout carries only the banner, and it comes last.
        logger: pino({ level: config.logLevel }, pino.destination({ dest: 2, sync: true })),
        observer: metrics.observer,
        metrics,
      },
    );
  } catch (error) {
    await worker.stop();
    throw error;
  }
  if (!stopSignal.aborted) {
    process.stdout.write(banner(running, worker, functionUrl, generatedSecret));
  }

  const why = await Promise.race([
    aborted(stopSignal),
    worker.exited.then((code) => `wrangler dev exited unexpectedly (${code})`),
  ]);
  const code = stopSignal.aborted ? 0 : 1;
  const stopped = new Promise<number>((resolve) => {
    forceExit = () => void worker.stop().then(() => resolve(1));
  });
  process.stderr.write(`mxhook: ${why}, stopping the gateway (draining sessions) and the Worker\n`);
  return Promise.race([
    running
      .stop()
      .finally(() => worker.stop())
      .then(() => code),
    stopped,
  ]);
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
