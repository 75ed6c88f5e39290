// Typed helpers to answer a step: accept, reject or defer, with an optional explicit code and headers.
import type { AllowedCode, STEP_CODES } from './codes.ts';
import { MxhookError } from './errors.ts';
import { interpretResponse } from './interpret.ts';
import type {
  Action,
  DeliverRequest,
  ForwardRequest,
  ReplyRequest,
  ReplyText,
  Step,
} from './wire.ts';

/** The codes that accept at a step; `AcceptCode<Step>` is every accepting code of any step. */
export type AcceptCode<S extends Step> = (typeof STEP_CODES)[S]['accept'][number];
/** The temporary-failure codes of a step. */
export type TemporaryCode<S extends Step> = (typeof STEP_CODES)[S]['temporary'][number];
/** The permanent-failure codes of a step. */
export type PermanentCode<S extends Step> = (typeof STEP_CODES)[S]['permanent'][number];

/** An answer that lets the gateway pick the step's usual code (see ACTION_REPLIES). */
export interface ActionReply<A extends Action = Action> {
  readonly action: A;
  readonly message?: ReplyText;
}

/** An answer with an explicit SMTP code and, optionally, an RFC 3463 enhanced code. */
export interface CodeReply<C extends number = number> {
  readonly code: C;
  readonly enhanced?: string;
  readonly message?: ReplyText;
}

/** Headers the gateway records on an accepted message (data step only). */
export type RecordedHeaders = Readonly<Record<string, string>>;

/**
 * What a handler for step `S` may return. Only codes the step may use type-check, and `headers`
 * only at the data step, so a mistake fails at compile time instead of becoming a 451 at run time.
 *
 * @example
 * ```ts
 * const answer: ResponseFor<'rcpt'> = { code: 550, enhanced: '5.1.1', message: 'No such user' };
 * // @ts-expect-error 354 is not a code RCPT may answer with
 * const wrong: ResponseFor<'rcpt'> = { code: 354 };
 * ```
 */
export type ResponseFor<S extends Step> = (ActionReply | CodeReply<AllowedCode<S>>) &
  (S extends 'data'
    ? {
        readonly headers?: RecordedHeaders;
        readonly deliver?: DeliverRequest;
        readonly forward?: ForwardRequest;
        readonly reply?: ReplyRequest;
      }
    : {
        readonly headers?: never;
        readonly deliver?: never;
        readonly forward?: never;
        readonly reply?: never;
      });

/** The explicit code (and enhanced code) a helper may be given instead of the action's default. */
export interface CodeOptions<C extends number> {
  readonly code: C;
  /** RFC 3463 `class.subject.detail`, class matching the code; defaults to the step's usual one. */
  readonly enhanced?: string;
}

// RFC 3463 §2: class.subject.detail, subject and detail of 1–3 digits.
const ENHANCED_CODE = /^[245]\.\d{1,3}\.\d{1,3}$/;

function invalid(message: string): MxhookError<'ERR_RESPONSE_INVALID'> {
  return new MxhookError('ERR_RESPONSE_INVALID', message);
}

// The per-step check happens in the type system and again, authoritatively, in interpretResponse;
// here only what can be known without the step: the code's class and the enhanced code's shape.
function build(
  action: Action,
  codeClass: 2 | 4 | 5,
  message: ReplyText | undefined,
  options: CodeOptions<number> | undefined,
): ActionReply | CodeReply {
  const text = message === undefined ? {} : { message };
  if (options === undefined) return { action, ...text };
  const { code, enhanced } = options;
  if (!Number.isInteger(code) || Math.floor(code / 100) !== codeClass) {
    throw invalid(`${action}() needs a ${codeClass}xx code, got ${code}`);
  }
  if (enhanced === undefined) return { code, ...text };
  if (!ENHANCED_CODE.test(enhanced) || enhanced[0] !== String(codeClass)) {
    throw invalid(
      `enhanced code ${JSON.stringify(enhanced)} must look like ${codeClass}.x.y (RFC 3463)`,
    );
  }
  return { code, enhanced, ...text };
}

/**
 * Accepts the step. Without options the gateway answers the step's usual code (250 `2.1.5` for
 * rcpt, 250 `2.0.0` for data, …); with `{ code }` one of the step's accepting codes.
 *
 * @example
 * ```ts
 * mxhook({ rcpt: () => accept(), data: () => accept('Queued as 12345') }, { keys });
 * mxhook({ rcpt: () => accept('Will try to forward', { code: 251, enhanced: '2.1.5' }) }, { keys });
 * ```
 */
export function accept(message?: ReplyText): ActionReply<'accept'>;
export function accept<C extends AcceptCode<Step>>(
  message: ReplyText | undefined,
  options: CodeOptions<C>,
): CodeReply<C>;
export function accept(
  message?: ReplyText,
  options?: CodeOptions<number>,
): ActionReply | CodeReply {
  return build('accept', 2, message, options);
}

/**
 * Refuses permanently: the sender gets a bounce. Without options the step's usual code (550
 * `5.1.1` for rcpt, 554 `5.7.1` for data, …); with `{ code }` one of the step's permanent codes.
 *
 * @example
 * ```ts
 * mxhook({ rcpt: (call) => (known(call.rcpt.address) ? accept() : reject('No such user')) }, { keys });
 * mxhook({ data: () => reject('Message too large', { code: 552, enhanced: '5.3.4' }) }, { keys });
 * ```
 */
export function reject(message?: ReplyText): ActionReply<'reject'>;
export function reject<C extends PermanentCode<Step>>(
  message: ReplyText | undefined,
  options: CodeOptions<C>,
): CodeReply<C>;
export function reject(
  message?: ReplyText,
  options?: CodeOptions<number>,
): ActionReply | CodeReply {
  return build('reject', 5, message, options);
}

/**
 * Fails temporarily: the sender keeps the message and retries later. Without options 451 `4.7.1`
 * (421 at connect, 454 at auth); with `{ code }` one of the step's temporary codes.
 *
 * @example
 * ```ts
 * mxhook({ data: async (call) => ((await store(call)) ? accept() : defer('Storage busy')) }, { keys });
 * mxhook({ rcpt: () => defer('Mailbox full', { code: 452, enhanced: '4.2.2' }) }, { keys });
 * ```
 */
export function defer(message?: ReplyText): ActionReply<'defer'>;
export function defer<C extends TemporaryCode<Step>>(
  message: ReplyText | undefined,
  options: CodeOptions<C>,
): CodeReply<C>;
export function defer(message?: ReplyText, options?: CodeOptions<number>): ActionReply | CodeReply {
  return build('defer', 4, message, options);
}

/**
 * Adds headers for the gateway to record on the message; only the data step honours them, so the
 * result only type-checks as a data answer. Names must be RFC 5322 field names; throws
 * `ERR_RESPONSE_INVALID` otherwise.
 *
 * @example
 * ```ts
 * mxhook({ data: () => withHeaders(accept(), { 'X-Spam-Score': '0.1' }) }, { keys });
 * ```
 */
export function withHeaders<R extends ActionReply | CodeReply>(
  response: R,
  headers: RecordedHeaders,
): R & { readonly headers: RecordedHeaders } {
  const checked = interpretResponse('data', { action: 'accept', headers });
  if (!checked.ok) throw invalid(checked.reason);
  return { ...response, headers };
}
