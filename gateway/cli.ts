#!/usr/bin/env node
// The `mxhook` command: serve the gateway, print help, make signing keys, or operate the outbound queue.
import { generateKeyPairSync } from 'node:crypto';
import { runTailCommand } from './audit/tail-command.ts';
import { hashPassword } from './auth/password-hash.ts';
import { helpText, loadConfig } from './config/index.ts';
import { MxhookError } from './errors.ts';
import { createMetrics } from './metrics/index.ts';
import { runQueueCommand } from './outbound/queue-command.ts';
import { serve } from './serve.ts';
import { silenceSqliteWarning } from './sqlite-warning.ts';
import { newSigningSecret } from './standard-webhooks-secret.ts';
import { VERSION } from './version.ts';

const USAGE = `Usage: mxhook <command> [flags]

Commands:
  serve          run the SMTP gateway (configured by MXHOOK_* variables, .env, or the flags below)
  keygen         print a new Ed25519 private key (PEM) for MXHOOK_SIGNING_KEY
  secret         print a new random secret for MXHOOK_SIGNING_SECRET (either signature format)
  hash-password  read a password on standard input, print a MXHOOK_AUTH_USERS hash for it
  queue          the outbound queue: list, show|retry|delete|bounce <id> (mxhook queue --help)
  tail           print the live audit stream of a running gateway (mxhook tail --help)
  help           show this text
  version        print the mxhook version (also --version, -v)
`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      if (rest.includes('--help') || rest.includes('-h')) return printHelp();
      return runServe(rest);
    case 'keygen':
      process.stdout.write(
        generateKeyPairSync('ed25519')
          .privateKey.export({ type: 'pkcs8', format: 'pem' })
          .toString(),
      );
      return 0;
    case 'hash-password':
      process.stdout.write(`${await hashPassword(await readPassword())}\n`);
      return 0;
    case 'queue':
      return runQueueCommand(rest, {
        env: process.env,
        cwd: process.cwd(),
        stdout: (text) => process.stdout.write(text),
        stderr: (text) => process.stderr.write(text),
      });
    case 'tail':
      return runTailCommand(rest, {
        env: process.env,
        cwd: process.cwd(),
        stdout: (text) => process.stdout.write(text),
        stderr: (text) => process.stderr.write(text),
        signal: interrupted(),
      });
    case 'secret':
      process.stdout.write(`${newSigningSecret()}\n`);
      return 0;
    case 'version':
    case '--version':
    case '-v':
      process.stdout.write(`${VERSION}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      return printHelp();
    default:
      process.stderr.write(`mxhook: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

/** The first line of standard input (a prompt is not shown: pipe the password in, or type it and press Enter). */
async function readPassword(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  const password = text.split(/\r?\n/)[0] ?? '';
  if (password === '')
    throw new MxhookError('ERR_CONFIG_INVALID', 'hash-password: no password on standard input');
  return password;
}

function printHelp(): number {
  process.stdout.write(`${USAGE}\n${helpText()}\n`);
  return 0;
}

async function runServe(flags: readonly string[]): Promise<number> {
  const config = loadConfig({ env: process.env, argv: flags, cwd: process.cwd() });
  // Metrics live here, at the composition root: serve() stays free of process-wide collectors.
  const metrics = createMetrics();
  // Signals are ours from the start: one that arrives while the listeners open stops the gateway
  // once it is up, instead of killing the process half-started with the default action.
  const signalled = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  let running: Awaited<ReturnType<typeof serve>> | null = null;
  // The daemon convention: re-read the certificates (logged, both success and failure);
  // open sessions are not touched. Handling it also stops SIGHUP from killing the process.
  process.on('SIGHUP', () => running?.reloadTls());
  running = await serve(config, { observer: metrics.observer, metrics });
  const signal = await signalled;
  process.stderr.write(`mxhook: ${signal} received, draining sessions\n`);
  const up = running;
  return new Promise((resolve) => {
    // A second signal means "now".
    process.once('SIGTERM', () => resolve(1));
    process.once('SIGINT', () => resolve(1));
    void up.stop().then(() => resolve(0));
  });
}

/** Aborted by the first SIGINT (Ctrl-C) or SIGTERM, for commands that run until told to stop. */
function interrupted(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return controller.signal;
}

/** Exits once stdout and stderr are flushed: on a pipe, writes are asynchronous on some systems. */
function exitAfterFlush(code: number): void {
  let pending = 2;
  const done = () => {
    pending -= 1;
    if (pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

// Before anything opens the embedded queue (serve, queue): its one warning is noise here.
silenceSqliteWarning();
main(process.argv.slice(2)).then(exitAfterFlush, (error: unknown) => {
  // Configuration and start-up problems: one clear line, no stack trace.
  const text =
    error instanceof MxhookError
      ? error.message
      : error instanceof Error
        ? (error.stack ?? error.message)
        : String(error);
  process.stderr.write(`mxhook: ${text}\n`);
  exitAfterFlush(1);
});
