// Middleware around a handler's hooks: each runs in order around the hook (m1 → m2 → hook → m2 → m1)
// and can see or replace the call, time it, catch what it throws, and change its answer.
import type { Step } from '../functions/sdk/wire.ts';
import { MxhookError } from './errors.ts';
import type { Handler, HookAnswer, HookArgs } from './handler.ts';

/** One hook call as a middleware sees it, for one step. */
export interface StepContext<S extends Step> {
  readonly step: S;
  /** What the hook is called with, its `signal` included; replace it before `next()` to change what inner middleware and the hook see. */
  call: HookArgs<S>;
  /**
   * The answer so far: undefined until `next()` resolves, then the hook's (or an inner
   * middleware's). Set it to change the answer; an outer middleware sees the change.
   */
  answer: HookAnswer;
}

/** What a middleware gets: narrowing on `c.step` narrows `c.call` to that step's call. */
export type MiddlewareContext = { [S in Step]: StepContext<S> }[Step];

/**
 * Runs around every hook call of the handler it wraps. `next()` runs the rest of the chain and
 * the hook, and rejects with what they threw; not calling it answers without the hook (set
 * `c.answer`). A step the handler has no hook for is decided by the gateway without a call, and
 * no middleware runs for it.
 *
 * @example
 * const timing: Middleware = async (c, next) => {
 *   const started = performance.now();
 *   await next();
 *   console.log(c.step, performance.now() - started);
 * };
 */
export type Middleware = (c: MiddlewareContext, next: () => Promise<void>) => void | Promise<void>;

type Hook<S extends Step> = (call: HookArgs<S>) => HookAnswer | Promise<HookAnswer>;

/**
 * The handler with each of its hooks wrapped in the middleware, the first outermost. Steps
 * without a hook stay without one (the gateway's default decides them). A data chain that ends
 * without an answer is a failed call, as a data hook answering nothing is.
 */
export function applyMiddleware(handler: Handler, middleware: readonly Middleware[]): Handler {
  if (middleware.length === 0) return handler;
  const chain = [...middleware];
  const { connect, helo, auth, mail, rcpt, data } = handler;
  return {
    ...(connect ? { connect: (call) => run(chain, 'connect', call, connect) } : {}),
    ...(helo ? { helo: (call) => run(chain, 'helo', call, helo) } : {}),
    ...(auth ? { auth: (call) => run(chain, 'auth', call, auth) } : {}),
    ...(mail ? { mail: (call) => run(chain, 'mail', call, mail) } : {}),
    ...(rcpt ? { rcpt: (call) => run(chain, 'rcpt', call, rcpt) } : {}),
    data: async (call) => {
      const answer = await run(chain, 'data', call, data);
      if (answer === undefined)
        throw new MxhookError('ERR_HOOK_RESPONSE', 'no answer from the data middleware chain');
      return answer;
    },
  };
}

async function run<S extends Step>(
  chain: readonly Middleware[],
  step: S,
  call: HookArgs<S>,
  hook: Hook<S>,
): Promise<HookAnswer> {
  const c: StepContext<S> = { step, call, answer: undefined };
  // For a concrete S this is the union's member for that step; TypeScript cannot see that for a generic S.
  const context = c as unknown as MiddlewareContext;
  let entered = -1;
  const dispatch = async (index: number): Promise<void> => {
    // A second next() would run the hook twice for one call: a bug in that middleware.
    if (index <= entered) throw new Error(`next() called more than once in the ${step} chain`);
    entered = index;
    const middleware = chain[index];
    if (middleware === undefined) c.answer = await hook(c.call);
    else await middleware(context, () => dispatch(index + 1));
  };
  await dispatch(0);
  return c.answer;
}
