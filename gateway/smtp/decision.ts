// Turns a handler's answer, or its failure, into the SMTP reply: the one place that keeps the
// promise "never 250 to DATA unless the data function accepted; every failure is a 4xx"
// (docs/architecture.md, "The one promise").
import { STEP_CODES } from '../../functions/sdk/codes.ts';
import type { MxhookErrorCode } from '../../functions/sdk/errors.ts';
import { interpretResponse } from '../../functions/sdk/interpret.ts';
import type { Step } from '../../functions/sdk/wire.ts';
import { replies } from './replies.ts';
import type { Reply } from './reply.ts';

/** What a handler call ended with: the parsed response body, or why it failed. */
export type HookOutcome =
  | { readonly ok: true; readonly response: unknown }
  | { readonly ok: false; readonly error: HookFailure };

/** Why a handler call failed: a stable code (`ERR_HOOK_TIMEOUT` …) and what happened. */
export interface HookFailure {
  readonly code: MxhookErrorCode;
  readonly message: string;
  /** What it came from (the transport's or a library's error), as the log shows it. */
  readonly cause?: { readonly code: string; readonly message: string };
}

/** How a step's answer came out: what logs, metrics and the transaction's end report. */
export type StepOutcome = 'accepted' | 'rejected' | 'deferred' | 'failed';

export interface Decision {
  /** The step whose answer this is. */
  readonly step: Step;
  readonly reply: Reply;
  /** The step succeeded (for data: the message was accepted). */
  readonly accepted: boolean;
  readonly outcome: StepOutcome;
  /** Headers the data answer asked to record. */
  readonly headers: Readonly<Record<string, string>>;
  /** Why the call counts as failed, for the log; null when it did not fail. */
  readonly failure: HookFailure | null;
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

export function decide(step: Step, outcome: HookOutcome): Decision {
  if (!outcome.ok) return failed(step, outcome.error);
  const interpreted = interpretResponse(step, outcome.response);
  if (!interpreted.ok)
    return failed(step, { code: 'ERR_HOOK_RESPONSE', message: interpreted.reason });
  const { code, enhanced, lines } = interpreted.reply;
  const accepted = (STEP_CODES[step].accept as readonly number[]).includes(code);
  // 421 closes the connection at any step (RFC 5321 §3.8); so does refusing the connection itself.
  const close = code === 421 || (step === 'connect' && !accepted);
  return {
    step,
    reply: { code, enhanced, lines, ...(close ? { close: true } : {}) },
    accepted,
    outcome: accepted ? 'accepted' : code >= 500 ? 'rejected' : 'deferred',
    headers: step === 'data' ? interpreted.headers : NO_HEADERS,
    failure: null,
  };
}

// RFC 4954 §6 has its own temporary failure for AUTH; connect can only close (RFC 5321 §3.1).
function failureReply(step: Step): Reply {
  if (step === 'connect') return replies.hookFailedAtConnect;
  if (step === 'auth') return replies.authTemporaryFailure;
  return replies.hookFailed;
}

function failed(step: Step, why: HookFailure): Decision {
  return {
    step,
    reply: failureReply(step),
    accepted: false,
    outcome: 'failed',
    headers: NO_HEADERS,
    failure: why,
  };
}
