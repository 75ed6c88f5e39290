// Calls one handler hook with a deadline; every way it can fail becomes a value, never an exception.
import { MxhookError } from '../errors.ts';
import type { Handler, VerifiedCall } from '../handler.ts';
import type { HookOutcome } from '../smtp/decision.ts';
import type { HookCall } from '../smtp/session-state.ts';
import { errorForLog } from './logger.ts';

const ACCEPT: HookOutcome = Object.freeze({
  ok: true,
  response: Object.freeze({ action: 'accept' }),
});

const REJECT: HookOutcome = Object.freeze({
  ok: true,
  response: Object.freeze({ action: 'reject' }),
});

type AnyHook = (call: VerifiedCall & { signal: AbortSignal }) => unknown;

/**
 * The outcome of a step whose handler has no hook, known without calling anything: accepted —
 * except AUTH, where unchecked credentials must never pass. Null when there is a hook to call.
 */
export function outcomeWithoutHook(handler: Handler, step: HookCall['step']): HookOutcome | null {
  if (handler[step] !== undefined) return null;
  return step === 'auth' ? REJECT : ACCEPT;
}

/**
 * Starts the step's hook (the handler has one), giving it a signal that aborts at the deadline or
 * on the returned cancel function, and calls `done` once with its answer or its failure — always
 * later, never from inside this call. One AbortController, one cleared timer and no promise of
 * ours per call: AbortSignal.timeout() would keep its timer alive for the whole timeout after
 * every call, and racing promises costs several allocations per call on the path of every message.
 */
export function startHook(
  handler: Handler,
  call: VerifiedCall,
  timeoutMs: number,
  done: (outcome: HookOutcome) => void,
): () => void {
  const hook = handler[call.step] as AnyHook | undefined;
  // The caller decides a step without a hook at once (outcomeWithoutHook), never through here.
  if (hook === undefined) throw new Error(`no ${call.step} hook to call`);
  const controller = new AbortController();
  let settled = false;
  const settle = (outcome: HookOutcome): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    done(outcome);
  };
  // The failure is settled before the hook hears of the abort, so the failure is ours.
  const stop = (error: MxhookError): void => {
    settle(failureOf(error));
    controller.abort(error);
  };
  const timer = setTimeout(
    () =>
      stop(
        new MxhookError('ERR_HOOK_TIMEOUT', `${call.step} hook took longer than ${timeoutMs} ms`),
      ),
    timeoutMs,
  );
  const cancel = (): void => stop(cancelled(call.step));
  let answer: unknown;
  try {
    answer = hook({ ...call, signal: controller.signal });
  } catch (error) {
    queueMicrotask(() => settle(failureOf(error)));
    return cancel;
  }
  if (isThenable(answer)) {
    answer.then(
      (value) => settle(outcomeOf(call.step, value)),
      (error: unknown) => settle(failureOf(error)),
    );
  } else queueMicrotask(() => settle(outcomeOf(call.step, answer)));
  return cancel;
}

/** The outcome of a call cancelled before it was made (the session is shutting down). */
export function cancelledOutcome(step: HookCall['step']): HookOutcome {
  return failureOf(cancelled(step));
}

/** The outcome of a call that could not be made because its authentication checks broke. */
export function checksFailedOutcome(step: HookCall['step'], cause: unknown): HookOutcome {
  return failureOf(
    new MxhookError('ERR_AUTH_CHECK', `${step} authentication checks failed`, { cause }),
  );
}

function cancelled(step: HookCall['step']): MxhookError {
  return new MxhookError('ERR_SHUTTING_DOWN', `${step} hook cancelled`);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** What a hook's answer means: undefined accepts every step but data, which must say so. */
function outcomeOf(step: HookCall['step'], response: unknown): HookOutcome {
  if (response !== undefined) return { ok: true, response };
  return step === 'data'
    ? { ok: false, error: { code: 'ERR_HOOK_RESPONSE', message: 'no answer' } }
    : ACCEPT;
}

function failureOf(error: unknown): HookOutcome {
  const code = error instanceof MxhookError ? error.code : 'ERR_HOOK_THREW';
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error ? error.cause : undefined;
  const failure =
    cause === undefined ? { code, message } : { code, message, cause: errorForLog(cause) };
  return { ok: false, error: failure };
}
