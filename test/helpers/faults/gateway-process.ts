// Runs `mxhook serve` (gateway/cli.ts) as a child process, for tests that signal or kill the gateway itself.
import { type ChildProcess, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { WAIT_MS } from '../wait.ts';

const CLI = fileURLToPath(new URL('../../../gateway/cli.ts', import.meta.url));

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const running = new Set<GatewayProcess>();

/** Kills every gateway process this test file started and has not seen exit; for `afterEach`. */
export async function killAllGatewayProcesses(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.all(all.map((g) => g.kill()));
}

export class GatewayProcess {
  readonly #child: ChildProcess;
  readonly exited: Promise<Exit>;
  #stderr = '';
  #port = 0;

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        running.delete(this);
        resolve({ code, signal });
      }),
    );
  }

  /**
   * Starts `mxhook serve` with `env` (MXHOOK_ variables; the SMTP listener is put on a free port
   * of 127.0.0.1 and the admin listener is off unless given). It runs in the temporary directory,
   * so no `.env` of the repository is read. Resolves once the SMTP listener is up.
   */
  static async start(env: Readonly<Record<string, string>>): Promise<GatewayProcess> {
    const child = spawn(process.execPath, [CLI, 'serve'], {
      cwd: tmpdir(),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        MXHOOK_LISTEN: '127.0.0.1:0',
        MXHOOK_HTTP_LISTEN: 'off',
        MXHOOK_LOG_LEVEL: 'info',
        // Test traffic stays on loopback: no checks (no system DNS); authentication tests bring their own DNS server.
        MXHOOK_AUTH_CHECKS: 'none',
        ...env,
      },
    });
    const gateway = new GatewayProcess(child);
    running.add(gateway);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      gateway.#stderr += text;
    });
    // The log is JSON lines; the `listening` line carries the port the system chose.
    let buffered = '';
    child.stdout!.setEncoding('utf8');
    const listening = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`mxhook serve did not listen within ${WAIT_MS} ms: ${gateway.#stderr}`)),
        WAIT_MS,
      );
      void gateway.exited.then((exit) => {
        clearTimeout(timer);
        reject(new Error(`mxhook serve exited (${JSON.stringify(exit)}): ${gateway.#stderr}`));
      });
      child.stdout!.on('data', (text: string) => {
        buffered += text;
        let newline = buffered.indexOf('\n');
        while (newline !== -1) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
          if (gateway.#port !== 0 || !line.includes('"listening"')) continue;
          const port = (JSON.parse(line) as { address?: { port?: number } }).address?.port;
          if (port === undefined) continue;
          gateway.#port = port;
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await listening;
    return gateway;
  }

  get port(): number {
    return this.#port;
  }

  get pid(): number {
    return this.#child.pid ?? 0;
  }

  get stderr(): string {
    return this.#stderr;
  }

  signal(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null)
      this.#child.kill('SIGKILL');
    await this.exited;
  }
}
