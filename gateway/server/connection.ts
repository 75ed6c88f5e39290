// The socket side of one SMTP session: moves bytes between the socket and the pure SmtpSession,
// runs its timers and hook calls, and carries out the effects it returns.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { SessionInfo } from '../../functions/sdk/wire.ts';
import { type AuthenticationSettings, SessionChecks } from '../authentication/session-checks.ts';
import type { Handler, VerifiedCall } from '../handler.ts';
import { proxySignatureOf } from '../net/proxy-protocol.ts';
import type { Decision, HookOutcome } from '../smtp/decision.ts';
import { formatReply, type Reply } from '../smtp/reply.ts';
import { type OutsideEvent, type SessionOutput, SmtpSession } from '../smtp/session.ts';
import type { HookCall, SessionSettings } from '../smtp/session-state.ts';
import { ClientDeadline } from './client-deadline.ts';
import { errorForLog } from './logger.ts';
import type { MemoryBudget } from './memory-budget.ts';
import type { GatewayObserver } from './observer.ts';
import {
  cancelledOutcome,
  checksFailedOutcome,
  outcomeWithoutHook,
  startHook,
} from './run-hook.ts';
import { upgradeToTls } from './starttls.ts';
import type { TlsServerOptions } from './tls-store.ts';
import { verifiedCall } from './verified-call.ts';

export interface ConnectionOptions {
  readonly settings: SessionSettings;
  readonly handler: Handler;
  readonly functionTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly dataTimeoutMs: number;
  /** How long the session may last in all; then 421, once the message in flight is answered. */
  readonly maxSessionDurationMs: number;
  /** Minimum time before the banner, to catch clients that talk first (0 = none). */
  readonly greetingDelayMs: number;
  /** The gateway's certificates, asked at each STARTTLS so a reload reaches open sessions too. */
  readonly tls: { serverOptions(): TlsServerOptions | null };
  readonly memory: MemoryBudget;
  readonly observer: GatewayObserver;
  readonly log: Logger;
  /** The mail authentication checks (MXHOOK_AUTH_CHECKS); null or no checks: none run. */
  readonly authentication?: AuthenticationSettings | null;
  /**
   * Admission for the client XCLIENT names (access lists, per-address limits; the session's slot
   * moves to it when admitted): the reply refusing it, or null.
   */
  readonly readmit?: (address: string) => Reply | null;
  /**
   * Told when an AUTH attempt goes to the password check, for the per-address lockout to count
   * it while undecided; the returned function is called when its answer (or failure) is in.
   */
  readonly onAuthAttempt?: () => () => void;
  /** Told of every decided AUTH attempt, for the per-address lockout. */
  readonly onAuthResult?: (ok: boolean) => void;
  /** Told once, when the socket is closed and the session is gone. */
  readonly onClosed: (session: SmtpConnection) => void;
}

/** Replies queued but unread by the client past this size stop us reading more commands. */
const WRITE_HIGH_WATER_BYTES = 64 * 1024;
/** Input buffered while a handler call is in flight past this size pauses the socket. */
const READ_HIGH_WATER_BYTES = 256 * 1024;
/** What `#head` starts as: shared, as an idle session should cost as little memory as possible. */
const NOTHING_YET = Buffer.alloc(0);
/** After our final reply, how long the client gets to close before we destroy the socket. */
const CLOSE_LINGER_MS = 2_000;
/**
 * A message must arrive at least this fast on average, as Postfix's smtpd_min_data_rate (same
 * default): each byte of DATA or BDAT earns 1000 / 500 = 2 ms more on top of dataTimeoutMs.
 */
const MIN_DATA_BYTES_PER_SECOND = 500;

const now = (): Date => new Date();

/** A hook's outcome and how long the call took (null: decided without a call). */
interface HookAnswerTimed {
  readonly outcome: HookOutcome;
  readonly durationMs: number | null;
}

