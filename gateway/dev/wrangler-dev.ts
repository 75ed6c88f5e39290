// Runs the example Worker under `wrangler dev` (workerd) as a child process: start, wait until it answers, stop.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, where wrangler.toml is. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// Run wrangler's JS with this Node (24), whatever `node` is first on PATH.
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
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
  /** Abandons the start: wrangler is stopped and the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
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

// wrangler runs as the leader of its own process group: a signal to the group reaches workerd and
// esbuild too, even once wrangler itself has exited.
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    if (process.platform === 'win32') child.kill(signal);
    else process.kill(-child.pid, signal);
  } catch {
    // nothing left in the group
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
  const killOnExit = () => signalGroup(child, 'SIGKILL');
  process.once('exit', killOnExit);

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) signalGroup(child, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), WORKER_STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
      // Whatever wrangler left running in its group goes with it.
      signalGroup(child, 'SIGKILL');
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
    if (options.signal?.aborted) {
      await stop();
      throw new WorkerStartError(`wrangler dev start abandoned: ${String(options.signal.reason)}`);
    }
    if (exitedEarly !== null || Date.now() > deadline) {
      await stop();
      const why =
        exitedEarly !== null
          ? `exited (${exitedEarly})`
          : `did not answer within ${WORKER_START_TIMEOUT_MS / 1000} s`;
      throw new WorkerStartError(`wrangler dev ${why}:\n${kept.join('\n')}`);
    }
    try {
      const timeout = AbortSignal.timeout(2_000);
      await fetch(url, {
        signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout,
      }).then((response) => response.body?.cancel());
      ready = true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  }
  return { url, exited, stop };
}
