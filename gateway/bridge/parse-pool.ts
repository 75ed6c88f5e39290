// A bounded pool of parse worker threads: messages are parsed off the event loop, each worker under a
// heap cap and each parse under a time limit; a worker that dies, overruns or is abandoned is replaced.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ParseError } from '../../functions/sdk/wire.ts';
import { MxhookError } from '../errors.ts';
import type { WorkerAnswer, WorkerInput } from './parse-worker.ts';

/** How one message is parsed. */
export interface ParseOptions {
  /**
   * Whether attachments carry their bytes (`content`); false for a message sent by reference,
   * whose attachments are only described. Default true.
   */
  readonly attachmentContent?: boolean;
}

/** What parsing a message gives: its `parsed` JSON as UTF-8 pieces, or why there is none. */
export type ParseOutcome =
  | { readonly json: readonly Uint8Array[] }
  | { readonly error: ParseError };

export interface ParsePoolOptions {
  /** Worker threads, each parsing one message at a time. */
  readonly workers: number;
  /**
   * Messages waiting for a worker; one more is refused (ERR_PARSE_BUSY). The gateway sets it to
   * its session limit, since a session has at most one data call.
   */
  readonly maxQueued: number;
  /** One parse may take this long before its worker is terminated (`timeout`). */
  readonly timeLimitMs: number;
  /** Each worker's V8 heap cap (`resourceLimits.maxOldGenerationSizeMb`); reaching it is `memory`. */
  readonly heapLimitMiB: number;
  /** Larger messages are not parsed (`too-large`). */
  readonly maxInputBytes: number;
  /** Charged with `costFactor` × the message size while its parse runs, released when it ends. */
  readonly budget: { change(deltaBytes: number): void };
  /** Memory a running parse takes, per byte of message (see DEFAULT_PARSE_POOL). */
  readonly costFactor: number;
  /** Small messages a busy worker may be handed at once, the one it parses included. */
  readonly pipelineDepth: number;
  /** The worker module; parse-worker.ts unless a test gives its own. */
  readonly workerUrl?: URL;
}

/**
 * One worker per CPU beyond the first, at most 4: the event loop keeps a core, and a parse peaks
 * at several times the message's size, so parallel parses multiply memory (one on 2 CPUs).
 *
 * The cost factor is that peak over the message size, measured on a 9.3 MiB HTML-only mail
 * (`npm run bench:parse`): 85–125 MiB of RSS for one parse (the input's copy, mailparser's buffers
 * and its several copies of the body as a two-byte string, the JSON pieces), 9–13×; a mail that is
 * mostly attachments costs less. The heap cap sits well above what the
 * largest parsed message (16 MiB) needs, because it is a last resort only: Node stops a worker at
 * its cap on a best-effort basis, and some allocations (one large string) abort the whole process
 * instead, so the size limit is what actually bounds a parse.
 */
export const DEFAULT_PARSE_POOL = {
  workers: Math.max(1, Math.min(4, availableParallelism() - 1)),
  timeLimitMs: 10_000,
  heapLimitMiB: 192,
  maxInputBytes: 16 * 1024 * 1024,
  costFactor: 10,
  pipelineDepth: 4,
} as const;

/** Messages up to this size may wait inside a busy worker (see ParsePool#canWaitIn). */
const PIPELINE_MAX_BYTES = 64 * 1024;

// The worker is the module next to this one with this module's own extension: `.ts` when Node runs
// the sources (type stripping), `.js` once compiled.
const WORKER_URL = new URL(
  `./parse-worker${/\.[cm]?[jt]s$/.exec(new URL(import.meta.url).pathname)?.[0] ?? '.js'}`,
  import.meta.url,
);

interface Job {
  readonly chunks: readonly Buffer[];
  readonly sizeBytes: number;
  readonly attachmentContent: boolean;
  readonly signal: AbortSignal;
  readonly resolve: (outcome: ParseOutcome) => void;
  readonly reject: (error: unknown) => void;
  /** The worker it was handed to, or null while it waits in the pool's queue. */
  slot: Slot | null;
  /** Charged to the budget while it is in a worker. */
  costBytes: number;
  /** Answered or refused; a caller that gave up while it was in a worker has its answer dropped. */
  settled: boolean;
  readonly onAbort: () => void;
}

/** A worker and the messages handed to it, in order: the first is being parsed, the rest wait there. */
interface Slot {
  readonly worker: Worker;
  readonly jobs: Job[];
  /** The time limit of the first job. */
  timer: NodeJS.Timeout | null;
}

export class ParsePool {
  readonly #options: ParsePoolOptions;
  readonly #slots = new Set<Slot>();
  readonly #queue: Job[] = [];
  #closed = false;

