// Hono helpers: a ready app that verifies every gateway call and routes it to per-step handlers, and the verifying middleware alone.
import { type Context, type Env, Hono, type MiddlewareHandler } from 'hono';
import { verifyDeliveryBody } from './delivery-report.ts';
import { MxhookError, MxhookVerifyError } from './errors.ts';
import { interpretResponse } from './interpret.ts';
import { type RemoteJwksOptions, resolveKeys, type VerifyKeys } from './keys.ts';
import { readBody } from './read-body.ts';
import type { SeenIdStore } from './replay.ts';
import type { ResponseFor } from './responses.ts';
import { verifyBody } from './verify.ts';
import { checkVerifyOptions } from './verify-options.ts';
import {
  DELIVERY_STEP,
  type DeliveryReportRequest,
  type RequestFor,
  SIGNATURE_HEADER,
  STEPS,
  type Step,
  type StepRequest,
} from './wire.ts';

/** Handles one step: gets the verified, typed payload and the Hono context, returns the answer. */
export type StepHandler<S extends Step, E extends Env = Env> = (
  payload: RequestFor<S>,
  c: Context<E>,
) => ResponseFor<S> | Promise<ResponseFor<S>>;

/**
 * Hears what became of one recipient of a queued message (the gateway's `delivery` call, with
 * MXHOOK_DELIVERY_REPORTS on). Its answer is not used: the app answers 200 once it returns; a
 * throw answers 500, and the gateway does not send the report again.
 */
export type DeliveryHandler<E extends Env = Env> = (
  request: DeliveryReportRequest,
  c: Context<E>,
) => void | Promise<void>;

/** One optional handler per step, and for delivery reports; a step without one is accepted. */
export type StepHandlers<E extends Env = Env> = { readonly [S in Step]?: StepHandler<S, E> } & {
  readonly delivery?: DeliveryHandler<E>;
};

/** The variables the verifying middleware sets: `c.var.mxhook` is the verified payload. */
export interface MxhookVariables {
  mxhook: StepRequest;
}

/** Options of {@link mxhook} and {@link mxhookVerify}. */
export interface MxhookOptions<E extends Env = Env> {
  /**
   * The verification keys (see `VerifyKeys`), or a function of the context that returns them.
   * On Cloudflare Workers secrets live in `env`, not in the module scope, so pass
   * `(c) => c.env.MXHOOK_SIGNING_SECRET`.
   */
  readonly keys: VerifyKeys | ((c: Context<E>) => VerifyKeys | Promise<VerifyKeys>);
  /** How far `timestamp` may be from now, in seconds. Default 300. */
  readonly toleranceSeconds?: number;
  /**
   * The function's URL(s); see `VerifyOptions.audience`. Set it: without it, a call the gateway
   * signed for another function that shares the key verifies here too. May be a function of the
   * context, for a URL kept in `env` on Workers.
   */
  readonly audience?: string | readonly string[] | ((c: Context<E>) => string | readonly string[]);
  /** Replay protection: a store, or a function of the context returning one (e.g. backed by KV). */
  readonly replay?: SeenIdStore | ((c: Context<E>) => SeenIdStore);
  /** The clock, in unix seconds; for tests. */
  readonly now?: () => number;
  /** How a JWKS given by URL is fetched. */
  readonly remoteJwks?: RemoteJwksOptions;
  /** The largest body read, in bytes; larger ones get 413. See `VerifyOptions.maxBodyBytes`. */
  readonly maxBodyBytes?: number;
}

type Verifier<E extends Env> = (
  c: Context<E>,
  step: Step | typeof DELIVERY_STEP | undefined,
) => Promise<StepRequest | DeliveryReportRequest | Response>;

function optionError(where: string, message: string, cause?: unknown): MxhookError {
  const code = cause instanceof MxhookError ? cause.code : 'ERR_OPTION_INVALID';
  return new MxhookError(code, `${where}: ${message}`, { cause });
}

// Everything that does not depend on the request is checked here, once, so a misconfigured
// function fails at start-up with the option's name instead of answering 500 to every call.
function createVerifier<E extends Env>(options: MxhookOptions<E>, where: string): Verifier<E> {
  if (typeof options !== 'object' || options === null)
    throw optionError(where, 'options must be an object');
  const { keys, replay, audience } = options;
  if (keys === undefined || keys === null) throw optionError(where, 'option "keys" is required');
  let maxBodyBytes: number;
  try {
    // Factories can only be checked per request, on what they return.
    ({ maxBodyBytes } = checkVerifyOptions({
      ...options,
      replay: typeof replay === 'function' ? undefined : replay,
      audience: typeof audience === 'function' ? undefined : audience,
    }));
  } catch (error) {
    throw optionError(where, (error as Error).message, error);
  }
  if (typeof keys !== 'function') {
    try {
      resolveKeys(keys, options.remoteJwks);
    } catch (error) {
      throw optionError(where, `option "keys": ${(error as Error).message}`, error);
    }
  }
  return async (c, step) => {
    const resolvedKeys = typeof keys === 'function' ? await keys(c) : keys;
    const signature = c.req.header(SIGNATURE_HEADER);
    try {
      // Without a signature there is nothing to check the body against, so do not read it.
      const body = signature === undefined ? new Uint8Array() : await readBodyOnce(c, maxBodyBytes);
      const checks = {
        toleranceSeconds: options.toleranceSeconds,
        audience: typeof audience === 'function' ? audience(c) : audience,
        now: options.now,
        remoteJwks: options.remoteJwks,
        replay: typeof replay === 'function' ? replay(c) : replay,
        maxBodyBytes,
      };
      if (step === DELIVERY_STEP)
        return await verifyDeliveryBody(body, signature, resolvedKeys, checks);
      return await verifyBody(body, signature, resolvedKeys, { ...checks, step });
    } catch (error) {
      if (!(error instanceof MxhookVerifyError)) throw error;
      // Only the code goes back: it tells the gateway's operator what to fix, and reveals no key.
      return c.json({ error: error.code }, statusOf(error.code));
    }
  };
}

