// What each command does in the command phase: validation, sequence checks, and the handler call to make.
import type { Envelope } from '../../functions/sdk/wire.ts';
import { onAuthCommand } from './auth.ts';
import { type CommandLine, lineLimitBytes, parseCommandLine, type Verb } from './command.ts';
import { notOfferedRefusal, sequenceRefusal, stageOf } from './command-table.ts';
import { checkMailParams, checkRcptParams } from './params.ts';
import { isHeloName, type ParsedPath, parsePathArgument } from './path.ts';
import { replies } from './replies.ts';
import { closing, type Reply } from './reply.ts';
import { CLOSED, clientError, type Refuse, respond, unchanged } from './respond.ts';
import type {
  PhaseState,
  SessionContext,
  SessionSettings,
  Transaction,
  Transition,
} from './session-state.ts';
import { onXclient } from './xclient.ts';

const EMPTY_ENVELOPE: Envelope = Object.freeze({ mailFrom: null, rcptTo: Object.freeze([]) });
const BDAT_ARGS = /^(\d{1,20})(?: +(LAST))?$/i;

export function envelopeOf(tx: Transaction | null): Envelope {
  return tx === null ? EMPTY_ENVELOPE : { mailFrom: tx.mailFrom, rcptTo: tx.rcptTo };
}

// Postfix smtpd_junk_command_limit: commands that make no progress towards a message. Without a
// limit, a client holds a connection slot forever by sending NOOP just inside the idle timeout.
const JUNK_VERBS: ReadonlySet<Verb> = new Set(['NOOP', 'VRFY', 'EXPN', 'RSET', 'HELP']);

// What a client that read a refused DATA sends next: RSET or QUIT, or a NOOP or new EHLO/HELO.
const AFTER_REFUSED_DATA: ReadonlySet<Verb> = new Set(['RSET', 'QUIT', 'NOOP', 'EHLO', 'HELO']);

/**
 * `pipelined`: more input had already arrived after this line (RFC 2920 checks on DATA).
 */
export function onCommandLine(
  state: PhaseState<'command'>,
  line: Buffer,
  pipelined: boolean,
  settings: SessionSettings,
): Transition {
  const cmd = parseCommandLine(line);
  if (state.ctx.dataRefused) {
    if (!showsRefusalRead(cmd, pipelined)) return respond(CLOSED, replies.breakingRules);
    state = { ...state, ctx: { ...state.ctx, dataRefused: false } };
  }
  if (cmd.kind === 'command' && JUNK_VERBS.has(cmd.verb)) {
    // The count starts over when a message is delivered (onHookDone), as in Postfix.
    if (state.ctx.junkCommands >= settings.maxJunkCommands)
      return respond(CLOSED, replies.tooManyJunkCommands);
    state = { ...state, ctx: { ...state.ctx, junkCommands: state.ctx.junkCommands + 1 } };
  }
  const { ctx, tx } = state;
  const error = (r: Reply): Transition =>
    clientError(ctx, (c) => ({ phase: 'command', ctx: c, tx }), r, settings);
  switch (cmd.kind) {
    case 'invalid':
      return error(cmd.problem === 'nul' ? replies.nulInCommand : replies.invalidUtf8);
    case 'http':
      return respond(CLOSED, replies.httpRefused);
    case 'unknown': {
      const extra = settings.extraVerbs?.get(cmd.verb);
      if (extra === undefined) return error(replies.unknownCommand);
      return (
        refusalOfAny(line, cmd.verb, state, settings, error) ??
        error(extra.reply(cmd.args, ctx.info))
      );
    }
    case 'command':
      return (
        refusalOfAny(line, cmd.verb, state, settings, error) ??
        onVerb(state, cmd.verb, cmd.args, pipelined, settings, error)
      );
  }
}

/** What refuses any command, built in or added, before its verb is looked at; null if nothing. */
function refusalOfAny(
  line: Buffer,
  verb: string,
  state: PhaseState<'command'>,
  settings: SessionSettings,
  error: Refuse,
): Transition | null {
  if (line.length + 2 > lineLimitBytes(verb)) return error(replies.lineTooLong);
  if (state.ctx.draining && state.tx === null && verb !== 'QUIT')
    return respond(CLOSED, replies.shuttingDown(settings.hostname));
  return null;
}

/**
 * After a refused DATA, whether this line shows that the client read the refusal, so that it is a
 * command and not the first line of a message body sent without waiting for the DATA reply.
 * RFC 2920 §3.1 makes DATA the last command of a group, so a client that sent more right behind
 * it is refused at once (`data`); this covers body bytes that arrive a little later. A header
 * line, a blank line or any command that would start or finish a transaction (MAIL, RCPT, DATA,
 * BDAT) ends the session, so no body line can ever run as a transaction. The commands a client
 * sends after a failed transaction (AFTER_REFUSED_DATA) pass only when nothing is buffered behind
 * them, as a client waiting for their reply sends them: RSET, MAIL, RCPT and DATA would be one
 * write in a body. QUIT ends the session anyway.
 */
