// Drives one SMTP session: feeds socket bytes to the pure core and carries out the actions it returns.
import type { Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { SessionInfo, TlsInfo } from '../../functions/sdk/wire.ts';
import type { Handler } from '../handler.ts';
import { MAX_LINE_BYTES } from '../smtp/command.ts';
import { type BareLfPolicy, DataDecoder, type LongLinePolicy } from '../smtp/data-decoder.ts';
import { decide } from '../smtp/decision.ts';
import { InputBuffer } from '../smtp/input-buffer.ts';
import { formatReply } from '../smtp/reply.ts';
import type {
  HookCall,
  HookOutcome,
  SessionAction,
  SessionEvent,
  SessionSettings,
  SessionState,
} from '../smtp/session-state.ts';
import { startSession, transition } from '../smtp/transition.ts';
import type { MemoryBudget } from './memory-budget.ts';
import type { GatewayObserver } from './observer.ts';
import { runHook } from './run-hook.ts';

export interface ConnectionOptions {
  readonly settings: SessionSettings;
  readonly handler: Handler;
  readonly functionTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly dataTimeoutMs: number;
  readonly bareLf: BareLfPolicy;
  readonly longLines: LongLinePolicy;
  /** Minimum time before the banner, to catch clients that talk first (0 = none). */
  readonly greetingDelayMs: number;
  readonly secureContext: SecureContext | null;
  readonly memory: MemoryBudget;
  readonly observer: GatewayObserver;
  readonly log: Logger;
}

/** Replies queued but unread by the client past this size stop us reading more commands. */
const WRITE_HIGH_WATER_BYTES = 64 * 1024;
/** Input buffered while a handler call is in flight past this size pauses the socket. */
const READ_HIGH_WATER_BYTES = 256 * 1024;
/** After our final reply, how long the client gets to close before we destroy the socket. */
const CLOSE_LINGER_MS = 2_000;

export function tlsInfoOf(socket: TLSSocket): TlsInfo {
  return {
    version: socket.getProtocol() ?? 'unknown',
    cipher: socket.getCipher()?.name ?? 'unknown',
    sni:
      typeof socket.servername === 'string' && socket.servername !== '' ? socket.servername : null,
  };
}

export class SmtpConnection {
  readonly #options: ConnectionOptions;
  readonly #log: Logger;
  readonly #input = new InputBuffer();
  readonly #cancel = new AbortController();
  readonly #closed: Promise<void>;
  #resolveClosed!: () => void;
  #socket: Socket;
  #state: SessionState = { phase: 'closed' };
  #decoder: DataDecoder | null = null;
  #bdat: { remaining: number; keep: boolean; parts: Buffer[] } | null = null;
  #hookInFlight = false;
  #ending = false;
  #gone = false;
  #heldBytes = 0;
  #output = '';

  constructor(socket: Socket, info: SessionInfo, options: ConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#log = options.log.child({ session: info.id });
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#attach(socket);
    options.observer.sessionOpened?.();
    this.#log.info(
      { client: info.client, server: info.server, tls: info.tls, proxied: info.proxied },
      'session opened',
    );
    const first = startSession(info);
    this.#state = first.state;
    this.#perform(first.actions);
    this.#flush();
  }

  /** Resolves once the socket is closed and the session is gone. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** Graceful shutdown: idle sessions get 421 now, a transaction in progress may finish. */
  shutdown(): void {
    this.#dispatch({ type: 'shutdown' });
    this.#flush();
  }

  /** End of the grace period: cancel any handler call (its answer becomes 451) and close. */
  abort(): void {
    this.#cancel.abort();
    setTimeout(() => this.#socket.destroy(), 100).unref();
  }

  #attach(socket: Socket): void {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('timeout', () => {
      this.#log.info('timeout');
      this.#options.observer.refused?.('timeout');
      this.#dispatch({ type: 'timeout' });
      this.#flush();
    });
    socket.on('error', (error) => this.#log.debug({ err: error.message }, 'socket error'));
    socket.on('close', () => this.#onClose());
    socket.on('drain', () => this.#pump());
  }

  #onData(chunk: Buffer): void {
    this.#options.observer.bytesReceived?.(chunk.length);
    if (this.#ending) return;
    if (this.#state.phase === 'waiting' && this.#state.pending.step === 'connect') {
      // Bytes before our banner: a legitimate client always waits for it (RFC 5321 §3.1).
      this.#options.observer.refused?.('early-talker');
      this.#dispatch({ type: 'early-talker' });
      this.#flush();
      return;
    }
    this.#input.push(chunk);
    this.#pump();
  }

  /** Processes buffered input for as long as the session can act on it without waiting. */
  #pump(): void {
    while (!this.#ending && !this.#hookInFlight) {
      if (this.#socket.writableLength > WRITE_HIGH_WATER_BYTES) break; // resumed by 'drain'
      const event = this.#nextEvent();
      if (event === null) break;
      this.#dispatch(event);
    }
    this.#applyBackPressure();
    this.#flush();
  }

  #nextEvent(): SessionEvent | null {
    const state = this.#state;
    switch (state.phase) {
      case 'command': {
        const result = this.#input.nextLine(MAX_LINE_BYTES);
        if (result === null) return null;
        return result.kind === 'line'
          ? { type: 'line', line: result.line }
          : { type: 'line-too-long' };
      }
      case 'data':
        return this.#feedDecoder();
      case 'bdat':
        return this.#feedBdat();
      default:
        return null;
    }
  }

  #feedDecoder(): SessionEvent | null {
    const decoder = this.#decoder!;
    const chunks = this.#input.takeAll();
    for (let i = 0; i < chunks.length; i++) {
      const result = decoder.push(chunks[i]!);
      if (!result.done) continue;
      for (let j = chunks.length - 1; j > i; j--) this.#input.unshift(chunks[j]!);
      this.#input.unshift(result.rest);
      this.#decoder = null;
      this.#hold(result.outcome.kind === 'complete' ? result.outcome.sizeBytes : 0);
      return { type: 'data-end', outcome: result.outcome, now: new Date() };
    }
    this.#hold(decoder.bytesHeld);
    return null;
  }

  #feedBdat(): SessionEvent | null {
    const bdat = this.#bdat!;
    const count = Math.min(bdat.remaining, this.#input.length);
    if (count > 0) {
      const parts = this.#input.takeBytes(count)!;
      bdat.remaining -= count;
      if (bdat.keep) {
        bdat.parts.push(...parts);
        this.#hold(this.#heldBytes + count);
      }
    }
    if (bdat.remaining > 0) return null;
    this.#bdat = null;
    return { type: 'bdat-chunk', chunks: bdat.parts, now: new Date() };
  }

  #dispatch(event: SessionEvent): void {
    if (this.#state.phase === 'closed') return;
    const { state, actions } = transition(this.#state, event, this.#options.settings);
    this.#state = state;
    this.#perform(actions);
  }

  #perform(actions: readonly SessionAction[]): void {
    for (const action of actions) {
      switch (action.type) {
        case 'reply':
          this.#output += formatReply(action.reply);
          this.#options.observer.reply?.(this.#state.phase, action.reply);
          break;
        case 'hook':
          this.#callHook(action.call);
          break;
        case 'receive-data':
          this.#decoder = new DataDecoder({
            maxMessageBytes: this.#options.settings.maxMessageBytes,
            bareLf: this.#options.bareLf,
            longLines: this.#options.longLines,
          });
          this.#socket.setTimeout(this.#options.dataTimeoutMs);
          break;
        case 'receive-bdat':
          this.#bdat = { remaining: action.sizeBytes, keep: action.keep, parts: [] };
          this.#socket.setTimeout(this.#options.dataTimeoutMs);
          break;
        case 'start-tls':
          this.#startTls();
          break;
        case 'transaction-end':
          this.#hold(0);
          this.#options.observer.transactionEnded?.(action.outcome);
          this.#log.info(
            { queueId: action.queueId, outcome: action.outcome, headers: action.headers },
            'transaction ended',
          );
          break;
        case 'close':
          this.#end();
          break;
      }
    }
    if (this.#state.phase === 'command') this.#socket.setTimeout(this.#options.idleTimeoutMs);
  }

  #callHook(call: HookCall): void {
    this.#hookInFlight = true;
    this.#socket.setTimeout(0); // the function's own deadline applies while it decides
    const started = performance.now();
    const answer = runHook(
      this.#options.handler,
      call,
      this.#options.functionTimeoutMs,
      this.#cancel.signal,
    );
    const delay =
      call.step === 'connect' && this.#options.greetingDelayMs > 0
        ? new Promise((resolve) => setTimeout(resolve, this.#options.greetingDelayMs))
        : null;
    void Promise.all([answer, delay]).then(([outcome]) => {
      this.#hookInFlight = false;
      const durationMs = performance.now() - started;
      if (this.#gone) return;
      this.#observeDecision(call.step, outcome, durationMs);
      this.#dispatch({ type: 'hook-done', outcome });
      this.#pump();
    });
  }

  #observeDecision(step: HookCall['step'], outcome: HookOutcome, durationMs: number): void {
    const decision = decide(step, outcome);
    if (decision.failure !== null)
      this.#log.warn({ step, error: decision.failure, durationMs }, 'function call failed');
    else this.#log.debug({ step, code: decision.reply.code, durationMs }, 'function answered');
    this.#options.observer.hookCall?.(step, decision.outcome, durationMs);
  }

  #startTls(): void {
    const context = this.#options.secureContext;
    if (context === null) return;
    this.#flush();
    // RFC 3207 §4.2 / CVE-2011-0411: commands pipelined after STARTTLS arrived in clear; drop them.
    const dropped = this.#input.clear();
    if (dropped > 0)
      this.#log.warn({ droppedBytes: dropped }, 'discarded input pipelined after STARTTLS');
    const plain = this.#socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('timeout');
    plain.removeAllListeners('drain');
    plain.removeAllListeners('close');
    plain.setTimeout(0);
    const secure = new TLSSocket(plain, { isServer: true, secureContext: context });
    secure.setTimeout(this.#options.idleTimeoutMs);
    secure.once('secure', () => {
      this.#options.observer.tlsHandshake?.(true);
      this.#dispatch({ type: 'tls-started', tls: tlsInfoOf(secure) });
      this.#pump();
    });
    secure.once('error', () => this.#options.observer.tlsHandshake?.(false));
    this.#attach(secure);
  }

  #applyBackPressure(): void {
    const socket = this.#socket;
    const stalled = this.#hookInFlight && this.#input.length > READ_HIGH_WATER_BYTES;
    const unread = socket.writableLength > WRITE_HIGH_WATER_BYTES;
    if (stalled || unread) socket.pause();
    else if (socket.isPaused()) socket.resume();
  }

  #flush(): void {
    if (this.#output === '' || this.#gone) return;
    this.#socket.write(this.#output);
    this.#output = '';
  }

  #end(): void {
    if (this.#ending) return;
    this.#ending = true;
    this.#flush();
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), CLOSE_LINGER_MS).unref();
  }

  /** Tracks this session's message bytes in the shared budget. */
  #hold(bytes: number): void {
    this.#options.memory.change(bytes - this.#heldBytes);
    this.#heldBytes = bytes;
  }

  #onClose(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#cancel.abort();
    this.#hold(0);
    this.#decoder = null;
    this.#bdat = null;
    this.#input.clear();
    this.#state = { phase: 'closed' };
    this.#options.observer.sessionClosed?.();
    this.#log.info('session closed');
    this.#resolveClosed();
  }
}
