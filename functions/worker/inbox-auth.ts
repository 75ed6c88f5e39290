// Who may read the inbox: the holder of INBOX_TOKEN, or anyone when INBOX_PUBLIC is "true" (local dev).
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { AppEnv } from './env.ts';

/** The cookie that keeps a browser signed in after it opened a link with `?token=`. */
export const TOKEN_COOKIE = 'mxhook_inbox_token';
const COOKIE_MAX_AGE_SECONDS = 30 * 24 * 60 * 60;

// Compares digests, so the time taken does not depend on how much of a guess was right.
async function sameToken(given: string, expected: string): Promise<boolean> {
  const digest = async (text: string) =>
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  let difference = 0;
  for (let index = 0; index < a.length; index++) difference |= a[index]! ^ b[index]!;
  return difference === 0;
}

function bearer(c: Context): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('Authorization') ?? '');
  return match?.[1];
}

function refuse(c: Context, status: 401 | 403, message: string): Response {
  if (status === 401) c.header('WWW-Authenticate', 'Bearer realm="mxhook inbox"');
  if (c.req.path.startsWith('/api/')) return c.json({ error: message }, status);
  return c.text(`${message}\n`, status);
}

/**
 * Guards the inbox. With `INBOX_TOKEN` set, a request needs it as `Authorization: Bearer …`, as
 * `?token=…` (then kept in an HttpOnly cookie, and the page reloaded without it so it does not
 * stay in the address bar or history), or in that cookie. Without `INBOX_TOKEN`, the inbox is
 * open only when `INBOX_PUBLIC` is `"true"`; otherwise it answers 403, so a deploy that forgot the
 * token shows nobody's mail.
 */
export function inboxAuth(): MiddlewareHandler<AppEnv> {
  return async function inboxAuthMiddleware(c, next) {
    const expected = c.env.INBOX_TOKEN ?? '';
    if (expected === '') {
      if (c.env.INBOX_PUBLIC === 'true') return next();
      return refuse(
        c,
        403,
        'This inbox is closed: set INBOX_TOKEN (npx wrangler secret put INBOX_TOKEN) to read it with that token, or INBOX_PUBLIC="true" for local development only.',
      );
    }
    const fromQuery = c.req.query('token');
    const given = bearer(c) ?? fromQuery ?? getCookie(c, TOKEN_COOKIE);
    if (given === undefined || !(await sameToken(given, expected))) {
      return refuse(
        c,
        401,
        'This inbox needs its token: open it once with ?token=<INBOX_TOKEN>, or send Authorization: Bearer <INBOX_TOKEN>.',
      );
    }
    if (fromQuery !== undefined && c.req.method === 'GET' && !c.req.path.startsWith('/api/')) {
      const url = new URL(c.req.url);
      setCookie(c, TOKEN_COOKIE, fromQuery, {
        httpOnly: true,
        secure: url.protocol === 'https:',
        sameSite: 'Strict',
        path: '/',
        maxAge: COOKIE_MAX_AGE_SECONDS,
      });
      url.searchParams.delete('token');
      return c.redirect(`${url.pathname}${url.search}`, 303);
    }
    return next();
  };
}
