#!/usr/bin/env node
// The `mxhook` command: serve the gateway, print help, or make signing keys.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { helpText, loadConfig } from './config/index.ts';
import { MxhookError } from './errors.ts';
import { serve } from './serve.ts';

const USAGE = `Usage: mxhook <command> [flags]

Commands:
  serve      run the SMTP gateway (configured by MXHOOK_* variables, .env, or the flags below)
  keygen     print a new Ed25519 private key (PEM) for MXHOOK_SIGNING_KEY
  secret     print a new random secret for MXHOOK_SIGNING_SECRET
  help       show this text
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
    case 'secret':
      process.stdout.write(`${randomBytes(32).toString('base64url')}\n`);
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

function printHelp(): number {
  process.stdout.write(`${USAGE}\nSettings (flag, variable, default):\n${helpText()}\n`);
  return 0;
}

async function runServe(flags: readonly string[]): Promise<number> {
  const config = loadConfig({ env: process.env, argv: flags, cwd: process.cwd() });
  const running = await serve(config);
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`mxhook: ${signal} received, draining sessions\n`);
      // A second signal means "now".
      process.once('SIGTERM', () => resolve(1));
      process.once('SIGINT', () => resolve(1));
      void running.stop().then(() => resolve(0));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // Configuration and start-up problems: one clear line, no stack trace.
    if (error instanceof MxhookError) process.stderr.write(`mxhook: ${error.message}\n`);
    else
      process.stderr.write(
        `mxhook: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    process.exit(1);
  },
);
