// The session state machine: transition(state, event, settings) → new state and actions, every move
// in one place (docs/architecture.md, "One transition function over explicit states").
import type { SessionInfo } from '../../functions/sdk/wire.ts';
import { onAuthDecided, onAuthLine, onAuthLineTooLong } from './auth.ts';
import { onCommandLine } from './commands.ts';
import type { Decision } from './decision.ts';
import { ehloReply } from './extensions.ts';
import { onBdatChunk, onDataEnd } from './message.ts';
import { replies } from './replies.ts';
import { CLOSED, clientError, respond, unchanged } from './respond.ts';
import type {
  PhaseState,
  SessionContext,
  SessionEvent,
  SessionSettings,
  SessionState,
  Transition,
} from './session-state.ts';
import { onAdmission } from './xclient.ts';

/** A new session: its first action is the connect call, whose answer decides the banner. */
export function startSession(info: SessionInfo): Transition {
  const ctx: SessionContext = {
    info,
    esmtp: false,
    badCommands: 0,
    junkCommands: 0,
    expired: false,
    dataRefused: false,
    transactions: 0,
    draining: false,
    authFailures: 0,
  };
  return {
    state: { phase: 'waiting', ctx, pending: { step: 'connect' } },
    actions: [
      {
        type: 'hook',
        call: { step: 'connect', session: info, envelope: { mailFrom: null, rcptTo: [] } },
      },
    ],
  };
}

export function transition(
  state: SessionState,
  event: SessionEvent,
  settings: SessionSettings,
): Transition {
  return endIfExpired(endIfDrained(onEvent(state, event, settings), settings));
}

function onEvent(state: SessionState, event: SessionEvent, settings: SessionSettings): Transition {
  if (state.phase === 'closed') return unchanged(state);
  switch (event.type) {
    case 'line':
      if (state.phase === 'auth') return onAuthLine(state, event.line, settings);
      return state.phase === 'command'
        ? onCommandLine(state, event.line, event.pipelined ?? false, settings)
        : unchanged(state);
    case 'line-too-long':
      if (state.phase === 'auth') return onAuthLineTooLong(state, settings);
      if (state.phase !== 'command') return unchanged(state);
      // A body line after a refused DATA (see onCommandLine): not a command the client meant.
      if (state.ctx.dataRefused) return respond(CLOSED, replies.breakingRules);
      return clientError(state.ctx, (ctx) => ({ ...state, ctx }), replies.lineTooLong, settings);
    case 'data-end':
      return state.phase === 'data'
        ? onDataEnd(state, event.outcome, event.now, settings)
        : unchanged(state);
    case 'bdat-chunk':
      return state.phase === 'bdat'
        ? onBdatChunk(state, event.outcome, event.now, settings)
        : unchanged(state);
    case 'hook-done':
      // An answer for another step than the one pending cannot happen in the shell; ignore it.
      return state.phase === 'waiting' && state.pending.step === event.decision.step
        ? onHookDone(state, event.decision, settings)
        : unchanged(state);
    case 'tls-started':
      if (state.phase !== 'tls') return unchanged(state);
      // RFC 3207 §4.2: after the handshake the server forgets everything it learned from the client.
      return {
        state: {
          phase: 'command',
          ctx: {
            ...state.ctx,
            info: { ...state.ctx.info, tls: event.tls, helo: null },
            esmtp: false,
          },
          tx: null,
        },
        actions: [],
      };
    case 'client-named':
      return { state: withClientName(state, event.address, event.hostname), actions: [] };
    case 'early-talker':
      return respond(CLOSED, replies.earlyTalker);
    case 'timeout':
      // RFC 5321 §4.5.3.2: the client stopped sending a command, or the message it was sending.
      return respond(
        CLOSED,
        state.phase === 'data' || state.phase === 'bdat' ? replies.dataTimeout : replies.timeout,
      );
    case 'session-expired':
      return onExpired(state);
    case 'admission':
      return state.phase === 'waiting' && state.pending.step === 'connect'
        ? onAdmission(state, event.refusal)
        : unchanged(state);
    case 'shutdown':
      return onShutdown(state, settings);
  }
}

function withClientName(state: SessionState, address: string, hostname: string): SessionState {
  if (state.phase === 'closed') return state;
  const { client } = state.ctx.info;
  if (client.address !== address || client.hostname !== undefined) return state;
  const info = { ...state.ctx.info, client: { ...client, hostname } };
  return { ...state, ctx: { ...state.ctx, info } } as SessionState;
}