export class SmtpConnection {
  readonly #options: ConnectionOptions;
  readonly #log: Logger;
  /** The protocol: it charges message bytes to the shared budget as they arrive (and gives them back). */
  readonly #session: SmtpSession;
  /** This session's authentication checks; null when none are on. */
  readonly #checks: SessionChecks | null;
  /** Cancels the handler call in flight (its answer becomes a failure); null when none is. */
  #cancelCall: (() => void) | null = null;
  #socket: Socket;
  #hookInFlight = false;
  /** The client is sending a message: its deadline is the data deadline, set when it started. */
  #receivingMessage = false;
  #ending = false;
  #gone = false;
  #output = '';
  /**
   * What the client must do next, by when: its next command or message, or, once we have ended
   * the session, close. One timer for both, cleared when the socket closes, so a finished session
   * is garbage at once rather than kept alive for the linger time by a timer of its own.
   */
  readonly #deadline = new ClientDeadline(() => {
    if (this.#gone) return;
    if (this.#ending) this.#socket.destroy();
    else this.#onTimeout();
  });
  /** Ends the session at its maximum duration, however busy it keeps us. */
  readonly #lifetime: NodeJS.Timeout;
  /** The first bytes while `#sniff` cannot yet tell; null once it has. */
  #head: Buffer | null = NOTHING_YET;
  /** The session as it last was (HELO, TLS, AUTH), for the observer: kept past its closed state. */
  #info: SessionInfo;
  #talkedEarly = false;