function showsRefusalRead(cmd: CommandLine, pipelined: boolean): boolean {
  if (cmd.kind !== 'command' || !AFTER_REFUSED_DATA.has(cmd.verb)) return false;
  return cmd.verb === 'QUIT' || !pipelined;
}

function onVerb(
  state: PhaseState<'command'>,
  verb: Verb,
  args: string,
  pipelined: boolean,
  settings: SessionSettings,
  error: Refuse,
): Transition {
  const { ctx, tx } = state;
  // DATA and BDAT check their sequence themselves: their refusals have consequences of their own.
  if (verb !== 'DATA' && verb !== 'BDAT') {
    const refusal = notOfferedRefusal(verb, settings) ?? sequenceRefusal(verb, stageOf(ctx, tx));
    if (refusal !== null) return error(refusal);
  }
  switch (verb) {
    case 'EHLO':
    case 'HELO':
      return hello(ctx, args, verb === 'EHLO', error);
    case 'MAIL':
      return mail(ctx, tx, args, settings, error);
    case 'RCPT':
      return rcpt(ctx, tx, args, settings, error);
    case 'DATA':
      return data(state, args, pipelined, settings);
    case 'BDAT':
      return bdat(state, args, settings);
    case 'RSET':
      // RFC 5321 §4.1.1.5: RSET aborts the transaction, keeps the session.
      if (args !== '') return error(replies.syntax('RSET takes no arguments'));
      return respond({ phase: 'command', ctx, tx: null }, replies.resetOk);
    case 'NOOP':
      return respond(state, replies.ok);
    case 'QUIT':
      return respond(CLOSED, replies.bye(settings.hostname));
    case 'VRFY':
      if (args.trim() === '') return error(replies.syntax('VRFY needs an argument'));
      return respond(state, replies.vrfy);
    case 'EXPN':
      return respond(state, replies.expnRefused);
    case 'HELP':
      return respond(state, replies.help);
    case 'STARTTLS':
      return startTls(state, args, error);
    case 'AUTH':
      return onAuthCommand(state, args, settings, error);
    case 'XCLIENT':
      return onXclient(state, args, error);
  }
}

function hello(ctx: SessionContext, args: string, esmtp: boolean, error: Refuse): Transition {
  const name = args.trim();
  const verb = esmtp ? 'EHLO' : 'HELO';
  if (name === '') return error(replies.syntax(`${verb} needs a domain name`));
  if (!isHeloName(name))
    return error(replies.syntax(`${verb} argument is not a domain name or address literal`));
  // RFC 5321 §4.1.4: EHLO/HELO during a transaction resets it, like RSET.
  return {
    state: { phase: 'waiting', ctx, pending: { step: 'helo', hostname: name, esmtp } },
    actions: [
      {
        type: 'hook',
        call: {
          step: 'helo',
          session: { ...ctx.info, helo: name },
          envelope: EMPTY_ENVELOPE,
          helo: { hostname: name, esmtp },
        },
      },
    ],
  };
}

function mail(
  ctx: SessionContext,
  tx: Transaction | null,
  args: string,
  settings: SessionSettings,
  error: Refuse,
): Transition {
  // RFC 3207 §4 and RFC 4954 §6: a server that requires TLS or AUTH answers 530 until it has them.
  if (settings.requireTls && ctx.info.tls === null)
    return respond({ phase: 'command', ctx, tx }, replies.tlsRequired);
  if (settings.requireAuth && ctx.info.auth === null)
    return respond({ phase: 'command', ctx, tx }, replies.authRequired);
  const parsed = pathOf(ctx, args, 'FROM');
  if ('code' in parsed) return error(parsed);
  const { address, params, utf8 } = parsed;
  const options = checkMailParams(params, settings.maxMessageBytes, settings.dsn ?? false);
  if ('code' in options) return error(options);
  if (utf8 && !options.smtputf8) return error(replies.utf8NeedsSmtputf8);
  const mailFrom = { address, params };
  return {
    state: {
      phase: 'waiting',
      ctx,
      pending: { step: 'mail', mailFrom, smtputf8: options.smtputf8 },
    },
    actions: [
      {
        type: 'hook',
        call: { step: 'mail', session: ctx.info, envelope: { mailFrom, rcptTo: [] }, mailFrom },
      },
    ],
  };
}

/** The path and parameters of MAIL FROM (`FROM`) or RCPT TO (`TO`), or the reply refusing them. */
function pathOf(ctx: SessionContext, args: string, prefix: 'FROM' | 'TO'): ParsedPath | Reply {
  const parsed = parsePathArgument(args, prefix);
  if (!parsed.ok) {
    // An invalid address literal is 5.1.3 for the sender too, as Postfix answers it.
    if (parsed.problem === 'address-literal') return replies.badAddressLiteral;
    if (parsed.problem !== 'address') return replies.syntax(parsed.detail);
    return prefix === 'FROM'
      ? replies.badSender(parsed.detail)
      : replies.badRecipient(parsed.detail);
  }
  // RFC 5321 §4.1.1.11: parameters only after EHLO.
  if (!ctx.esmtp && Object.keys(parsed.path.params).length > 0) return replies.paramsWithoutEhlo;
  return parsed.path;
}

