// The gateway's pino logger: JSON lines, with every field that could carry a secret redacted.
import pino, { type DestinationStream, type Level, type Logger } from 'pino';

/**
 * Paths (pino `redact` syntax) whose values never reach a log line, whatever a caller logs: AUTH
 * credentials, signing secrets and keys, TLS private keys, and HTTP authorization headers.
 * Belt and braces: nothing logs these today (serve.ts logs a key's `kid` and `alg` only), and this
 * keeps a future `log.info({ config })` or `log.debug({ auth })` from leaking them (STYLE.md §10).
 */
export const REDACTED_PATHS: readonly string[] = [
  'password',
  '*.password',
  '*.*.password',
  'secret',
  '*.secret',
  '*.*.secret',
  'signingSecret',
  '*.signingSecret',
  'signingSecrets',
  '*.signingSecrets',
  'signingKeys',
  '*.signingKeys',
  'privateKey',
  '*.privateKey',
  '*.*.privateKey',
  'tls.key',
  '*.tls.key',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers["mxhook-signature"]',
  '*.headers["mxhook-signature"]',
];

export const REDACTED = '[redacted]';

export interface LoggerOptions {
  readonly level: Level | 'silent';
  /** Where the JSON lines go; standard output by default. */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const settings = {
    level: options.level,
    redact: { paths: [...REDACTED_PATHS], censor: REDACTED },
  };
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
}