  constructor(options: ParsePoolOptions) {
    for (const key of [
      'workers',
      'maxQueued',
      'timeLimitMs',
      'heapLimitMiB',
      'costFactor',
      'pipelineDepth',
    ] as const)
      if (!(options[key] > 0)) throw new RangeError(`parse pool option ${key} must be positive`);
    this.#options = options;
  }

  /** Workers alive now (started on demand, kept while idle). */
  get workerCount(): number {
    return this.#slots.size;
  }

  /** Messages waiting for a worker. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Parses the message whose bytes are `chunks` (`sizeBytes` in all). A message that cannot be
   * parsed resolves with the reason; rejects only when the pool cannot take it (ERR_PARSE_BUSY,
   * ERR_SHUTTING_DOWN) or with `signal`'s reason when the caller gives up.
   */
  parse(
    chunks: readonly Buffer[],
    sizeBytes: number,
    signal: AbortSignal,
    options: ParseOptions = {},
  ): Promise<ParseOutcome> {
    if (sizeBytes > this.#options.maxInputBytes) {
      return Promise.resolve({
        error: {
          code: 'too-large',
          message: `${sizeBytes} bytes is more than the ${this.#options.maxInputBytes} parsed`,
        },
      });
    }
    if (this.#closed) {
      return Promise.reject(new MxhookError('ERR_SHUTTING_DOWN', 'the parse pool is closed'));
    }
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.#queue.length >= this.#options.maxQueued) {
      return Promise.reject(
        new MxhookError(
          'ERR_PARSE_BUSY',
          `${this.#queue.length} messages are waiting to be parsed`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const job: Job = {
        chunks,
        sizeBytes,
        attachmentContent: options.attachmentContent ?? true,
        signal,
        resolve,
        reject,
        slot: null,
        costBytes: 0,
        settled: false,
        onAbort: () => this.#abandon(job),
      };
      signal.addEventListener('abort', job.onAbort, { once: true });
      this.#queue.push(job);
      this.#next();
    });
  }