function onHookDone(
  state: PhaseState<'waiting'>,
  decision: Decision,
  settings: SessionSettings,
): Transition {
  const { ctx, pending } = state;
  const { reply, accepted } = decision;
  switch (pending.step) {
    case 'connect':
      return accepted
        ? respond(
            { phase: 'command', ctx, tx: null },
            replies.greeting(settings.hostname, settings.banner),
          )
        : respond(CLOSED, reply);
    case 'helo': {
      if (!accepted) return respond({ phase: 'command', ctx, tx: null }, reply);
      const greeted = {
        ...ctx,
        info: { ...ctx.info, helo: pending.hostname },
        esmtp: pending.esmtp,
      };
      const answer = pending.esmtp
        ? ehloReply(settings, greeted, pending.hostname)
        : replies.helo(settings.hostname, pending.hostname);
      return respond({ phase: 'command', ctx: greeted, tx: null }, reply.close ? reply : answer);
    }
    case 'auth':
      return onAuthDecided(ctx, pending, decision, settings);
    case 'mail': {
      const tx = accepted
        ? { mailFrom: pending.mailFrom, rcptTo: [], smtputf8: pending.smtputf8, bdat: null }
        : null;
      return respond({ phase: 'command', ctx, tx }, reply);
    }
    case 'rcpt': {
      const tx = accepted
        ? { ...pending.tx, rcptTo: [...pending.tx.rcptTo, pending.rcpt] }
        : pending.tx;
      return respond({ phase: 'command', ctx, tx }, reply);
    }
    case 'data': {
      // A delivered message is progress: the junk count starts over (Postfix does the same).
      const junkCommands = accepted ? 0 : ctx.junkCommands;
      const next = { ...ctx, transactions: ctx.transactions + 1, junkCommands };
      const ended = {
        type: 'transaction-end',
        outcome: decision.outcome,
        queueId: pending.queueId,
        headers: decision.headers,
        summary: pending.summary,
      } as const;
      return respond({ phase: 'command', ctx: next, tx: null }, reply, [ended]);
    }
  }
}

/**
 * Draining: the transaction in progress was allowed to finish, however it ended (data answer,
 * refused message, RSET, refused sender, TLS handshake done); now the session ends.
 */
function endIfDrained(next: Transition, settings: SessionSettings): Transition {
  const { state } = next;
  if (state.phase !== 'command' || state.tx !== null || !state.ctx.draining) return next;
  const bye = respond(CLOSED, replies.shuttingDown(settings.hostname));
  return { state: bye.state, actions: [...next.actions, ...bye.actions] };
}

/**
 * The session has lasted its maximum duration. A message on its way in (being received, in the
 * TLS handshake before it, or with the data function deciding) is allowed to finish: data and
 * function timeouts already bound that, closing mid-message would make a message that needs
 * longer than the rest of the session fail on every retry, and closing while the data function
 * decides would leave its decision unknown to the client (a duplicate on retry). It still ends
 * in the data answer's 250 or a 4xx, as the one promise requires; the session then closes
 * (`endIfExpired`). Anywhere else nothing is promised yet: 421 now, and a transaction without its
 * message is one the client retries, like any 4xx.
 */
function onExpired(state: Exclude<SessionState, { phase: 'closed' }>): Transition {
  const messageInFlight =
    state.phase === 'data' ||
    state.phase === 'bdat' ||
    state.phase === 'tls' ||
    (state.phase === 'waiting' && state.pending.step === 'data');
  if (!messageInFlight) return respond(CLOSED, replies.sessionExpired);
  const ctx = { ...state.ctx, expired: true };
  return unchanged({ ...state, ctx } as SessionState);
}

/** An expired session ends as soon as it is back to reading commands (see onExpired). */
function endIfExpired(next: Transition): Transition {
  const { state } = next;
  if (state.phase !== 'command' || !state.ctx.expired) return next;
  const bye = respond(CLOSED, replies.sessionExpired);
  return { state: bye.state, actions: [...next.actions, ...bye.actions] };
}

function onShutdown(
  state: Exclude<SessionState, { phase: 'closed' }>,
  settings: SessionSettings,
): Transition {
  const idle =
    (state.phase === 'command' && state.tx === null) ||
    (state.phase === 'waiting' && state.pending.step === 'connect');
  if (idle) return respond(CLOSED, replies.shuttingDown(settings.hostname));
  const ctx = { ...state.ctx, draining: true };
  return unchanged({ ...state, ctx } as SessionState);
}
