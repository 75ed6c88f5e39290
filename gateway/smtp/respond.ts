// Small builders for transitions: reply (closing when the reply says so) and count protocol errors.

import { replies } from './replies.ts';
import type { Reply } from './reply.ts';
import type {
  SessionAction,
  SessionContext,
  SessionSettings,
  SessionState,
  Transition,
} from './session-state.ts';

export const CLOSED: SessionState = { phase: 'closed' };

/** The session moves to `state` without a word. */
export const unchanged = (state: SessionState): Transition => ({ state, actions: [] });

/** Answers a client error in the current state (counting it, see `clientError`). */
export type Refuse = (reply: Reply) => Transition;

/** Sends `reply`; a closing reply ends the session. */
export function respond(
  state: SessionState,
  reply: Reply,
  extra: readonly SessionAction[] = [],
): Transition {
  const actions: SessionAction[] = [...extra, { type: 'reply', reply }];
  if (reply.close) {
    actions.push({ type: 'close' });
    return { state: CLOSED, actions };
  }
  return { state, actions };
}

// Replies that mean the client broke the protocol (RFC 5321 §4.2.2), as opposed to policy refusals.
const PROTOCOL_ERROR_CODES: ReadonlySet<number> = new Set([500, 501, 502, 503, 504, 555]);

/**
 * Answers a client error, counting it; past `maxBadCommands` the session ends with 421, as
 * Postfix's smtpd_hard_error_limit does, so a confused or hostile client cannot loop forever.
 */
export function clientError(
  ctx: SessionContext,
  state: (ctx: SessionContext) => SessionState,
  reply: Reply,
  settings: SessionSettings,
): Transition {
  if (!PROTOCOL_ERROR_CODES.has(reply.code)) return respond(state(ctx), reply);
  const counted = { ...ctx, badCommands: ctx.badCommands + 1 };
  if (counted.badCommands >= settings.maxBadCommands) {
    return respond(CLOSED, replies.tooManyErrors, [{ type: 'reply', reply }]);
  }
  return respond(state(counted), reply);
}
