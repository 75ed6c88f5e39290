// Calls one handler hook with a deadline; every way it can fail becomes a value, never an exception.
import { MxhookError } from '../errors.ts';
import type { Handler } from '../handler.ts';
import type { HookCall, HookOutcome } from '../smtp/session-state.ts';

const ACCEPT: HookOutcome = Object.freeze({
  ok: true,
  response: Object.freeze({ action: 'accept' }),
});

const REJECT: HookOutcome = Object.freeze({
  ok: true,
  response: Object.freeze({ action: 'reject' }),
});

type AnyHook = (call: HookCall & { signal: AbortSignal }) => unknown;

/**
 * The outcome of a step whose handler has no hook, known without calling anything: accepted —
 * except AUTH, where unchecked credentials must never pass. Null when there is a hook to call.
 */
export function outcomeWithoutHook(handler: Handler, step: HookCall['step']): HookOutcome | null {
  if (handler[step] !== undefined) return null;
  return step === 'auth' ? REJECT : ACCEPT;
}

export interface RunningHook {
  /** Settles with the hook's answer or its failure; never rejects. */
  readonly outcome: Promise<HookOutcome>;
  /** Gives up on the call (ERR_SHUTTING_DOWN) and aborts the hook's signal. */
  cancel(): void;
}

/**
 * Starts the step's hook, giving it a signal that aborts at the deadline or on `cancel()`. One
 * AbortController and one cleared timer per call, nothing else: AbortSignal.timeout() would keep
 * its timer alive for the whole timeout after every call, and a listener on a per-session signal
 * costs an add and a remove per call.
 */
export function startHook(handler: Handler, call: HookCall, timeoutMs: number): RunningHook {
  const hook = handler[call.step] as AnyHook | undefined;
  if (hook === undefined) {
    return { outcome: Promise.resolve(outcomeWithoutHook(handler, call.step)!), cancel() {} };
  }
  const controller = new AbortController();
  let stop!: (error: MxhookError) => void;
  const stopped = new Promise<never>((_, reject) => {
    stop = (error) => {
      // The race is lost to `stopped` before the hook hears of the abort, so the failure is ours.
      reject(error);
      controller.abort(error);
    };
  });
  const timer = setTimeout(
    () =>
      stop(
        new MxhookError('ERR_HOOK_TIMEOUT', `${call.step} hook took longer than ${timeoutMs} ms`),
      ),
    timeoutMs,
  );
  const outcome = answerOf(
    call,
    () => hook({ ...call, signal: controller.signal }),
    stopped,
  ).finally(() => clearTimeout(timer));
  return {
    outcome,
    cancel: () => stop(new MxhookError('ERR_SHUTTING_DOWN', `${call.step} hook cancelled`)),
  };
}

async function answerOf(
  call: HookCall,
  invoke: () => unknown,
  stopped: Promise<never>,
): Promise<HookOutcome> {
  try {
    const response = await Promise.race([invoke(), stopped]);
    // undefined accepts every step but data: a data hook must say so explicitly.
    if (response === undefined)
      return call.step === 'data'
        ? { ok: false, error: { code: 'ERR_HOOK_RESPONSE', message: 'no answer' } }
        : ACCEPT;
    return { ok: true, response };
  } catch (error) {
    return {
      ok: false,
      error: {
        code: error instanceof MxhookError ? error.code : 'ERR_HOOK_THREW',
        message: error instanceof Error ? error.message : String(error),
      },
    };
  }
}
