// The in-repo load generator: SMTP sessions over raw sockets, pipelined when the server offers
// PIPELINING (RFC 2920), bounded in messages and time, timing every transaction.
import { MAIL_FROM, RCPT_TO } from './constants.ts';
import type { TestMessage } from './message.ts';
import { ClientConnection } from './smtp-connection.ts';
import { Samples } from './stats.ts';

export interface LoadSpec {
  readonly port: number;
  readonly message: TestMessage;
  /** At most this many messages are started. */
  readonly messages: number;
  /** Sessions open at once. */
  readonly concurrency: number;
  /** Messages sent on one connection before QUIT. */
  readonly perSession: number;
  /** False: never pipeline, even when the server offers it (default true). */
  readonly pipelining?: boolean;
  /** No message is started after this long. */
  readonly durationMs: number;
  /** Everything still open this long after the start is destroyed and counted as failed. */
  readonly hardLimitMs: number;
}

export interface LoadResult {
  /** Messages started. */
  readonly attempted: number;
  /** Messages the server answered 250 to after the data. */
  readonly accepted: number;
  readonly failed: number;
  /** The first few failures, for the report. */
  readonly errors: readonly string[];
  /** From the first connect to the last session's end. */
  readonly wallMs: number;
  /**
   * Per accepted message: from `connect()` to the 250 after the data for the first message of a
   * session (the full transaction: TCP, banner, EHLO, MAIL/RCPT/DATA, the data), from MAIL on for
   * later ones.
   */
  readonly transactionMs: Float64Array;
  /** Per accepted message: from writing the data to its 250 (the data step alone). */
  readonly dataReplyMs: Float64Array;
  /** CPU time the load generator itself used (it shares the machine with the target). */
  readonly cpuUs: number;
}

const EHLO = 'EHLO load.client.bench.test\r\n';
const MAIL = `MAIL FROM:<${MAIL_FROM}>\r\n`;
const RCPT = `RCPT TO:<${RCPT_TO}>\r\n`;
const DATA = 'DATA\r\n';
const MAX_ERRORS_KEPT = 5;

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const run = new LoadRun(spec);
  const { transactionMs, dataReplyMs } = run;
  const open = new Set<ClientConnection>();

  async function session(): Promise<void> {
    const connectedAt = performance.now();
    let connection: ClientConnection | null = null;
    let inFlight = true; // the claimed message is not yet answered
    try {
      connection = await ClientConnection.open(spec.port);
      open.add(connection);
      if (run.aborted) throw new Error('hard time limit');
      await connection.expect(220, 'connect');
      connection.write(EHLO);
      const offered = /(^|\n)PIPELINING/i.test((await connection.expect(250, 'EHLO')).text);
      const pipelining = offered && spec.pipelining !== false;
      let sent = 0;
      for (;;) {
        const transactionStart = sent === 0 ? connectedAt : performance.now();
        if (pipelining) {
          connection.write(MAIL + RCPT + DATA);
          await connection.expect(250, 'MAIL');
          await connection.expect(250, 'RCPT');
        } else {
          connection.write(MAIL);
          await connection.expect(250, 'MAIL');
          connection.write(RCPT);
          await connection.expect(250, 'RCPT');
          connection.write(DATA);
        }
        await connection.expect(354, 'DATA');
        const dataStart = performance.now();
        connection.write(spec.message.wire);
        await connection.expect(250, 'end of data');
        const end = performance.now();
        inFlight = false;
        run.accepted += 1;
        transactionMs.push(end - transactionStart);
        dataReplyMs.push(end - dataStart);
        sent += 1;
        if (sent >= spec.perSession || !run.claim()) break;
        inFlight = true;
      }
      connection.write('QUIT\r\n');
      await connection.expect(221, 'QUIT');
    } catch (error) {
      if (inFlight) run.fail(error instanceof Error ? error.message : String(error));
    } finally {
      if (connection !== null) {
        connection.destroy();
        open.delete(connection);
      }
    }
  }

  async function worker(): Promise<void> {
    while (run.claim()) await session();
  }

  const hardLimit = setTimeout(() => {
    run.aborted = true;
    for (const connection of open) connection.destroy();
  }, spec.hardLimitMs);
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  clearTimeout(hardLimit);
  return run.result();
}