function statusOf(code: MxhookVerifyError['code']): 401 | 413 | 503 {
  if (code === 'ERR_BODY_TOO_LARGE') return 413;
  return code === 'ERR_KEYS_UNAVAILABLE' ? 503 : 401;
}

/**
 * Reads the raw body within the limit and leaves it in Hono's body cache (which holds promises,
 * whatever its type says), as `c.req.arrayBuffer()` would: routes after the middleware can
 * still call `c.req.json()` or `c.req.text()`.
 */
async function readBodyOnce(c: Context, maxBodyBytes: number): Promise<Uint8Array> {
  const body = await readBody(c.req.raw, maxBodyBytes);
  const whole = body.byteLength === body.buffer.byteLength ? body : body.slice();
  (c.req.bodyCache as Record<string, unknown>).arrayBuffer = Promise.resolve(whole.buffer);
  return body;
}

/**
 * Middleware that verifies a gateway call and puts the payload in `c.var.mxhook`; answers 401
 * `{ "error": "<code>" }` when verification fails (503 when a remote JWKS is unreachable, 413
 * when the body is over `maxBodyBytes`, refused before it is read to the end). Use it
 * to write your own routes; {@link mxhook} is the ready-made app.
 *
 * @example
 * ```ts
 * type Bindings = { MXHOOK_SIGNING_SECRET: string };
 * const app = new Hono<{ Bindings: Bindings; Variables: MxhookVariables }>();
 * app.post('/hooks/:step', mxhookVerify<{ Bindings: Bindings }>({ keys: (c) => c.env.MXHOOK_SIGNING_SECRET }), (c) => {
 *   const call = c.var.mxhook;
 *   return c.json(call.step === 'rcpt' ? accept() : reject());
 * });
 * ```
 */
export function mxhookVerify<E extends Env = Env>(
  options: MxhookOptions<E>,
): MiddlewareHandler<E & { Variables: MxhookVariables }> {
  const verifier = createVerifier(options, 'mxhookVerify()');
  return async function mxhookVerifyMiddleware(c, next) {
    const result = await verifier(c as unknown as Context<E>, undefined);
    if (result instanceof Response) return result;
    c.set('mxhook', result as StepRequest);
    await next();
  };
}

function isStep(value: string): value is Step {
  return (STEPS as readonly string[]).includes(value);
}

function checkHandlers(handlers: unknown): void {
  if (typeof handlers !== 'object' || handlers === null) {
    throw optionError('mxhook()', 'handlers must be an object of step handlers');
  }
  for (const [name, handler] of Object.entries(handlers)) {
    if (!isStep(name) && name !== DELIVERY_STEP) {
      throw optionError(
        'mxhook()',
        `unknown step "${name}" in handlers; steps are ${STEPS.join(', ')} (and ${DELIVERY_STEP})`,
      );
    }
    if (typeof handler !== 'function') {
      throw optionError('mxhook()', `handler "${name}" must be a function`);
    }
  }
}

/**
 * A Hono app that answers the gateway: `POST /<step>` is verified (401 `{ "error": "<code>" }` if
 * not), passed to `handlers[step]` (a step without a handler is accepted), and the handler's
 * answer is checked with `interpretResponse` before it is sent; an answer the gateway would refuse
 * becomes 500 `{ "error": "ERR_RESPONSE_INVALID", "reason": … }` (the gateway then replies 451).
 * Options are checked here, once: a mistake throws `MxhookError` naming the option.
 *
 * On Cloudflare Workers, secrets are in `env`: give `keys` as a function of the context.
 *
 * @example
 * ```ts
 * type Bindings = { MXHOOK_SIGNING_SECRET: string };
 * export default mxhook<{ Bindings: Bindings }>(
 *   {
 *     rcpt: (call) => (call.rcpt.address.endsWith('@example.com') ? accept() : reject('No such user')),
 *     data: (call) => withHeaders(accept(), { 'X-Processed-By': 'mxhook' }),
 *   },
 *   { keys: (c) => c.env.MXHOOK_SIGNING_SECRET, audience: 'https://hooks.example.com' },
 * );
 * ```
 */
export function mxhook<E extends Env = Env>(
  handlers: StepHandlers<E>,
  options: MxhookOptions<E>,
): Hono<E> {
  checkHandlers(handlers);
  const verifier = createVerifier(options, 'mxhook()');
  const app = new Hono<E>();
  app.post('/:step', async (c) => {
    const step = c.req.param('step');
    if (step === DELIVERY_STEP) {
      const report = await verifier(c as unknown as Context<E>, DELIVERY_STEP);
      if (report instanceof Response) return report;
      await handlers.delivery?.(report as DeliveryReportRequest, c as unknown as Context<E>);
      return c.json({ ok: true });
    }
    if (!isStep(step)) return c.json({ error: 'unknown step' }, 404);
    const payload = await verifier(c as unknown as Context<E>, step);
    if (payload instanceof Response) return payload;
    const handler = handlers[step] as StepHandler<Step, E> | undefined;
    const answer: unknown =
      handler === undefined
        ? { action: 'accept' }
        : await handler(payload as never, c as unknown as Context<E>);
    const interpreted = interpretResponse(step, answer);
    if (!interpreted.ok)
      return c.json({ error: 'ERR_RESPONSE_INVALID', reason: interpreted.reason }, 500);
    return c.json(answer as object);
  });
  return app;
}
