// Runs test/fault/function-process.ts as a child process that tests can kill and restart on the same port.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WAIT_MS } from '../wait.ts';

export type FaultMode = 'normal' | 'slow' | 'hang' | 'die';

const SCRIPT = fileURLToPath(new URL('../../fault/function-process.ts', import.meta.url));

/** What the function saw, across every process it ran as (a restart keeps the ledger). */
export class FunctionLedger {
  /** Data calls that reached the function, by Message-ID: the call `id` of each. */
  readonly received = new Map<string, string[]>();
  /** Accepting answers the function gave, by Message-ID: the call `id` of each. */
  readonly accepted = new Map<string, string[]>();
  /** Calls the gateway hung up on before the answer. */
  aborted = 0;

  get acceptedCount(): number {
    let count = 0;
    for (const calls of this.accepted.values()) count += calls.length;
    return count;
  }

  receivedCount(): number {
    let count = 0;
    for (const calls of this.received.values()) count += calls.length;
    return count;
  }
}

interface FunctionEvent {
  readonly e: 'listening' | 'received' | 'accepted' | 'aborted' | 'pong';
  readonly id?: string;
  readonly call?: string;
  readonly port?: number;
  readonly n?: number;
}

export interface FaultFunctionOptions {
  readonly mode?: FaultMode;
  /** Delay range of the `slow` mode, in ms. */
  readonly slowMs?: readonly [number, number];
  /** Seeds the `slow` mode's delays. */
  readonly seed?: number;
  /** Record into this ledger, e.g. one shared by two replicas of the function. */
  readonly ledger?: FunctionLedger;
}

const running = new Set<FaultFunction>();

/** Kills every function process this test file started; for `afterEach`. */
export async function stopAllFaultFunctions(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.all(all.map((f) => f.kill()));
}

export class FaultFunction {
  readonly ledger: FunctionLedger;
  readonly #options: FaultFunctionOptions;
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #port = 0;
  #pings = 0;
  #restarts = 0;
  readonly #watchers = new Set<() => void>();
  readonly #pongs = new Set<number>();

  private constructor(options: FaultFunctionOptions) {
    this.#options = options;
    this.ledger = options.ledger ?? new FunctionLedger();
  }

  /** Starts the function on a free port of 127.0.0.1. */
  static async start(options: FaultFunctionOptions = {}): Promise<FaultFunction> {
    const fn = new FaultFunction(options);
    running.add(fn);
    await fn.#spawn(0, options.mode ?? 'normal');
    return fn;
  }

  get port(): number {
    return this.#port;
  }

  /** The base URL for MXHOOK_FUNCTION_URL. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}/`;
  }

  get alive(): boolean {
    return this.#child !== null;
  }

  /** Changes how the function answers from now on. */
  async setMode(mode: FaultMode): Promise<void> {
    this.#child?.stdin?.write(`mode ${mode}\n`);
    await this.sync();
  }

  /** Resolves once every line the function wrote so far is in the ledger. */
  async sync(): Promise<void> {
    if (this.#child === null) return this.#exited;
    const n = ++this.#pings;
    this.#child.stdin?.write(`ping ${n}\n`);
    await this.waitFor(() => this.#pongs.has(n) || this.#child === null, `pong ${n}`);
  }

  /** SIGKILL, as a crash would; resolves once the process is gone and its output is read. */
  async kill(): Promise<void> {
    this.#child?.kill('SIGKILL');
    await this.#exited;
  }

  /** Kills the function if it runs, then starts it again on the same port with the same ledger. */
  async restart(mode: FaultMode = this.#options.mode ?? 'normal'): Promise<void> {
    await this.kill();
    this.#restarts += 1;
    await this.#spawn(this.#port, mode);
  }

  /** Waits until `condition()` holds; it is checked on every line the function reports. */
  waitFor(condition: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!condition()) return;
        this.#watchers.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#watchers.delete(check);
        reject(new Error(`function: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#watchers.add(check);
      check();
    });
  }

  async #spawn(port: number, mode: FaultMode): Promise<void> {
    const [slowMin, slowMax] = this.#options.slowMs ?? [200, 800];
    const child = spawn(process.execPath, [SCRIPT], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: {
        PATH: process.env.PATH ?? '',
        FAULT_MODE: mode,
        FAULT_PORT: String(port),
        FAULT_SLOW_MS: `${slowMin}-${slowMax}`,
        // Each incarnation gets its own delays, all derived from the test's seed.
        FAULT_SEED: String((this.#options.seed ?? 1) + this.#restarts * 7919),
      },
    });
    this.#child = child;
    let listening = false;
    let buffered = '';
    const stdoutClosed = new Promise<void>((resolve) => child.stdout!.once('close', resolve));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.#exited = Promise.all([stdoutClosed, exited]).then(() => {
      if (this.#child === child) this.#child = null;
      this.#wake();
    });
    child.stdin!.on('error', () => {}); // writes to a process that just died
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => {
      buffered += text;
      let newline = buffered.indexOf('\n');
      while (newline !== -1) {
        const event = JSON.parse(buffered.slice(0, newline)) as FunctionEvent;
        buffered = buffered.slice(newline + 1);
        if (event.e === 'listening') {
          listening = true;
          this.#port = event.port!;
        }
        this.#record(event);
        newline = buffered.indexOf('\n');
      }
      this.#wake();
    });
    await this.waitFor(() => listening || this.#child !== child, 'listening line');
    if (!listening) throw new Error('the function process exited before listening');
  }

  #record(event: FunctionEvent): void {
    const { ledger } = this;
    switch (event.e) {
      case 'received': {
        const calls = ledger.received.get(event.id!) ?? [];
        calls.push(event.call!);
        ledger.received.set(event.id!, calls);
        break;
      }
      case 'accepted': {
        const calls = ledger.accepted.get(event.id!) ?? [];
        calls.push(event.call!);
        ledger.accepted.set(event.id!, calls);
        break;
      }
      case 'aborted':
        ledger.aborted += 1;
        break;
      case 'pong':
        this.#pongs.add(event.n!);
        break;
      case 'listening':
        break;
    }
  }

  #wake(): void {
    for (const watcher of [...this.#watchers]) watcher();
  }
}
