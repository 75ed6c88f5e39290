// Request/reply over a forked child's IPC channel: the runner asks, the child (function or target) answers.
import { type ChildProcess, fork } from 'node:child_process';

interface Envelope {
  readonly id: number;
  readonly type: string;
  readonly args?: unknown;
}

interface Answer {
  readonly id: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: string;
}

type Handlers = Readonly<Record<string, (args: never) => unknown>>;

/** In the child: answers each request with its handler's (awaited) result. */
export function answerRequests(handlers: Handlers): void {
  process.on('message', (message: Envelope) => {
    const handler = handlers[message.type] as ((args: unknown) => unknown) | undefined;
    void (async () => {
      try {
        if (handler === undefined) throw new Error(`no handler for ${message.type}`);
        send({ id: message.id, ok: true, value: await handler(message.args) });
      } catch (error) {
        send({ id: message.id, ok: false, error: (error as Error).stack ?? String(error) });
      }
    })();
  });
}

/** In the child: tells the parent it is listening (the first message the parent waits for). */
export function announce(value: unknown): void {
  send({ id: 0, ok: true, value });
}

function send(answer: Answer): void {
  process.send?.(answer);
}

export interface ChildOptions {
  readonly args?: readonly string[];
  readonly execArgv?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** How long the child may take to announce itself. */
  readonly startTimeoutMs?: number;
}

/** The parent's handle on a forked child that answers requests. */
export class Child<Ready = unknown> {
  readonly process: ChildProcess;
  readonly ready: Promise<Ready>;
  readonly #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  #nextId = 1;
  #exited = false;

  constructor(module: string, options: ChildOptions = {}) {
    this.process = fork(module, [...(options.args ?? [])], {
      execArgv: [...(options.execArgv ?? [])],
      env: options.env ?? process.env,
      // The child's logs would cost the runner CPU to read; a benchmark only needs its IPC.
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    let announced!: (value: Ready) => void;
    let failed!: (error: Error) => void;
    this.ready = new Promise<Ready>((resolve, reject) => {
      announced = resolve;
      failed = reject;
    });
    const timer = setTimeout(
      () =>
        failed(new Error(`${module} did not start within ${options.startTimeoutMs ?? 20_000} ms`)),
      options.startTimeoutMs ?? 20_000,
    );
    this.process.on('message', (answer: Answer) => {
      if (answer.id === 0) {
        clearTimeout(timer);
        announced(answer.value as Ready);
        return;
      }
      const waiter = this.#pending.get(answer.id);
      if (waiter === undefined) return;
      this.#pending.delete(answer.id);
      if (answer.ok) waiter.resolve(answer.value);
      else waiter.reject(new Error(`child ${module}: ${answer.error}`));
    });
    this.process.on('exit', (code, signal) => {
      this.#exited = true;
      clearTimeout(timer);
      const error = new Error(`${module} exited (code ${code}, signal ${signal})`);
      failed(error);
      for (const waiter of this.#pending.values()) waiter.reject(error);
      this.#pending.clear();
    });
  }

  get pid(): number {
    return this.process.pid ?? 0;
  }

  request<T>(type: string, args?: unknown, timeoutMs = 60_000): Promise<T> {
    if (this.#exited) return Promise.reject(new Error(`child exited before ${type}`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`child did not answer ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.process.send({ id, type, args } satisfies Envelope);
    });
  }

  /** Asks the child to stop; kills it (by its own pid) if it has not exited in time. */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    this.request('stop', undefined, timeoutMs).catch(() => {});
    const timer = setTimeout(() => this.process.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}