  constructor(socket: Socket, info: SessionInfo, options: ConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#info = info;
    const authentication = options.authentication ?? null;
    this.#checks =
      authentication === null || authentication.checks.size === 0
        ? null
        : new SessionChecks(authentication);
    const checks = this.#checks;
    this.#session = new SmtpSession(info, {
      settings: options.settings,
      budget: options.memory,
      clock: now,
      messageSink: checks === null ? undefined : () => checks.messageStarted(),
    });
    this.#log = options.log.child({ session: info.id });
    this.#attach(socket);
    this.#lifetime = setTimeout(() => this.#onExpired(), options.maxSessionDurationMs).unref();
    options.observer.sessionOpened?.(info);
    this.#log.info(
      { client: info.client, server: info.server, tls: info.tls, proxied: info.proxied },
      'session opened',
    );
    this.#pump();
  }

  /** Graceful shutdown: idle sessions get 421 now, a transaction in progress may finish. */
  shutdown(): void {
    this.#dispatch({ type: 'shutdown' });
    this.#flush();
  }

  /** End of the grace period: cancel any handler call (its answer becomes 451) and close. */
  abort(): void {
    this.#cancelCall?.();
    setTimeout(() => this.#socket.destroy(), 100).unref();
  }

  // One listener function per socket event, shared by every session and finding its session
  // through the socket (EventEmitter calls a listener with the socket as `this`), instead of
  // five closures per session: idle sessions stay small.
  static readonly #bySocket = new WeakMap<Socket, SmtpConnection>();
  static #listener<A extends unknown[]>(
    handle: (session: SmtpConnection, ...args: A) => void,
  ): (this: Socket, ...args: A) => void {
    return function onSocketEvent(this: Socket, ...args: A) {
      const session = SmtpConnection.#bySocket.get(this);
      if (session !== undefined) handle(session, ...args);
    };
  }
  static readonly #onSocketData = SmtpConnection.#listener((s, chunk: Buffer) => s.#onData(chunk));
  static readonly #onSocketTimeout = SmtpConnection.#listener((s) => s.#onTimeout());
  static readonly #onSocketError = SmtpConnection.#listener((s, error: Error) =>
    s.#log.debug({ error: errorForLog(error) }, 'socket error'),
  );
  static readonly #onSocketClose = SmtpConnection.#listener((s) => s.#onClose());
  static readonly #onSocketDrain = SmtpConnection.#listener((s) => s.#pump());

  #attach(socket: Socket): void {
    this.#socket = socket;
    SmtpConnection.#bySocket.set(socket, this);
    socket.on('data', SmtpConnection.#onSocketData);
    socket.on('timeout', SmtpConnection.#onSocketTimeout);
    socket.on('error', SmtpConnection.#onSocketError);
    socket.on('close', SmtpConnection.#onSocketClose);
    socket.on('drain', SmtpConnection.#onSocketDrain);
  }

  #onData(received: Buffer): void {
    this.#options.observer.bytesReceived?.(received.length);
    if (this.#ending) return;
    // Bytes before our banner: a legitimate client always waits for it (RFC 5321 §3.1). Noted
    // now, since `#sniff` may hold them until after the banner has gone out.
    if (this.#session.beforeBanner) this.#talkedEarly = true;
    const chunk = this.#sniff(received);
    if (chunk === null) return;
    if (this.#talkedEarly) {
      this.#options.observer.refused?.('early-talker');
      this.#dispatch({ type: 'early-talker' });
      this.#flush();
      return;
    }
    this.#session.receive(chunk);
    this.#pump();
  }

  /**
   * Holds the stream's first bytes until they show whether a PROXY protocol header starts them;
   * returns what to process, or null. A header here came from an address not in trustedProxies
   * (a trusted proxy's was read off before the session) or came twice; it is not SMTP, so it is
   * refused without a reply, before or after the banner alike.
   */
  #sniff(chunk: Buffer): Buffer | null {
    if (this.#head === null) return chunk;
    const head = this.#head.length === 0 ? chunk : Buffer.concat([this.#head, chunk]);
    switch (proxySignatureOf(head)) {
      case 'none':
        this.#head = null;
        return head;
      case 'partial':
        this.#head = head;
        return null;
      case 'header':
        this.#options.observer.refused?.('proxy-header');
        this.#log.warn('PROXY protocol header from an address not in trustedProxies, closing');
        this.#ending = true;
        this.#socket.destroy();
        return null;
    }
  }

  /** Processes buffered input for as long as the session can act on it without waiting. */
  #pump(): void {
    while (!this.#ending) {
      // One read can hold thousands of pipelined commands whose replies are many times their size
      // (HELP, EHLO): hand replies to the socket as they pile up, so that a client that reads
      // nothing stops us here instead of making us queue megabytes for it.
      if (this.#output.length > WRITE_HIGH_WATER_BYTES) this.#flush();
      if (this.#socket.writableLength > WRITE_HIGH_WATER_BYTES) break; // resumed by 'drain'
      const output = this.#session.next();
      this.#extendDeadline(this.#session.takeMessageBytesRead());
      if (output === null) break;
      this.#perform(output);
    }
    this.#flush();
    this.#applyBackPressure();
  }

  #dispatch(event: OutsideEvent): void {
    if (this.#session.state.phase === 'closed') return;
    this.#perform(this.#session.handle(event));
  }

  #perform({ actions, step }: SessionOutput): void {
    const state = this.#session.state;
    if (state.phase !== 'closed') this.#info = state.ctx.info;
    for (const action of actions) {
      switch (action.type) {
        case 'reply':
          this.#output += formatReply(action.reply);
          this.#options.observer.reply?.(step, action.reply, this.#info);
          break;
        case 'hook':
          this.#callHook(action.call);
          break;
        case 'start-tls':
          this.#startTls(action.droppedBytes);
          break;
        case 'transaction-end':
          this.#checks?.transactionEnded();
          this.#options.observer.transactionEnded?.(action.outcome);
          this.#log.info(
            {
              queueId: action.queueId,
              outcome: action.outcome,
              headers: action.headers,
              ...action.summary,
            },
            'transaction ended',
          );
          break;
        case 'auth-result':
          this.#options.onAuthResult?.(action.ok);
          break;
        case 'admit':
          // Decided now; the session applies it as its next event.
          this.#session.admitted(this.#options.readmit?.(action.address) ?? null);
          break;
        case 'close':
          this.#end();
          break;
      }
    }
    this.#setDeadline();
  }

  /**
   * Waiting for a command, an AUTH response or a TLS handshake, the client has idleTimeoutMs in
   * all (RFC 5321 §4.5.3.2.7); waiting on a handler, nothing is due from it. A message keeps the
   * deadline set when it started (each BDAT chunk is a start).
   */
  #setDeadline(): void {
    if (this.#ending) return; // the close deadline set by #end stands
    const receiving = this.#session.receivingMessage;
    const started = receiving && !this.#receivingMessage;
    this.#receivingMessage = receiving;
    if (started) this.#expectMessage();
    if (receiving) return;
    const { phase } = this.#session.state;
    this.#socket.setTimeout(0);
    if (phase === 'waiting' || phase === 'closed') this.#deadline.clear();
    else this.#deadline.set(this.#options.idleTimeoutMs);
  }

  /**
   * A message may pause for dataTimeoutMs at most (RFC 5321 §4.5.3.2.5), and must arrive at
   * MIN_DATA_BYTES_PER_SECOND on average: its deadline starts at dataTimeoutMs and grows with it.
   */
  #expectMessage(): void {
    this.#socket.setTimeout(this.#options.dataTimeoutMs);
    this.#deadline.set(this.#options.dataTimeoutMs);
  }

  #extendDeadline(receivedBytes: number): void {
    this.#deadline.extend((receivedBytes * 1000) / MIN_DATA_BYTES_PER_SECOND);
  }

  #onExpired(): void {
    if (this.#gone || this.#ending) return;
    this.#log.info('session time limit reached');
    this.#dispatch({ type: 'session-expired' });
    this.#pump();
  }

  #onTimeout(): void {
    this.#log.info('timeout');
    this.#options.observer.refused?.('timeout');
    this.#dispatch({ type: 'timeout' });
    this.#flush();
  }

  #callHook(call: HookCall): void {
    this.#startChecks(call);
    const known = outcomeWithoutHook(this.#options.handler, call.step);
    const delayMs = call.step === 'connect' ? this.#options.greetingDelayMs : 0;
    if (known !== null && delayMs === 0) {
      // Nothing to wait for: decided now, without a promise, a timer or a signal. With the default
      // steps that is connect, helo and mail of every session.
      this.#observeDecision(call, this.#session.answer(call.step, known), null);
      return;
    }
    this.#hookInFlight = true;
    this.#socket.setTimeout(0); // the function's own deadline applies while it decides
    let answer: HookAnswerTimed | null =
      known === null ? null : { outcome: known, durationMs: null };
    // The banner waits for both the connect answer and the greeting delay.
    let delaying = delayMs > 0;
    const proceed = (): void => {
      if (answer === null || delaying) return;
      this.#hookInFlight = false;
      if (this.#gone) return;
      const decision = this.#session.answer(call.step, answer.outcome);
      this.#observeDecision(call, decision, answer.durationMs);
      this.#pump();
    };
    if (delaying) {
      setTimeout(() => {
        delaying = false;
        proceed();
      }, delayMs);
    }
    if (answer === null) {
      this.#startCall(call, (timed) => {
        answer = timed;
        proceed();
      });
    }
  }

  /** The checks each step starts: reverse DNS for a new client, SPF and the sender at MAIL. */
  #startChecks(call: HookCall): void {
    const checks = this.#checks;
    if (checks === null) return;
    if (call.step === 'connect') {
      const { address } = call.session.client;
      // Confirmed, the name goes into the session: later calls and the Received header carry it.
      void checks.clientConnected(address)?.then(({ hostname }) => {
        if (hostname !== null && !this.#gone) {
          this.#dispatch({ type: 'client-named', address, hostname });
        }
      });
    } else if (call.step === 'mail') {
      checks.mailFrom(call.mailFrom.address, call.session.helo, call.session.client.address);
    }
  }

  /**
   * Calls the step's hook, once the authentication checks its call carries are done (each has
   * its own deadline); `durationMs` is the call alone, without that wait or a greeting delay.
   */
  #startCall(call: HookCall, done: (answer: HookAnswerTimed) => void): void {
    const checks = this.#checks;
    if (checks === null) {
      this.#invoke(call, done);
      return;
    }
    let waiting = true;
    const giveUp = (outcome: HookOutcome): void => {
      waiting = false;
      this.#cancelCall = null;
      done({ outcome, durationMs: 0 });
    };
    this.#cancelCall = () => giveUp(cancelledOutcome(call.step));
    verifiedCall(checks, call).then(
      (verified) => {
        if (!waiting) return;
        this.#cancelCall = null;
        if (verified.step === 'data' && verified.authentication !== undefined) {
          this.#options.observer.authenticated?.(verified.authentication);
        }
        this.#invoke(verified, done);
      },
      // Only a bug gets here (a DNS failure is a verdict): a temporary failure, so nothing is lost.
      (error: unknown) => {
        if (waiting) giveUp(checksFailedOutcome(call.step, error));
      },
    );
  }

  #invoke(call: VerifiedCall, done: (answer: HookAnswerTimed) => void): void {
    const started = performance.now();
    const settleAttempt = call.step === 'auth' ? this.#options.onAuthAttempt?.() : undefined;
    this.#cancelCall = startHook(
      this.#options.handler,
      call,
      this.#options.functionTimeoutMs,
      (outcome) => {
        // Settled in the same turn as the `auth-result` that records the verdict, so the lockout
        // never sees the attempt as neither in flight nor counted.
        settleAttempt?.();
        this.#cancelCall = null;
        // A tenth of a millisecond is finer than any function answers; more digits are timer noise.
        done({ outcome, durationMs: Math.round((performance.now() - started) * 10) / 10 });
      },
    );
  }

  /**
   * Logs every step's decision and reports the function calls actually made; `durationMs` is
   * null for a step decided without a call.
   */
  #observeDecision(call: HookCall, decision: Decision, durationMs: number | null): void {
    const { step } = call;
    const code = decision.reply.code;
    if (durationMs === null) {
      // Not a decision anyone made (the step is not in MXHOOK_STEPS): debug, not one line per step at info.
      this.#log.debug({ step, code, outcome: decision.outcome }, 'step accepted without a call');
      return;
    }
    if (decision.failure !== null)
      this.#log.warn({ step, code, error: decision.failure, durationMs }, 'function call failed');
    else this.#log.info({ step, code, outcome: decision.outcome, durationMs }, 'function answered');
    this.#options.observer.hookCall?.(step, decision.outcome, durationMs, call, decision);
  }

  /** `dropped`: input pipelined after STARTTLS, which the session discarded (RFC 3207 §4.2). */
  #startTls(dropped: number): void {
    const tlsOptions = this.#options.tls.serverOptions();
    if (tlsOptions === null) return;
    this.#flush();
    if (dropped > 0) {
      this.#options.observer.refused?.('starttls-injection');
      this.#log.warn({ droppedBytes: dropped }, 'discarded input pipelined after STARTTLS');
    }
    const secure = upgradeToTls(this.#socket, tlsOptions, {
      secure: (_, tls) => {
        this.#options.observer.tlsHandshake?.(true);
        this.#log.info({ tls }, 'tls started');
        this.#dispatch({ type: 'tls-started', tls });
        this.#pump();
      },
      handshakeFailed: (error) => {
        this.#options.observer.tlsHandshake?.(false);
        this.#log.info({ error: errorForLog(error) }, 'tls handshake failed');
      },
    });
    secure.setTimeout(this.#options.idleTimeoutMs);
    this.#attach(secure);
  }

  #applyBackPressure(): void {
    const socket = this.#socket;
    const stalled = this.#hookInFlight && this.#session.bufferedBytes > READ_HIGH_WATER_BYTES;
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
    this.#socket.setTimeout(0);
    this.#deadline.set(CLOSE_LINGER_MS);
  }

  #onClose(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#cancelCall?.();
    clearTimeout(this.#lifetime);
    this.#deadline.dispose();
    this.#session.close();
    this.#checks?.close();
    this.#options.observer.sessionClosed?.(this.#info);
    this.#log.info('session closed');
    this.#options.onClosed(this);
  }
}
