// The inbox's HTML pages: the list at `/`, one message at `/messages/:id`, its attachments, delete.
import { type Context, Hono } from 'hono';
import { attachmentBytes, contentDisposition, downloadType } from './attachments.ts';
import type { AppEnv } from './env.ts';
import { isMessageId } from './message-id.ts';
import { MessageStore } from './message-store.ts';
import { notFoundPage } from './pages/layout.ts';
import { listPage } from './pages/list-page.ts';
import { defaultView, MESSAGE_VIEWS, type MessageView, messagePage } from './pages/message-page.ts';
import { recipientPolicy } from './recipients.ts';
import { sanitizeHtml } from './sanitize-html.ts';

/** Messages per page of the list. */
const PAGE_SIZE = 50;
/** The most of a message's source shown on its page; the whole of it is a download away. */
const MAX_SOURCE_BYTES = 256 * 1024;
/** A search longer than any subject or address list kept in a summary could never match. */
const MAX_QUERY_CHARS = 300;

/** The start of the raw bytes as text; bytes that are not UTF-8 show as U+FFFD. */
function sourceText(raw: ArrayBuffer): string {
  const text = new TextDecoder('utf-8').decode(raw.slice(0, MAX_SOURCE_BYTES));
  return raw.byteLength > MAX_SOURCE_BYTES
    ? `${text}\n[… ${raw.byteLength - MAX_SOURCE_BYTES} more bytes]`
    : text;
}

/** The 404 page for a message that is not (or no longer) here. */
export function noSuchMessage(c: Context<AppEnv>): Response | Promise<Response> {
  return c.html(notFoundPage('There is no such message: it may have been deleted.'), 404);
}

/**
 * Whether a state-changing request comes from the inbox's own pages, not from a form on another
 * site (cross-site request forgery, which the SameSite=Strict cookie already stops when INBOX_TOKEN
 * is set, but nothing would with INBOX_PUBLIC). Browsers say where a request comes from in
 * `Sec-Fetch-Site`; one too old to send it is judged by `Origin`, which our pages' no-referrer
 * policy turns into `null`, so such a browser cannot delete, rather than anyone else can.
 */
function sameOrigin(c: Context<AppEnv>): boolean {
  const site = c.req.header('Sec-Fetch-Site');
  if (site !== undefined) return site === 'same-origin';
  const origin = c.req.header('Origin');
  return origin === undefined || origin === new URL(c.req.url).origin;
}

export function pageRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/', async (c) => {
    const cursor = c.req.query('cursor');
    const query = (c.req.query('q') ?? '').trim().slice(0, MAX_QUERY_CHARS);
    const store = new MessageStore(c.env.MESSAGES);
    const page =
      query === ''
        ? await store.list({ limit: PAGE_SIZE, cursor })
        : await store.search({ query, limit: PAGE_SIZE, cursor });
    const policy = recipientPolicy(c.env);
    const servedFor = [...policy.domains, ...policy.addresses];
    return c.html(listPage(page, { servedFor, isFirstPage: cursor === undefined, query }));
  });

  app.get('/messages/:id', async (c) => {
    const id = c.req.param('id');
    const store = new MessageStore(c.env.MESSAGES);
    const message = isMessageId(id) ? await store.get(id) : null;
    if (message === null) return noSuchMessage(c);
    const asked = c.req.query('view');
    const view = MESSAGE_VIEWS.includes(asked as MessageView)
      ? (asked as MessageView)
      : defaultView(message);
    // Each view reads only what it shows: the sanitiser runs for the HTML view, the raw bytes are
    // read for the source view.
    const sanitizedHtml =
      view === 'html' && message.html !== null
        ? await sanitizeHtml(message.html, message.inlineImages)
        : null;
    const raw = view === 'source' && message.hasRaw ? await store.getRaw(id) : null;
    return c.html(
      messagePage(message, { view, sanitizedHtml, source: raw === null ? null : sourceText(raw) }),
    );
  });

  app.get('/messages/:id/attachments/:index{[0-9]+}', async (c) => {
    const id = c.req.param('id');
    const index = Number(c.req.param('index'));
    const store = new MessageStore(c.env.MESSAGES);
    const message = isMessageId(id) ? await store.get(id) : null;
    const attachment = message?.attachments[index];
    const raw = attachment === undefined ? null : await store.getRaw(id);
    const bytes =
      attachment === undefined || raw === null
        ? null
        : await attachmentBytes(raw, attachment, index);
    if (attachment === undefined || bytes === null) {
      return c.html(notFoundPage('There is no such attachment.'), 404);
    }
    return c.body(bytes, 200, {
      'Content-Type': downloadType(attachment),
      'Content-Disposition': contentDisposition(
        attachment.filename ?? `attachment-${index + 1}.bin`,
      ),
    });
  });

  app.post('/messages/:id/delete', async (c) => {
    if (!sameOrigin(c)) return c.text('Refused: this form was not sent from the inbox.\n', 403);
    const id = c.req.param('id');
    const deleted = isMessageId(id) && (await new MessageStore(c.env.MESSAGES).delete(id));
    if (!deleted) return noSuchMessage(c);
    return c.redirect('/', 303);
  });

  return app;
}