function rcpt(
  ctx: SessionContext,
  tx: Transaction | null,
  args: string,
  settings: SessionSettings,
  error: Refuse,
): Transition {
  if (tx === null) throw new Error('RCPT in sequence without a transaction'); // see SEQUENCE
  const parsed = pathOf(ctx, args, 'TO');
  if ('code' in parsed) return error(parsed);
  const { address, params, utf8 } = parsed;
  const refused = checkRcptParams(params, settings.dsn ?? false);
  if (refused !== null) return error(refused);
  if (utf8 && !tx.smtputf8) return error(replies.utf8NeedsSmtputf8);
  if (tx.rcptTo.length >= settings.maxRecipients)
    return respond({ phase: 'command', ctx, tx }, replies.tooManyRecipients);
  const target = { address, params };
  return {
    state: { phase: 'waiting', ctx, pending: { step: 'rcpt', rcpt: target, tx } },
    actions: [
      {
        type: 'hook',
        call: { step: 'rcpt', session: ctx.info, envelope: envelopeOf(tx), rcpt: target },
      },
    ],
  };
}

function data(
  state: PhaseState<'command'>,
  args: string,
  pipelined: boolean,
  settings: SessionSettings,
): Transition {
  const { ctx, tx } = state;
  const refusal = dataRefusal(ctx, tx, args, settings);
  if (!('code' in refusal)) return respond({ phase: 'data', ctx, tx: refusal }, replies.startData);
  // RFC 2920 §3.1: DATA ends a group, so what follows it is the message the client sent without
  // waiting for the answer; read as commands, its lines could run a transaction of their own.
  // Postfix's answer: the refusal, then 221 and close.
  if (pipelined) return respond(CLOSED, replies.breakingRules, [{ type: 'reply', reply: refusal }]);
  const probation = { ...ctx, dataRefused: true };
  return clientError(probation, (c) => ({ phase: 'command', ctx: c, tx }), refusal, settings);
}

/** Why DATA cannot start now, or the transaction whose message it starts. */
function dataRefusal(
  ctx: SessionContext,
  tx: Transaction | null,
  args: string,
  settings: SessionSettings,
): Reply | Transaction {
  if (args !== '') return replies.syntax('DATA takes no arguments');
  const outOfSequence = sequenceRefusal('DATA', stageOf(ctx, tx));
  if (outOfSequence !== null || tx === null) return outOfSequence ?? replies.needMail;
  if (settings.isOverMemoryBudget()) return replies.memoryBudget;
  return tx;
}

/** BDAT (RFC 3030 §2): the chunk's bytes follow the command and must be read even when refused. */
function bdat(state: PhaseState<'command'>, args: string, settings: SessionSettings): Transition {
  const { ctx, tx } = state;
  const match = BDAT_ARGS.exec(args.trim());
  // Without a trustworthy size the chunk cannot be skipped: reading it as commands would let its
  // content be executed (command injection), so the session ends here.
  if (match === null)
    return respond(CLOSED, closing(replies.syntax('BDAT needs a chunk size and optional LAST')));
  const chunkBytes = Number(match[1]);
  const last = match[2] !== undefined;
  // A refused chunk is read only to be skipped, and only up to one more message's worth: a size
  // that cannot be a message (or no safe integer at all) would make us swallow every later command
  // until the data timeout. Those bytes can then never be skipped, so the session ends. 552 5.3.4
  // (RFC 1870 §6) is what "too big" is; a 4xx would have the sender retry the same thing forever.
  const announcedBytes = (tx?.bdat?.sizeBytes ?? 0) + chunkBytes;
  if (!Number.isSafeInteger(announcedBytes) || announcedBytes > 2 * settings.maxMessageBytes)
    return respond(CLOSED, closing(replies.messageTooBig));
  const discard = bdatRefusal(ctx, tx, chunkBytes, settings);
  return unchanged({ phase: 'bdat', ctx, tx, chunkBytes, last, discard });
}

function bdatRefusal(
  ctx: SessionContext,
  tx: Transaction | null,
  chunkBytes: number,
  settings: SessionSettings,
): Reply | null {
  const outOfSequence = sequenceRefusal('BDAT', stageOf(ctx, tx));
  if (outOfSequence !== null || tx === null) return outOfSequence ?? replies.needMail;
  if (tx.bdat?.failure) return tx.bdat.failure;
  if ((tx.bdat?.sizeBytes ?? 0) + chunkBytes > settings.maxMessageBytes)
    return replies.messageTooBig;
  if (tx.bdat === null && settings.isOverMemoryBudget()) return replies.memoryBudget;
  return null;
}

function startTls(state: PhaseState<'command'>, args: string, error: Refuse): Transition {
  const { ctx } = state;
  if (args !== '') return error(replies.syntax('STARTTLS takes no arguments'));
  if (ctx.info.tls !== null) return error(replies.alreadyTls);
  // The reply goes out in clear; everything after it is TLS, and input buffered so far is dropped.
  return {
    state: { phase: 'tls', ctx },
    actions: [
      { type: 'reply', reply: replies.readyForTls },
      { type: 'start-tls', droppedBytes: 0 },
    ],
  };
}
