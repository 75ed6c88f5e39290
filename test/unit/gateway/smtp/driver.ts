// A pure test driver for the SMTP core: feeds events to transition() and records replies, calls and actions.
import type { MxhookErrorCode } from '../../../../functions/sdk/errors.ts';
import type { SessionInfo, TlsInfo } from '../../../../functions/sdk/wire.ts';
import type { DataOutcome } from '../../../../gateway/smtp/data-decoder.ts';
import { decide, type HookOutcome } from '../../../../gateway/smtp/decision.ts';
import { formatReply } from '../../../../gateway/smtp/reply.ts';
import { chunkToRead } from '../../../../gateway/smtp/session.ts';
import type { BdatChunk } from '../../../../gateway/smtp/session-reader.ts';
import type {
  HookCall,
  SessionAction,
  SessionEvent,
  SessionSettings,
  SessionState,
} from '../../../../gateway/smtp/session-state.ts';
import { startSession, transition } from '../../../../gateway/smtp/transition.ts';

export type DataCall = Extract<HookCall, { step: 'data' }>;

export const SETTINGS: SessionSettings = Object.freeze({
  hostname: 'mx.example.net',
  banner: 'ESMTP mxhook',
  maxMessageBytes: 10_000,
  bareLf: 'normalize',
  longLines: 'accept',
  maxRecipients: 3,
  maxBadCommands: 5,
  maxJunkCommands: 100,
  tlsAvailable: true,
  requireTls: false,
  isOverMemoryBudget: () => false,
});

export const INFO: SessionInfo = Object.freeze({
  id: 'S1',
  client: { address: '192.0.2.7', port: 40_000 },
  server: { address: '192.0.2.25', port: 25, hostname: 'mx.example.net' },
  helo: null,
  tls: null,
  auth: null,
  proxied: false,
});

export const TLS: TlsInfo = Object.freeze({
  version: 'TLSv1.3',
  cipher: 'TLS_AES_256_GCM_SHA384',
  sni: 'mx.example.net',
});

/** A fixed moment for Received headers: Tue, 2 Jan 2024 03:04:05 UTC. */
export const NOW = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));

export const ACCEPT = Object.freeze({ action: 'accept' });
export const REJECT = Object.freeze({ action: 'reject' });
export const DEFER = Object.freeze({ action: 'defer' });
/** The transaction-end action of a message refused for its size (552), before any data call. */
export const ENDED_TOO_LARGE: SessionAction = Object.freeze({
  type: 'transaction-end',
  outcome: 'too-large',
  queueId: null,
  headers: {},
  // The transaction of `inTransaction()`; a refused message's size and Message-ID are not read.
  summary: {
    mailFrom: 'sender@example.org',
    rcptTo: ['rcpt@example.com'],
    sizeBytes: null,
    messageId: null,
  },
});

export interface DriverOptions {
  readonly settings?: Partial<SessionSettings>;
  readonly info?: Partial<SessionInfo>;
}

/** One session under test. Every method returns the wire text of the replies the event produced. */
export class SessionDriver {
  readonly settings: SessionSettings;
  /** Every action, in order, since the session started. */
  readonly actions: SessionAction[] = [];
  #state: SessionState;
  #last: readonly SessionAction[];
  /** The kept BDAT chunks of the message being sent. */
  #bdatParts: Buffer[] = [];

  constructor(options: DriverOptions = {}) {
    this.settings = { ...SETTINGS, ...options.settings };
    const first = startSession({ ...INFO, ...options.info });
    this.#state = first.state;
    this.#last = first.actions;
    this.actions.push(...first.actions);
  }

  get state(): SessionState {
    return this.#state;
  }

  get closed(): boolean {
    return this.#state.phase === 'closed';
  }

  /** The actions of the last event. */
  get last(): readonly SessionAction[] {
    return this.#last;
  }

  /** The BDAT chunk the session reads next, or null when it is not reading one. */
  get chunkToRead(): BdatChunk | null {
    return this.#state.phase === 'bdat' ? chunkToRead(this.#state) : null;
  }

  /** The action types of the last event, for asserting their order. */
  get lastTypes(): readonly SessionAction['type'][] {
    return this.#last.map((a) => a.type);
  }

  /** Every handler call made so far. */
  get hooks(): readonly HookCall[] {
    return this.actions.flatMap((a) => (a.type === 'hook' ? [a.call] : []));
  }

  /** The handler call the last event made, if any. */
  get lastHook(): HookCall | undefined {
    const found = this.#last.find((a) => a.type === 'hook');
    return found?.type === 'hook' ? found.call : undefined;
  }

