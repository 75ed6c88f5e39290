// A throw from an inner middleware or the hook becomes the step's temporary failure, logged with
// its error. The gateway already turns a throw into that same failure; what recover adds is the
// log line with the error, and an answer outer middleware can see and change.
import type { Logger } from 'pino';
import { STEPS, type Step, type StepResponse } from '../../functions/sdk/wire.ts';
import type { Middleware } from '../middleware.ts';
import { errorForLog } from '../server/logger.ts';
import { decide } from '../smtp/decision.ts';

/**
 * The reply the gateway sends for a failed call at each step (451 4.3.0; 454 4.7.0 at AUTH, RFC
 * 4954 §6; 421 4.3.0 at connect), as an answer. Never accepting, so the one promise holds
 * (docs/architecture.md, "The one promise").
 */
const TEMPORARY_FAILURE = Object.fromEntries(
  STEPS.map((step) => {
    // decision.ts is the one place that maps a failed call to its reply.
    const { reply } = decide(step, {
      ok: false,
      error: { code: 'ERR_HOOK_THREW', message: 'thrown' },
    });
    const answer: StepResponse = {
      code: reply.code,
      ...(reply.enhanced === null ? {} : { enhanced: reply.enhanced }),
      message: reply.lines,
    };
    return [step, Object.freeze(answer)];
  }),
) as Readonly<Record<Step, StepResponse>>;

/** Answers a throw from inside it with the step's temporary failure, and logs the error at error. */
export function recover(log: Logger): Middleware {
  return async (c, next) => {
    try {
      await next();
    } catch (error) {
      log.error(
        { step: c.step, session: c.call.session.id, error: errorForLog(error) },
        'hook threw, answering with a temporary failure',
      );
      c.answer = TEMPORARY_FAILURE[c.step];
    }
  };
}
