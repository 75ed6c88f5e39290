// The inbox's HTML pages: the list at `/` and one message at `/messages/:id`.
import { Hono } from 'hono';
import type { AppEnv } from './env.ts';
import { isMessageId } from './message-id.ts';
import { MessageStore } from './message-store.ts';
import { listPage } from './pages/list-page.ts';
import { messagePage } from './pages/message-page.ts';
import { recipientPolicy } from './recipients.ts';
import { sanitizeHtml } from './sanitize-html.ts';

/** Messages per page of the list. */
const PAGE_SIZE = 50;

export function pageRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/', async (c) => {
    const cursor = c.req.query('cursor');
    const page = await new MessageStore(c.env.MESSAGES).list({ limit: PAGE_SIZE, cursor });
    const policy = recipientPolicy(c.env);
    const servedFor = [...policy.domains, ...policy.addresses];
    return c.html(listPage(page, { servedFor, isFirstPage: cursor === undefined }));
  });

  app.get('/messages/:id', async (c) => {
    const id = c.req.param('id');
    const message = isMessageId(id) ? await new MessageStore(c.env.MESSAGES).get(id) : null;
    if (message === null) return c.text('No such message.\n', 404);
    const sanitized =
      message.html === null ? null : await sanitizeHtml(message.html, message.inlineImages);
    return c.html(messagePage(message, sanitized));
  });

  return app;
}
