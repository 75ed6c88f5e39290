// The gateway's pino logger: JSON lines, with every field that could carry a secret redacted.
import pino, { type DestinationStream, type Level, type Logger } from 'pino';

/**
 * Keys whose values never reach a log line, at any depth, whatever a caller logs: AUTH
 * credentials, signing secrets and keys, private keys, and HTTP authorization headers. Belt and
 * braces: nothing logs these today (serve.ts logs a key's `kid` and `alg` only), and this keeps a
 * future `log.info({ config })` or `log.debug({ auth })` from leaking them (docs/architecture.md,
 * "Logging lives in the shell").
 */
const REDACTED_KEYS: ReadonlySet<string> = new Set([
  'password',
  'secret',
  'signingSecret',
  'signingSecrets',
  'signingKeys',
  'sendTokens',
  'adminToken',
  'privateKey',
  'authorization',
  'mxhook-signature',
]);

export const REDACTED = '[redacted]';

// Deep enough for `{ config: { tls: { key } } }`; log objects are shallow, so the walk stays short.
const MAX_DEPTH = 6;

/**
 * Returns `value` itself when it holds no secret (nothing is allocated on the hot path), else a
 * copy with the secrets replaced. pino's own `redact` option re-parses its paths on every line,
 * which cost a quarter of the gateway's CPU per message in the benchmark (test/bench/BENCHMARKS.md).
 */
export function redactSecrets(value: unknown, depth = 0, parentKey = ''): unknown {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value) || value instanceof Error) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const redacted = redactSecrets(value[i], depth + 1, parentKey);
      if (redacted === value[i]) continue;
      copy ??= [...value];
      copy[i] = redacted;
    }
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  const record = value as Record<string, unknown>;
  for (const key in record) {
    const original = record[key];
    // A TLS private key sits under `tls.key`; `key` elsewhere is harmless (e.g. a header name).
    const secret = REDACTED_KEYS.has(key) || (key === 'key' && parentKey === 'tls');
    const redacted = secret ? REDACTED : redactSecrets(original, depth + 1, key);
    if (redacted === original) continue;
    copy ??= { ...record };
    copy[key] = redacted;
  }
  return copy ?? value;
}

/**
 * An error as a log line carries it: a code to match on (Node's or ours, else the error's name)
 * and its message. Not the stack: these are expected failures, and one line each.
 */
export function errorForLog(error: unknown): { readonly code: string; readonly message: string } {
  if (!(error instanceof Error)) return { code: 'ERR_UNKNOWN', message: String(error) };
  const { code } = error as { code?: unknown };
  return { code: typeof code === 'string' ? code : error.name, message: error.message };
}

export interface LoggerOptions {
  readonly level: Level | 'silent';
  /** Where the JSON lines go; standard output by default. */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const settings = {
    level: options.level,
    formatters: {
      // Child loggers' bindings are not passed through formatters; ours carry only the session id.
      log: (object: Record<string, unknown>) => redactSecrets(object) as Record<string, unknown>,
    },
  };
  return pino(settings, options.destination ?? standardOutput());
}

/** One for the process, shared by every logger writing to standard output (and its one error listener). */
let stdoutOutput: TickBatchedOutput | null = null;
function standardOutput(): TickBatchedOutput {
  stdoutOutput ??= new TickBatchedOutput(process.stdout);
  return stdoutOutput;
}

/** What TickBatchedOutput writes to: process.stdout, or a stand-in in tests. */
export interface TextOutput {
  write(text: string): unknown;
  on(event: 'error', listener: (error: Error & { code?: string }) => void): unknown;
}

/** Outputs holding lines not yet written, for the exit handler to write them out. */
const unwritten = new Set<TickBatchedOutput>();
let exitHandlerInstalled = false;

/**
 * The default destination: the lines logged in one turn of the event loop are handed to standard
 * output together, in one write at the end of that turn (process.nextTick), and at exit. A message
 * logs two lines at info ("function answered", "transaction ended") in the same turn. pino's
 * default destination (an asynchronous sonic-boom) wrote each line from libuv's thread pool, a
 * thread hand-off and a wake-up per line: over a tenth of the gateway's CPU per message in the
 * connection-reuse benchmark (test/bench/BENCHMARKS.md). process.stdout writes a file or a
 * terminal at once and a pipe without blocking: what a full pipe cannot take yet waits in the
 * stream, as it waited in sonic-boom's buffer. A reader that went away (EPIPE) ends logging, as
 * pino's own destination does, rather than the process.
 */
export class TickBatchedOutput implements DestinationStream {
  readonly #out: TextOutput;
  #pending = '';
  #broken = false;

  constructor(out: TextOutput) {
    this.#out = out;
    out.on('error', (error) => {
      if (error.code !== 'EPIPE') throw error;
      this.#broken = true;
      this.#pending = '';
    });
  }

  write(line: string): void {
    if (this.#broken) return;
    if (this.#pending === '') {
      process.nextTick(writePending, this);
      unwritten.add(this);
      if (!exitHandlerInstalled) {
        exitHandlerInstalled = true;
        process.once('exit', () => {
          for (const output of unwritten) output.flush();
        });
      }
    }
    this.#pending += line;
  }

  /** Writes what is pending now; pino's `logger.flush()` calls it. */
  flush(done?: (error?: Error) => void): void {
    unwritten.delete(this);
    const text = this.#pending;
    this.#pending = '';
    if (text !== '' && !this.#broken) this.#out.write(text);
    done?.();
  }
}

function writePending(output: TickBatchedOutput): void {
  output.flush();
}