/** What a load run keeps as it goes, whichever generator drives it, and the result it ends with. */
export class LoadRun {
  readonly #spec: LoadSpec;
  readonly #started = performance.now();
  readonly #cpuAtStart = process.cpuUsage();
  readonly #errors: string[] = [];
  readonly transactionMs = new Samples();
  readonly dataReplyMs = new Samples();
  #attempted = 0;
  #failed = 0;
  accepted = 0;
  /** The hard time limit struck: start nothing more. */
  aborted = false;

  constructor(spec: LoadSpec) {
    this.#spec = spec;
  }

  /** Claims the next message, or false when the count or the duration is used up. */
  claim(): boolean {
    const stopStartingAt = this.#started + this.#spec.durationMs;
    if (this.aborted || this.#attempted >= this.#spec.messages) return false;
    if (performance.now() >= stopStartingAt) return false;
    this.#attempted += 1;
    return true;
  }

  /** A claimed message failed; the first few reasons are kept for the report. */
  fail(why: string): void {
    this.#failed += 1;
    if (this.#errors.length < MAX_ERRORS_KEPT) this.#errors.push(why);
  }

  /** What the run measured, as it ends now. */
  result(): LoadResult {
    const cpu = process.cpuUsage(this.#cpuAtStart);
    return {
      attempted: this.#attempted,
      accepted: this.accepted,
      failed: this.#failed,
      errors: this.#errors,
      wallMs: performance.now() - this.#started,
      transactionMs: this.transactionMs.values().slice(),
      dataReplyMs: this.dataReplyMs.values().slice(),
      cpuUs: cpu.user + cpu.system,
    };
  }
}

/** Several runs as one: counts and CPU added, samples joined, wall times added. */
export function mergeResults(results: readonly LoadResult[]): LoadResult {
  const join = (pick: (r: LoadResult) => Float64Array): Float64Array => {
    const out = new Float64Array(results.reduce((n, r) => n + pick(r).length, 0));
    let at = 0;
    for (const r of results) {
      out.set(pick(r), at);
      at += pick(r).length;
    }
    return out;
  };
  const sum = (pick: (r: LoadResult) => number): number => results.reduce((n, r) => n + pick(r), 0);
  return {
    attempted: sum((r) => r.attempted),
    accepted: sum((r) => r.accepted),
    failed: sum((r) => r.failed),
    errors: results.flatMap((r) => r.errors).slice(0, MAX_ERRORS_KEPT),
    wallMs: sum((r) => r.wallMs),
    transactionMs: join((r) => r.transactionMs),
    dataReplyMs: join((r) => r.dataReplyMs),
    cpuUs: sum((r) => r.cpuUs),
  };
}

export interface IdleConnections {
  /** Connections open and past the 220 banner. */
  readonly greeted: number;
  readonly failed: number;
  readonly errors: readonly string[];
  readonly openMs: number;
  closeAll(): void;
}

/** Opens `count` connections, `parallel` at a time, and reads each banner; they then stay idle. */
export async function openIdle(
  port: number,
  count: number,
  parallel: number,
  hardLimitMs: number,
): Promise<IdleConnections> {
  const started = performance.now();
  const deadline = started + hardLimitMs;
  const connections: ClientConnection[] = [];
  const errors: string[] = [];
  let next = 0;
  let greeted = 0;
  let failed = 0;
  const waiting = new Set<ClientConnection>();
  // A banner that never comes must not hold the run: at the limit, give up on those connections.
  const hardLimit = setTimeout(() => {
    for (const connection of waiting) connection.destroy();
  }, hardLimitMs);
  async function opener(): Promise<void> {
    while (next < count && performance.now() < deadline) {
      next += 1;
      try {
        const connection = await ClientConnection.open(port);
        connections.push(connection);
        waiting.add(connection);
        await connection.expect(220, 'connect');
        waiting.delete(connection);
        greeted += 1;
      } catch (error) {
        failed += 1;
        if (errors.length < MAX_ERRORS_KEPT) errors.push((error as Error).message);
      }
    }
  }
  await Promise.all(Array.from({ length: parallel }, opener));
  clearTimeout(hardLimit);
  return {
    greeted,
    failed,
    errors,
    openMs: performance.now() - started,
    closeAll() {
      for (const connection of connections) connection.destroy();
    },
  };
}
