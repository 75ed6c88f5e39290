// The inbox's JSON API: the list, one message in full, and its raw bytes.
import { Hono } from 'hono';
import type { AppEnv } from './env.ts';
import { isMessageId } from './message-id.ts';
import { KV_LIST_MAX as MAX_LIMIT, MessageStore } from './message-store.ts';

const DEFAULT_LIMIT = 50;

function limitFrom(value: string | undefined): number | null {
  if (value === undefined) return DEFAULT_LIMIT;
  const limit = Number(value);
  return Number.isInteger(limit) && limit >= 1 && limit <= MAX_LIMIT ? limit : null;
}

/**
 * - `GET /messages?limit=&cursor=`: `{ messages: [{ id, receivedAt, from, to, subject, date, size,
 *   url }], cursor }`, newest first; pass `cursor` back for the next page (null at the end).
 * - `GET /messages/:id`: the stored record (addresses, subject, text, html, headers, attachments
 *   described, envelope, client) plus `rawUrl`.
 * - `GET /messages/:id/raw`: the message exactly as received, as `message/rfc822`.
 * - `DELETE /messages/:id`: removes the message and its raw bytes; 204, or 404 if there is none.
 */
export function apiRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/messages', async (c) => {
    const limit = limitFrom(c.req.query('limit'));
    if (limit === null)
      return c.json({ error: `limit must be a whole number from 1 to ${MAX_LIMIT}` }, 400);
    const page = await new MessageStore(c.env.MESSAGES).list({
      limit,
      cursor: c.req.query('cursor'),
    });
    return c.json({
      messages: page.messages.map((message) => ({
        ...message,
        url: `/api/messages/${message.id}`,
      })),
      cursor: page.cursor,
    });
  });

  app.get('/messages/:id', async (c) => {
    const id = c.req.param('id');
    const message = isMessageId(id) ? await new MessageStore(c.env.MESSAGES).get(id) : null;
    if (message === null) return c.json({ error: 'no such message' }, 404);
    const { inlineImages: _inlineImages, ...record } = message;
    return c.json({ ...record, rawUrl: message.hasRaw ? `/api/messages/${id}/raw` : null });
  });

  app.get('/messages/:id/raw', async (c) => {
    const id = c.req.param('id');
    const raw = isMessageId(id) ? await new MessageStore(c.env.MESSAGES).getRaw(id) : null;
    if (raw === null) return c.json({ error: 'no such message' }, 404);
    return c.body(raw, 200, {
      'Content-Type': 'message/rfc822',
      'Content-Disposition': `attachment; filename="${id}.eml"`,
    });
  });

  app.delete('/messages/:id', async (c) => {
    const id = c.req.param('id');
    const deleted = isMessageId(id) && (await new MessageStore(c.env.MESSAGES).delete(id));
    if (!deleted) return c.json({ error: 'no such message' }, 404);
    return c.body(null, 204);
  });

  return app;
}
