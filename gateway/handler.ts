// The handler interface: one optional async hook per SMTP step (data required); the webhook bridge is one implementation.
import type { Authentication, RawReference, StepResponse } from '../functions/sdk/wire.ts';
import type { HookCall } from './smtp/session-state.ts';

export type { HookCall } from './smtp/session-state.ts';

/**
 * A step's call as a hook gets it: the session's call plus the gateway's authentication verdicts
 * so far (absent when MXHOOK_AUTH_CHECKS is empty). At data, `message` then also starts with the
 * gateway's Authentication-Results header, above its Received header.
 */
export type VerifiedCall = HookCall & { readonly authentication?: Authentication };

/** What a hook receives: the step's call plus a signal that aborts when the call is no longer wanted. */
export type HookArgs<S extends HookCall['step']> = HookCallByStep[S] & {
  readonly authentication?: Authentication;
  readonly signal: AbortSignal;
  /**
   * At data only: where the function fetches the message instead of receiving it inline, set by
   * the archive when the message is over MXHOOK_INLINE_MAX (gateway/archive/keep-messages.ts).
   */
  readonly rawReference?: RawReference;
};

// A lookup by step (rather than Extract<>) keeps HookArgs<S> usable while S is still generic.
type HookCallByStep = { [C in HookCall as C['step']]: C };

/** A hook answers like a function would; `undefined` accepts (except for data, where it is a failure). */
export type HookAnswer = StepResponse | undefined;

/**
 * In-process decisions for each step. Anything but an accepting answer from `data` — a throw, a
 * timeout, `undefined`, an illegal code — makes the client see 451, never 250.
 *
 * @example
 * const handler: Handler = {
 *   rcpt: ({ rcpt }) => (rcpt.address.endsWith('@example.com') ? undefined : { action: 'reject' }),
 *   data: async ({ message }) => { await store(message.chunks); return { action: 'accept' }; },
 * };
 */
export interface Handler {
  readonly connect?: (call: HookArgs<'connect'>) => HookAnswer | Promise<HookAnswer>;
  readonly helo?: (call: HookArgs<'helo'>) => HookAnswer | Promise<HookAnswer>;
  /** Decides AUTH credentials; without it AUTH is refused (never accepted by default). */
  readonly auth?: (call: HookArgs<'auth'>) => HookAnswer | Promise<HookAnswer>;
  readonly mail?: (call: HookArgs<'mail'>) => HookAnswer | Promise<HookAnswer>;
  readonly rcpt?: (call: HookArgs<'rcpt'>) => HookAnswer | Promise<HookAnswer>;
  readonly data: (call: HookArgs<'data'>) => StepResponse | Promise<StepResponse>;
}
