// One SMTP session as a pure object: bytes, hook answers and outside events go in; replies and the
// effects the I/O shell carries out come out. It owns the input, the reader (chosen from the state
// it enters) and the state, so the socket class only moves bytes, runs timers and calls hooks, and
// tests drive exactly what runs in production.
import type { SessionInfo, Step } from '../../functions/sdk/wire.ts';
import { type Decision, decide, type HookOutcome } from './decision.ts';
import type { ByteBudget, MessageSink } from './message-blocks.ts';
import type { Reply } from './reply.ts';
import { type BdatChunk, SessionReader } from './session-reader.ts';
import type {
  PhaseState,
  ReplyStep,
  SessionAction,
  SessionEvent,
  SessionSettings,
  SessionState,
} from './session-state.ts';
import { startSession, transition } from './transition.ts';

export interface SmtpSessionOptions {
  readonly settings: SessionSettings;
  /** Where message bytes are charged while held; unlimited when absent. */
  readonly budget?: ByteBudget;
  /** The time for Received headers; the shell passes the wall clock, tests a fixed one. */
  readonly clock: () => Date;
  /** Asked at the start of each message for a reader of its bytes as they arrive (or null). */
  readonly messageSink?: () => MessageSink | null;
}

/** Events the shell reports as they happen: applied at once, whatever input is waiting. */
export type OutsideEvent = Extract<
  SessionEvent,
  {
    type:
      | 'timeout'
      | 'session-expired'
      | 'shutdown'
      | 'early-talker'
      | 'tls-started'
      | 'client-named';
  }
>;

/** What one step of the session produced. */
export interface SessionOutput {
  readonly actions: readonly SessionAction[];
  /** What the replies among `actions` answer, for metrics. */
  readonly step: ReplyStep;
}

export class SmtpSession {
  readonly #settings: SessionSettings;
  readonly #clock: () => Date;
  readonly #reader: SessionReader;
  #state: SessionState;
  /** Answers (hook, admission) waiting to be applied, in order, before any more input is read. */
  readonly #answers: SessionEvent[] = [];
  /** The connect call, until the first `next()` hands it out. */
  #start: SessionOutput | null;

  constructor(info: SessionInfo, options: SmtpSessionOptions) {
    this.#settings = options.settings;
    this.#clock = options.clock;
    this.#reader = new SessionReader(options.budget, options.messageSink ?? null);
    const first = startSession(info);
    this.#state = first.state;
    this.#start = { actions: first.actions, step: 'connect' };
  }

  get state(): SessionState {
    return this.#state;
  }

  /** The message is being received (DATA or a BDAT chunk): the client owes bytes, not a command. */
  get receivingMessage(): boolean {
    return this.#state.phase === 'data' || this.#state.phase === 'bdat';
  }

  /** The banner has not gone out yet: a client sending now has not waited for it. */
  get beforeBanner(): boolean {
    return this.#state.phase === 'waiting' && this.#state.pending.step === 'connect';
  }

  /** Bytes received and not yet read. */
  get bufferedBytes(): number {
    return this.#reader.bufferedBytes;
  }

  receive(bytes: Buffer): void {
    if (this.#state.phase !== 'closed') this.#reader.push(bytes);
  }

  /**
   * The answer to the call the last `hook` action asked for: interpreted here, once, and applied
   * by the next `next()`. The decision is returned for the shell's logs and metrics.
   */
  answer(step: Step, outcome: HookOutcome): Decision {
    const decision = decide(step, outcome);
    this.#answers.push({ type: 'hook-done', decision });
    return decision;
  }

  /** The answer to `admit`: the reply refusing the new client, or null; applied by `next()`. */
  admitted(refusal: Reply | null): void {
    this.#answers.push({ type: 'admission', refusal });
  }

  /** Applies an outside event now. */
  handle(event: OutsideEvent): SessionOutput {
    return this.#apply(event);
  }

  /**
   * Applies the next answer, or the next event the buffered input makes; null when the session
   * must wait (for more bytes, a hook, the TLS handshake) or is closed.
   */
  next(): SessionOutput | null {
    const start = this.#start;
    if (start !== null) {
      this.#start = null;
      return start;
    }
    if (this.#state.phase === 'closed') return null;
    const event = this.#answers.shift() ?? this.#reader.next(this.#state.phase, this.#clock);
    return event === undefined || event === null ? null : this.#apply(event);
  }

  /** Message bytes read since the last call: a sender earns time on its data deadline with them. */
  takeMessageBytesRead(): number {
    return this.#reader.takeMessageBytesRead();
  }

  /** The connection is gone: drop the input and give back the bytes held for the message. */
  close(): void {
    this.#reader.clear();
    this.#answers.length = 0;
    this.#state = { phase: 'closed' };
  }

  #apply(event: SessionEvent): SessionOutput {
    const before = this.#state;
    const step = replyStepOf(before);
    const { state, actions } = transition(before, event, this.#settings);
    this.#state = state;
    this.#readFor(before, state);
    const tls = actions.findIndex((a) => a.type === 'start-tls');
    if (tls === -1) return { actions, step };
    // RFC 3207 §4.2 (CVE-2011-0411): what was pipelined after STARTTLS arrived in clear.
    const withDropped = [...actions];
    withDropped[tls] = { type: 'start-tls', droppedBytes: this.#reader.discardBuffered() };
    return { actions: withDropped, step };
  }

  /** Points the reader at what the new state expects next, and lets go of a finished message. */
  #readFor(before: SessionState, after: SessionState): void {
    // No transaction any more (answered, refused, reset by RSET or EHLO): nothing is held for it.
    if (after.phase === 'command') {
      if (after.tx === null) this.#reader.releaseMessage();
      return;
    }
    if (after.phase === before.phase) return;
    // The settings carry the message limits and line rules: DATA and BDAT read under the same ones.
    if (after.phase === 'data') this.#reader.expectData(this.#settings);
    else if (after.phase === 'bdat') this.#reader.expectBdat(chunkToRead(after), this.#settings);
  }
}

/** The chunk a BDAT command announced: read whatever happens, kept only when not refused. */
export function chunkToRead(state: PhaseState<'bdat'>): BdatChunk {
  const { tx, chunkBytes, last, discard } = state;
  return {
    sizeBytes: chunkBytes,
    keep: discard === null,
    first: tx === null || tx.bdat === null,
    last,
  };
}

/** What replies produced from `state` answer: the pending step's decision, or a command. */
function replyStepOf(state: SessionState): ReplyStep {
  switch (state.phase) {
    case 'waiting':
      return state.pending.step;
    case 'data':
    case 'bdat':
      return 'data';
    case 'auth':
      return 'auth'; // the rest of an AUTH exchange (RFC 4954 §4)
    default:
      return 'command';
  }
}
