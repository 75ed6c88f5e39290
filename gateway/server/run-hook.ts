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

export async function runHook(
  handler: Handler,
  call: HookCall,
  timeoutMs: number,
  cancel: AbortSignal,
): Promise<HookOutcome> {
  const hook = handler[call.step] as AnyHook | undefined;
  // A step without a hook is accepted — except AUTH: unchecked credentials must never pass.
  if (hook === undefined) return call.step === 'auth' ? REJECT : ACCEPT;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([cancel, deadline]);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () =>
      reject(
        deadline.aborted
          ? new MxhookError(
              'ERR_HOOK_TIMEOUT',
              `${call.step} hook took longer than ${timeoutMs} ms`,
            )
          : new MxhookError('ERR_SHUTTING_DOWN', `${call.step} hook cancelled`),
      );
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const response = await Promise.race([hook({ ...call, signal }), aborted]);
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
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
