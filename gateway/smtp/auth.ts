// SMTP AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN: the command, the SASL exchange and its outcome.
import type { Decision } from './decision.ts';
import { replies } from './replies.ts';
import { type Reply, reply } from './reply.ts';
import { CLOSED, clientError, type Refuse, respond } from './respond.ts';
import type {
  AuthExchange,
  PhaseState,
  SessionContext,
  SessionSettings,
  Transaction,
  Transition,
} from './session-state.ts';

export const AUTH_MECHANISMS = ['PLAIN', 'LOGIN'] as const;

// RFC 4648 §4 base64, padded; RFC 4954 §4 sends "=" for an empty initial response.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });
// The LOGIN mechanism's customary prompts, "Username:" and "Password:" in base64.
const USERNAME_PROMPT = reply(334, null, 'VXNlcm5hbWU6');
const PASSWORD_PROMPT = reply(334, null, 'UGFzc3dvcmQ6');
const EMPTY_CHALLENGE = reply(334, null, '');

/** Whether EHLO should advertise AUTH: configured, and over TLS unless insecure use is allowed. */
export function authOffered(settings: SessionSettings, ctx: SessionContext): boolean {
  const auth = settings.auth;
  return auth != null && (ctx.info.tls !== null || auth.allowInsecure);
}

export function onAuthCommand(
  state: PhaseState<'command'>,
  args: string,
  settings: SessionSettings,
  error: Refuse,
): Transition {
  const { ctx, tx } = state;
  const auth = settings.auth;
  if (auth == null) throw new Error('AUTH handled without AUTH configured'); // see notOfferedRefusal
  if (!ctx.esmtp) return error(replies.needEhlo); // greeted with HELO
  if (ctx.info.auth !== null) return error(replies.alreadyAuthenticated); // RFC 4954 §4
  if (ctx.info.tls === null && !auth.allowInsecure)
    return respond(state, replies.encryptionRequired);
  if (auth.isLockedOut()) return respond(CLOSED, replies.authLockedOut);
  const [mechanism = '', initial, extra] = args.split(' ');
  if (mechanism === '' || extra !== undefined)
    return error(replies.syntax('AUTH mechanism [initial-response]'));
  switch (mechanism.toUpperCase()) {
    case 'PLAIN':
      if (initial === undefined) return challenge(ctx, { mechanism: 'PLAIN' }, EMPTY_CHALLENGE);
      return plainResponse(ctx, tx, initial, settings);
    case 'LOGIN':
      if (initial === undefined)
        return challenge(ctx, { mechanism: 'LOGIN', username: null }, USERNAME_PROMPT);
      return loginResponse(ctx, tx, null, initial, settings);
    default:
      return error(replies.unknownMechanism);
  }
}

/** A line inside the exchange: the client's base64 response, or `*` to cancel (RFC 4954 §4). */
export function onAuthLine(
  state: PhaseState<'auth'>,
  line: Buffer,
  settings: SessionSettings,
): Transition {
  const { ctx, exchange } = state;
  const text = line.toString('latin1').trim();
  if (text === '*') return respond({ phase: 'command', ctx, tx: null }, replies.authAborted);
  if (exchange.mechanism === 'PLAIN') return plainResponse(ctx, null, text, settings);
  return loginResponse(ctx, null, exchange.username, text, settings);
}

/** A response line longer than we read: RFC 4954 §4 answers 500 5.5.6 and ends the exchange. */
export function onAuthLineTooLong(
  state: PhaseState<'auth'>,
  settings: SessionSettings,
): Transition {
  return clientError(
    state.ctx,
    (c) => ({ phase: 'command', ctx: c, tx: null }),
    replies.authLineTooLong,
    settings,
  );
}

/** The function (or users file) decided: 235 and remember who, or count the failure. */
export function onAuthDecided(
  ctx: SessionContext,
  pending: { readonly mechanism: string; readonly username: string },
  decision: Decision,
  settings: SessionSettings,
): Transition {
  if (decision.accepted) {
    const info = {
      ...ctx.info,
      auth: { username: pending.username, mechanism: pending.mechanism },
    };
    return respond({ phase: 'command', ctx: { ...ctx, info }, tx: null }, decision.reply, [
      { type: 'auth-result', ok: true },
    ]);
  }
  // A function that failed is not the client's fault: 454 without counting an attempt.
  if (decision.outcome === 'failed')
    return respond({ phase: 'command', ctx, tx: null }, decision.reply);
  const counted = { ...ctx, authFailures: ctx.authFailures + 1 };
  const result = { type: 'auth-result', ok: false } as const;
  const limit = settings.auth?.maxFailures ?? 1;
  if (counted.authFailures >= limit) {
    return respond(CLOSED, replies.authLockedOut, [
      result,
      { type: 'reply', reply: decision.reply },
    ]);
  }
  return respond({ phase: 'command', ctx: counted, tx: null }, decision.reply, [result]);
}

function challenge(ctx: SessionContext, exchange: AuthExchange, prompt: Reply): Transition {
  return respond({ phase: 'auth', ctx, exchange }, prompt);
}

function plainResponse(
  ctx: SessionContext,
  tx: Transaction | null,
  text: string,
  settings: SessionSettings,
): Transition {
  const decoded = decodeBase64(text);
  if (decoded === null) return badResponse(ctx, tx, settings);
  // RFC 4616 §2: [authzid] NUL authcid NUL passwd.
  const parts = decoded.split('\0');
  const [authzid, username, password] = parts;
  if (parts.length !== 3 || !username || password === undefined)
    return badResponse(ctx, tx, settings);
  // Acting as another user (a different authzid) is not supported; say so rather than ignore it.
  if (authzid !== '' && authzid !== username) {
    return respond({ phase: 'command', ctx, tx }, replies.authzidRefused);
  }
  return callAuth(ctx, 'PLAIN', username, password, settings);
}

function loginResponse(
  ctx: SessionContext,
  tx: Transaction | null,
  username: string | null,
  text: string,
  settings: SessionSettings,
): Transition {
  const decoded = decodeBase64(text);
  if (decoded === null) return badResponse(ctx, tx, settings);
  if (username === null) {
    if (decoded === '') return badResponse(ctx, tx, settings);
    return challenge(ctx, { mechanism: 'LOGIN', username: decoded }, PASSWORD_PROMPT);
  }
  return callAuth(ctx, 'LOGIN', username, decoded, settings);
}

function callAuth(
  ctx: SessionContext,
  mechanism: string,
  username: string,
  password: string,
  settings: SessionSettings,
): Transition {
  // Checked again here, not only at the AUTH command: other sessions from the same address may
  // have started attempts while this client was answering the challenge.
  if (settings.auth?.isLockedOut()) return respond(CLOSED, replies.authLockedOut);
  return {
    state: { phase: 'waiting', ctx, pending: { step: 'auth', mechanism, username } },
    actions: [
      {
        type: 'hook',
        call: {
          step: 'auth',
          session: ctx.info,
          envelope: { mailFrom: null, rcptTo: [] },
          auth: { mechanism, username, password },
        },
      },
    ],
  };
}

function badResponse(
  ctx: SessionContext,
  tx: Transaction | null,
  settings: SessionSettings,
): Transition {
  return clientError(
    ctx,
    (c) => ({ phase: 'command', ctx: c, tx }),
    replies.authBadResponse,
    settings,
  );
}

function decodeBase64(text: string): string | null {
  if (text === '=') return '';
  if (!BASE64.test(text)) return null;
  try {
    return utf8.decode(Buffer.from(text, 'base64'));
  } catch {
    return null;
  }
}