  /**
   * Starts every worker now rather than for the first messages: a worker takes a few hundred
   * milliseconds to load the parser, which would otherwise come out of those messages' function
   * timeout. Idle workers do not keep the process alive.
   */
  warm(): void {
    while (!this.#closed && this.#slots.size < this.#options.workers)
      this.#stopClock(this.#spawn());
  }

  /** Terminates every worker; waiting and running parses are refused with ERR_SHUTTING_DOWN. */
  async close(): Promise<void> {
    this.#closed = true;
    const closed = new MxhookError('ERR_SHUTTING_DOWN', 'the parse pool is closed');
    for (const job of this.#queue.splice(0)) this.#settle(job, null, closed);
    const workers: Promise<number>[] = [];
    for (const slot of [...this.#slots]) {
      for (const job of this.#retire(slot)) this.#settle(job, null, closed);
      workers.push(slot.worker.terminate());
    }
    await Promise.all(workers);
  }

  /** Hands waiting messages to workers: an idle one, a new one, or one parsing small messages. */
  #next(): void {
    while (this.#queue.length > 0 && !this.#closed) {
      const job = this.#queue[0]!;
      const slot = this.#slotFor(job);
      if (slot === null) return;
      this.#queue.shift();
      this.#send(slot, job);
    }
  }

  #slotFor(job: Job): Slot | null {
    let pipelined: Slot | null = null;
    for (const slot of this.#slots) {
      if (slot.jobs.length === 0) return slot;
      if (pipelined === null && this.#canWaitIn(slot, job)) pipelined = slot;
    }
    if (this.#slots.size < this.#options.workers) return this.#spawn();
    return pipelined;
  }

  /**
   * Whether `job` may wait inside a busy worker, to start the moment the one before it is done:
   * a worker that goes idle between messages and is woken for the next costs more CPU than a small
   * message's parse (measured: 0.40 against 0.21 ms per 1 KiB message). Large messages never wait
   * there, so that one worker never holds the peak memory of two of them.
   */
  #canWaitIn(slot: Slot, job: Job): boolean {
    const small = (j: Job): boolean => j.sizeBytes <= PIPELINE_MAX_BYTES;
    return slot.jobs.length < this.#options.pipelineDepth && small(job) && slot.jobs.every(small);
  }

  #spawn(): Slot {
    const worker = new Worker(this.#options.workerUrl ?? WORKER_URL, {
      resourceLimits: { maxOldGenerationSizeMb: this.#options.heapLimitMiB },
      stdout: true,
      stderr: true,
    });
    // Whatever a library prints there is not the gateway's log (one JSON line per event); failures
    // arrive as 'error' events.
    worker.stdout.resume();
    worker.stderr.resume();
    const slot: Slot = { worker, jobs: [], timer: null };
    worker
      .on('message', (answer: WorkerAnswer) => this.#answered(slot, answer))
      .on('error', (error: Error & { code?: string }) =>
        this.#failed(
          slot,
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? failed(
                'memory',
                `parsing needed more than the ${this.#options.heapLimitMiB} MiB heap`,
              )
            : failed('malformed', error.message),
        ),
      )
      .on('exit', () =>
        this.#failed(slot, new MxhookError('ERR_SHUTTING_DOWN', 'the parse worker stopped')),
      );
    this.#slots.add(slot);
    return slot;
  }

  #send(slot: Slot, job: Job): void {
    job.slot = slot;
    job.costBytes = Math.ceil(job.sizeBytes * this.#options.costFactor);
    this.#options.budget.change(job.costBytes);
    slot.jobs.push(job);
    if (slot.jobs.length === 1) this.#startClock(slot);
    // One copy of the message, handed over rather than cloned: the worker owns it from here.
    const input = new ArrayBuffer(job.sizeBytes);
    const view = new Uint8Array(input);
    let at = 0;
    for (const chunk of job.chunks) {
      view.set(chunk, at);
      at += chunk.length;
    }
    const message: WorkerInput = { bytes: input, attachmentContent: job.attachmentContent };
    slot.worker.postMessage(message, [input]);
  }

  /** The worker answers its messages in the order it was given them (parse-worker.ts). */
  #answered(slot: Slot, answer: WorkerAnswer): void {
    const job = slot.jobs.shift();
    if (job === undefined) return;
    this.#release(job);
    this.#settle(job, 'json' in answer ? answer : failed('malformed', answer.malformed), null);
    if (slot.jobs.length > 0) this.#startClock(slot);
    else this.#stopClock(slot);
    this.#next();
  }

  /**
   * The worker died, overran or was abandoned: the message it was parsing gets `outcome` (or is
   * refused with it), and the ones waiting behind it go back to the front of the queue.
   */
  #failed(slot: Slot, outcome: ParseOutcome | Error): void {
    if (!this.#slots.has(slot)) return;
    const [current, ...waiting] = this.#retire(slot);
    void slot.worker.terminate();
    if (current !== undefined) {
      if (outcome instanceof Error) this.#settle(current, null, outcome);
      else this.#settle(current, outcome, null);
    }
    this.#queue.unshift(...waiting.filter((job) => !job.settled));
    this.#next();
  }

  /** Takes `slot` out of the pool; its jobs are returned, no longer charged nor in a worker. */
  #retire(slot: Slot): Job[] {
    this.#slots.delete(slot);
    this.#stopClock(slot);
    slot.worker.removeAllListeners('message').removeAllListeners('exit');
    const jobs = slot.jobs.splice(0);
    for (const job of jobs) this.#release(job);
    return jobs;
  }

  /** The caller gave up: a waiting message leaves the queue; a running one takes its worker along. */
  #abandon(job: Job): void {
    if (job.settled) return;
    const slot = job.slot;
    if (slot === null) {
      this.#queue.splice(this.#queue.indexOf(job), 1);
      this.#settle(job, null, job.signal.reason);
    } else if (slot.jobs[0] === job) {
      this.#failed(slot, job.signal.reason as Error);
    } else {
      // Already in the worker's hands: its parse is short (a small message), its answer dropped.
      this.#settle(job, null, job.signal.reason);
    }
  }

  #startClock(slot: Slot): void {
    this.#stopClock(slot);
    const limitMs = this.#options.timeLimitMs;
    slot.timer = setTimeout(
      () => this.#failed(slot, failed('timeout', `parsing took more than ${limitMs} ms`)),
      limitMs,
    );
    // A worker with work keeps the process alive; an idle one does not.
    slot.worker.ref();
  }

  #stopClock(slot: Slot): void {
    if (slot.timer !== null) clearTimeout(slot.timer);
    slot.timer = null;
    slot.worker.unref();
  }

  #release(job: Job): void {
    this.#options.budget.change(-job.costBytes);
    job.costBytes = 0;
    job.slot = null;
  }

  #settle(job: Job, outcome: ParseOutcome | null, error: unknown): void {
    if (job.settled) return;
    job.settled = true;
    job.signal.removeEventListener('abort', job.onAbort);
    if (outcome === null) job.reject(error);
    else job.resolve(outcome);
  }
}

function failed(code: ParseError['code'], message: string): ParseOutcome {
  return { error: { code, message } };
}
