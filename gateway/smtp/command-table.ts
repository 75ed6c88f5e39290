// Which command is legal when: the one table of SMTP command sequencing (RFC 5321 §4.1.4, RFC 3030
// §2, RFC 3207 §4, RFC 4954 §4), read in one place instead of guards repeated in every command.
import type { Verb } from './command.ts';
import { replies } from './replies.ts';
import type { Reply } from './reply.ts';
import type { SessionContext, SessionSettings, Transaction } from './session-state.ts';

/**
 * Where a session in the command phase stands. The state keeps these as fields (`helo`, `tx`,
 * `tx.rcptTo`, `tx.bdat`); the stage names the combination a command's legality depends on.
 */
export type Stage =
  /** No HELO or EHLO yet (or forgotten: after STARTTLS, or XCLIENT without HELO). */
  | 'fresh'
  /** Greeted, no transaction. */
  | 'greeted'
  /** MAIL accepted, no recipient yet. */
  | 'sender'
  /** At least one recipient accepted. */
  | 'recipients'
  /** BDAT chunks of the message have started arriving. */
  | 'chunking';

export function stageOf(ctx: SessionContext, tx: Transaction | null): Stage {
  if (ctx.info.helo === null) return 'fresh';
  if (tx === null) return 'greeted';
  if (tx.bdat !== null) return 'chunking';
  return tx.rcptTo.length === 0 ? 'sender' : 'recipients';
}

const IN_TRANSACTION = {
  sender: replies.transactionInProgress,
  recipients: replies.transactionInProgress,
  chunking: replies.transactionInProgress,
} as const;

/**
 * For each verb, the reply refusing it in each stage where it is out of sequence; a stage not
 * listed allows it. Whether a verb is offered at all is `notOfferedRefusal`, checked first; what its
 * arguments must be is the command's own business.
 */
const SEQUENCE: Readonly<Record<Verb, Partial<Record<Stage, Reply>>>> = {
  EHLO: {}, // RFC 5321 §4.1.4: EHLO/HELO in a transaction resets it, like RSET
  HELO: {},
  MAIL: {
    fresh: replies.needHelo,
    sender: replies.nestedMail,
    recipients: replies.nestedMail,
    chunking: replies.nestedMail,
  },
  RCPT: {
    fresh: replies.needHelo,
    greeted: replies.needMail,
    chunking: replies.transactionInProgress, // the message has started: no more recipients
  },
  // DATA and BDAT answer these refusals their own way (see commands.ts): a refused DATA may be
  // followed by its message, a refused BDAT chunk must still be read.
  DATA: {
    fresh: replies.needHelo,
    greeted: replies.needMail,
    sender: replies.noValidRecipients, // RFC 2920 §3.1: every RCPT of the group failed
    chunking: replies.mixedDataBdat, // RFC 3030 §2
  },
  BDAT: {
    fresh: replies.needHelo,
    greeted: replies.needMail,
    sender: replies.noValidRecipients,
  },
  RSET: {},
  NOOP: {},
  QUIT: {},
  VRFY: {},
  EXPN: {},
  HELP: {},
  STARTTLS: IN_TRANSACTION, // RFC 3207 §4: not in the middle of a transaction
  AUTH: { fresh: replies.needEhlo, ...IN_TRANSACTION }, // RFC 4954 §4
  XCLIENT: IN_TRANSACTION, // the client changes: only between transactions
};

/** Verbs that exist only when configured: the reply when this one is not offered, or null. */
export function notOfferedRefusal(verb: Verb, settings: SessionSettings): Reply | null {
  switch (verb) {
    case 'AUTH': // RFC 4954 §3: AUTH that was not advertised is a command we do not implement
      return settings.auth == null ? replies.notImplemented('AUTH') : null;
    case 'STARTTLS':
      return settings.tlsAvailable ? null : replies.notImplemented('STARTTLS');
    case 'XCLIENT':
      return settings.xclient ? null : replies.xclientDenied;
    default:
      return null;
  }
}

/** The reply refusing `verb` in this stage, or null when it is in sequence. */
export function sequenceRefusal(verb: Verb, stage: Stage): Reply | null {
  return SEQUENCE[verb][stage] ?? null;
}
