// Commands a program adds to the gateway (library API), as go-smtpsrv's command processors: checked
// once at start, and wrapped so that whatever the program's code does, the core gets a safe reply.
import type { Logger } from 'pino';
import { interpretCommandReply } from '../../functions/sdk/interpret.ts';
import type { SessionInfo } from '../../functions/sdk/wire.ts';
import { MxhookError } from '../errors.ts';
import { VERBS } from '../smtp/command.ts';
import { replies } from '../smtp/replies.ts';
import type { Reply } from '../smtp/reply.ts';
import type { ExtraVerb } from '../smtp/session-state.ts';
import { errorForLog } from './logger.ts';

/** The answer to an added command: any 2xx, 4xx or 5xx code; 421 also closes the session. */
export interface ExtraVerbAnswer {
  readonly code: number;
  /** RFC 3463 enhanced code of the same class; `X.0.0` when absent. */
  readonly enhanced?: string;
  readonly message?: string | readonly string[];
}

export interface ExtraVerbDefinition {
  /** The EHLO line advertising the verb, keyword first (`ETRN`, `XSTATUS 2`); absent: not advertised. */
  readonly ehlo?: string;
  /**
   * Answers the command at once. Work that takes time is started here and answered for at once,
   * as ETRN answers 250 and runs its queue afterwards. A throw or an answer that is not a valid
   * reply is logged and answered 451 4.3.0.
   */
  readonly handle: (call: {
    readonly args: string;
    readonly session: SessionInfo;
  }) => ExtraVerbAnswer;
}

// RFC 5321 §4.1.1: a verb is letters (and digits, as private X-verbs use); kept short.
const VERB_NAME = /^[A-Z][A-Z0-9]{1,15}$/;
// RFC 5321 §4.1.1.1: ehlo-keyword *(SP ehlo-param), printable US-ASCII.
const EHLO_LINE = /^[A-Za-z0-9][A-Za-z0-9-]*(?: [\x21-\x7e]+)*$/;
const MAX_EHLO_LINE = 200;

/**
 * The verbs the core is given, by upper-case name.
 *
 * @throws MxhookError (`ERR_CONFIG_INVALID`) for a name that is not a verb or is one the gateway
 * implements, or an EHLO line that is not one.
 */
export function compileExtraVerbs(
  definitions: Readonly<Record<string, ExtraVerbDefinition>>,
  log: Logger,
): ReadonlyMap<string, ExtraVerb> {
  const verbs = new Map<string, ExtraVerb>();
  for (const [name, definition] of Object.entries(definitions)) {
    const verb = name.toUpperCase();
    if (!VERB_NAME.test(verb))
      throw invalid(`${JSON.stringify(name)} is not a verb (2 to 16 letters and digits)`);
    if ((VERBS as readonly string[]).includes(verb))
      throw invalid(`${verb} is a command the gateway implements`);
    const ehlo = definition.ehlo ?? null;
    if (ehlo !== null && (!EHLO_LINE.test(ehlo) || ehlo.length > MAX_EHLO_LINE))
      throw invalid(`${verb}: ${JSON.stringify(ehlo)} is not an EHLO keyword line`);
    verbs.set(verb, { ehlo, reply: safeReply(verb, definition, log) });
  }
  return verbs;
}

function invalid(problem: string): MxhookError {
  return new MxhookError('ERR_CONFIG_INVALID', `option verbs: ${problem}`);
}

function safeReply(
  verb: string,
  definition: ExtraVerbDefinition,
  log: Logger,
): (args: string, session: SessionInfo) => Reply {
  return (args, session) => {
    let answer: unknown;
    try {
      answer = definition.handle({ args, session });
    } catch (error) {
      log.warn({ verb, error: errorForLog(error) }, 'added command threw');
      return replies.hookFailed;
    }
    const interpreted = interpretCommandReply(answer);
    if (!interpreted.ok) {
      log.warn({ verb, reason: interpreted.reason }, 'added command answered with no valid reply');
      return replies.hookFailed;
    }
    const { code, enhanced, lines } = interpreted.reply;
    // RFC 5321 §3.8: 421 means the server is closing the session.
    return code === 421 ? { code, enhanced, lines, close: true } : { code, enhanced, lines };
  };
}
