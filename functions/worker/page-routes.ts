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
/** The most of a message's source shown on its page; the whole of it is a download away. */
const MAX_SOURCE_BYTES = 256 * 1024;

/** The start of the raw bytes as text; bytes that are not UTF-8 show as U+FFFD. */
function sourceText(raw: ArrayBuffer): string {
  const text = new TextDecoder('utf-8').decode(raw.slice(0, MAX_SOURCE_BYTES));
  return raw.byteLength > MAX_SOURCE_BYTES
    ? `${text}\n[… ${raw.byteLength - MAX_SOURCE_BYTES} more bytes]`
    : text;
}

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
    const store = new MessageStore(c.env.MESSAGES);
    const message = isMessageId(id) ? await store.get(id) : null;
    if (message === null) return c.text('No such message.\n', 404);
    const sanitized =
      message.html === null ? null : await sanitizeHtml(message.html, message.inlineImages);
    // A message whose bodies could not be read shows its source instead, read only for this view.
    const raw = message.parseProblem && message.hasRaw ? await store.getRaw(id) : null;
    return c.html(messagePage(message, sanitized, raw === null ? null : sourceText(raw)));
  });

  return app;
}
