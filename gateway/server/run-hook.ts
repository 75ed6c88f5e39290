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

/**
 * Runs the step's hook, giving it a signal that aborts at the deadline or when `cancel` aborts.
 * One AbortController and one cleared timer per call: AbortSignal.timeout() would leave its timer
 * alive for the whole timeout after every call, and AbortSignal.any() costs more than both.
 */
export async function runHook(
  handler: Handler,
  call: HookCall,
  timeoutMs: number,
  cancel: AbortSignal,
): Promise<HookOutcome> {
  const hook = handler[call.step] as AnyHook | undefined;
  if (hook === undefined) return outcomeWithoutHook(handler, call.step)!;
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
  const onCancel = (): void =>
    stop(new MxhookError('ERR_SHUTTING_DOWN', `${call.step} hook cancelled`));
  if (cancel.aborted) onCancel();
  else cancel.addEventListener('abort', onCancel, { once: true });
  try {
    const response = await Promise.race([hook({ ...call, signal: controller.signal }), stopped]);
    // undefined accepts every step but data: a data hook must say so explicitly.
    if (response === undefined)
      return call.step === 'data' ? { ok: false, error: 'ERR_HOOK_RESPONSE: no answer' } : ACCEPT;
    return { ok: true, response };
  } catch (error) {
    const code = error instanceof MxhookError ? error.code : 'ERR_HOOK_THREW';
    return {
      ok: false,
      error: `${code}: ${error instanceof Error ? error.message : String(error)}`,
    };
  } finally {
    clearTimeout(timer);
    cancel.removeEventListener('abort', onCancel);
  }
}
