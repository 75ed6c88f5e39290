// The URL(s) the gateway's calls must be signed for, so a call meant for another function is refused.
import type { Bindings } from './env.ts';

/** Where `createApp` mounts the hook routes; the gateway's MXHOOK_FUNCTION_URL ends with it. */
export const HOOK_PATH = '/mxhook';

/**
 * `MXHOOK_AUDIENCE` (comma-separated URLs, each the gateway's MXHOOK_FUNCTION_URL) when set;
 * otherwise the hook URL this Worker was called at, `<origin>/mxhook`. That default is what
 * `npm start` and `wrangler dev` use, and it still refuses a call signed for any other function
 * that shares the secret; set the variable when the gateway reaches the Worker through another
 * name than the one the request arrives with.
 *
 * @example
 * ```ts
 * audienceFrom({ MXHOOK_AUDIENCE: '' }, 'http://127.0.0.1:8787/mxhook/rcpt'); // ['http://127.0.0.1:8787/mxhook']
 * ```
 */
export function audienceFrom(
  env: Pick<Bindings, 'MXHOOK_AUDIENCE'>,
  requestUrl: string,
): readonly string[] {
  const configured = (env.MXHOOK_AUDIENCE ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
  if (configured.length > 0) return configured;
  return [`${new URL(requestUrl).origin}${HOOK_PATH}`];
}
