// The example Worker as one Hono app: the gateway's hooks, the inbox pages and the JSON API.
import { Hono } from 'hono';
import { apiRoutes } from './api-routes.ts';
import { HOOK_PATH } from './audience.ts';
import type { AppEnv } from './env.ts';
import { createHookApp } from './hooks.ts';
import { inboxAuth } from './inbox-auth.ts';
import { StorageError } from './message-store.ts';
import { pageRoutes } from './page-routes.ts';
import { notFoundPage } from './pages/layout.ts';
import { securityHeaders } from './security-headers.ts';
import { MissingKeysError } from './verify-keys.ts';

/**
 * Builds the Worker's app. Routes:
 * - `POST /mxhook/:step`: the gateway's signed calls (rcpt, data; other steps accept);
 * - `GET /[?q=]`, `GET /messages/:id[?view=]`, `GET /messages/:id/attachments/:index`,
 *   `POST /messages/:id/delete`: the inbox pages;
 * - `GET /api/messages[/:id[/raw]]`, `DELETE /api/messages/:id`: the JSON API.
 * The pages and the API are guarded by `inboxAuth` and carry the strict security headers.
 *
 * @example
 * ```ts
 * const response = await createApp().request('/api/messages', {}, env);
 * ```
 */
export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.route(HOOK_PATH, createHookApp());
  for (const path of ['/', '/messages/*', '/api/*']) app.use(path, securityHeaders(), inboxAuth());
  app.route('/', pageRoutes());
  app.route('/api', apiRoutes());
  app.notFound((c) =>
    c.req.path.startsWith('/api/')
      ? c.json({ error: 'not found' }, 404)
      : c.html(notFoundPage('There is no page here.'), 404),
  );
  app.onError((error, c) => {
    console.error('mxhook inbox:', error);
    // The gateway turns any 5xx into 451; the reason helps whoever reads its log, and reveals no key.
    const [status, message] =
      error instanceof StorageError
        ? ([503, `storage unavailable: ${error.message}`] as const)
        : error instanceof MissingKeysError
          ? ([500, error.message] as const)
          : ([500, 'internal error'] as const);
    const json = c.req.path.startsWith('/api/') || c.req.path.startsWith('/mxhook/');
    return json ? c.json({ error: message }, status) : c.text(`${message}\n`, status);
  });
  return app;
}