  /** The data call the last event made; fails the test if it made none. */
  get dataCall(): DataCall {
    const call = this.lastHook;
    if (call?.step !== 'data') throw new Error(`expected a data call, got ${call?.step ?? 'none'}`);
    return call;
  }

  /** Everything the gateway has written so far. */
  get transcript(): string {
    return wireOf(this.actions);
  }

  dispatch(event: SessionEvent): string {
    const next = transition(this.#state, event, this.settings);
    this.#state = next.state;
    this.#last = next.actions;
    this.actions.push(...next.actions);
    return wireOf(next.actions);
  }

  /** One command line, without its CRLF; a string is sent as UTF-8. */
  send(line: string | Buffer): string {
    return this.dispatch({
      type: 'line',
      line: typeof line === 'string' ? Buffer.from(line) : line,
    });
  }

  /** Answers the call in flight with a parsed response body. */
  answer(response: unknown): string {
    return this.dispatch(answered(this.#state, { ok: true, response }));
  }

  /** The call in flight failed (timeout, network, non-2xx …). */
  fail(code: MxhookErrorCode = 'ERR_HOOK_TIMEOUT'): string {
    const error = { code, message: 'the call failed' };
    return this.dispatch(answered(this.#state, { ok: false, error }));
  }

  /** Sends a line whose handler call must follow, and answers it. */
  sendAnswered(line: string, response: unknown = ACCEPT): string {
    const sent = this.send(line);
    if (this.lastHook === undefined) throw new Error(`${line} made no handler call: ${sent}`);
    return sent + this.answer(response);
  }

  endData(outcome: DataOutcome, now: Date = NOW): string {
    return this.dispatch({ type: 'data-end', outcome, now });
  }

  /** A complete DATA message (the decoder's output, without the end marker). */
  endMessage(body: string, now: Date = NOW): string {
    const bytes = Buffer.from(body);
    return this.endData({ kind: 'complete', chunks: [bytes], sizeBytes: bytes.length }, now);
  }

  /**
   * The bytes of a BDAT chunk, as the shell reads them (nothing when the chunk is discarded): kept
   * chunks are collected, and the LAST one ends the message with all of them, as the reader does.
   */
  chunk(...parts: string[]): string {
    const state = this.#state;
    let outcome: DataOutcome | null = null;
    if (state.phase === 'bdat' && state.discard === null) {
      if (state.tx?.bdat === null) this.#bdatParts = [];
      this.#bdatParts.push(...parts.map((p) => Buffer.from(p)));
      if (state.last) {
        const chunks = this.#bdatParts;
        const sizeBytes = chunks.reduce((sum, c) => sum + c.length, 0);
        outcome = { kind: 'complete', chunks, sizeBytes };
      }
    }
    return this.dispatch({ type: 'bdat-chunk', outcome, now: NOW });
  }
}

/** The raw answer each `answered` event was made from, for checks independent of `decide`. */
export const outcomeOf = new WeakMap<SessionEvent, HookOutcome>();

/** The event SmtpSession makes of a hook's answer: decided for the step `state` waits on. */
export function answered(state: SessionState, outcome: HookOutcome): SessionEvent {
  const step = state.phase === 'waiting' ? state.pending.step : 'data';
  const event: SessionEvent = { type: 'hook-done', decision: decide(step, outcome) };
  outcomeOf.set(event, outcome);
  return event;
}

export function wireOf(actions: readonly SessionAction[]): string {
  return actions.map((a) => (a.type === 'reply' ? formatReply(a.reply) : '')).join('');
}

/** A session whose connect call was accepted: the banner is out. */
export function connected(options: DriverOptions = {}): SessionDriver {
  const session = new SessionDriver(options);
  session.answer(ACCEPT);
  return session;
}

/** A session after an accepted `EHLO client.example` (or the given greeting). */
export function greeted(options: DriverOptions = {}, hello = 'EHLO client.example'): SessionDriver {
  const session = connected(options);
  session.sendAnswered(hello);
  return session;
}

/** A session in a transaction: MAIL FROM:<sender@example.org> and the recipients accepted. */
export function inTransaction(
  options: DriverOptions = {},
  recipients: readonly string[] = ['rcpt@example.com'],
): SessionDriver {
  const session = greeted(options);
  session.sendAnswered('MAIL FROM:<sender@example.org>');
  for (const rcpt of recipients) session.sendAnswered(`RCPT TO:<${rcpt}>`);
  return session;
}
