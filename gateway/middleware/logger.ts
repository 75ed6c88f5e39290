// One log line per hook call: its step, the reply code and outcome its answer makes, and how long
// it took. Never the call itself: the data call carries the message, the auth call a password.
import type { Logger } from 'pino';
import type { Middleware, MiddlewareContext } from '../middleware.ts';
import { errorForLog } from '../server/logger.ts';
import { decide, type HookOutcome } from '../smtp/decision.ts';

const ACCEPT = Object.freeze({ action: 'accept' as const });

/**
 * Logs each call at info (`hook answered`), or at warn when it counts as failed; a throw is
 * logged with its error and passed on. Outermost, it times the whole chain and logs the answer the
 * gateway gets; `aborted` marks an answer that came after the gateway gave up on the call.
 */
export function logger(log: Logger): Middleware {
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } catch (error) {
      const failure = errorForLog(error);
      record(
        log,
        c,
        started,
        { ok: false, error: { code: 'ERR_HOOK_THREW', message: failure.message } },
        failure,
      );
      throw error;
    }
    // As run-hook.ts reads it: no answer accepts, except at data, where it is a failure.
    const response = c.answer === undefined && c.step !== 'data' ? ACCEPT : c.answer;
    record(log, c, started, { ok: true, response }, null);
  };
}

function record(
  log: Logger,
  c: MiddlewareContext,
  started: number,
  outcome: HookOutcome,
  error: ReturnType<typeof errorForLog> | null,
): void {
  const decision = decide(c.step, outcome);
  const line = {
    step: c.step,
    session: c.call.session.id,
    code: decision.reply.code,
    outcome: decision.outcome,
    // A tenth of a millisecond, as the gateway's own lines.
    durationMs: Math.round((performance.now() - started) * 10) / 10,
    ...(c.call.signal.aborted ? { aborted: true } : {}),
    ...(error === null ? {} : { error }),
  };
  if (decision.outcome === 'failed') log.warn(line, 'hook failed');
  else log.info(line, 'hook answered');
}
