// The inbox's actions through app.request with a fake KV: views, attachment downloads, delete, search, 404.
import { describe, expect, it } from 'vitest';
import { createApp } from '../../functions/worker/app.ts';
import type { Bindings } from '../../functions/worker/env.ts';
import {
  LIVE_UPDATE_SCRIPT,
  LIVE_UPDATE_SCRIPT_HASH,
} from '../../functions/worker/pages/live-update.ts';
import { INBOX_CSP } from '../../functions/worker/security-headers.ts';
import { dataPayload, deliver, fakeEnv } from './helpers.ts';

const app = createApp();
const UNKNOWN_ID = '8000000000000-000000000000';
const NOTES = 'first line\r\nsecond line\r\n';
/** Quotes, a backslash and non-ASCII: what a Content-Disposition filename must not carry raw. */
const NOTES_NAME = 'notes "draft" \\ été.txt';

/**
 * A parsed-mode message (as the gateway sends by default) with one text attachment, described in
 * `parsed` and present in `raw`, where a download reads its bytes back from.
 */
function withAttachment(bindings: Bindings, subject = 'With notes'): Promise<string> {
  const raw = [
    `Subject: ${subject}`,
    'From: alice@sender.test',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    'See the notes.',
    '--b',
    "Content-Type: text/plain; name*=utf-8''notes%20%22draft%22%20%5C%20%C3%A9t%C3%A9.txt",
    "Content-Disposition: attachment; filename*=utf-8''notes%20%22draft%22%20%5C%20%C3%A9t%C3%A9.txt",
    'Content-Transfer-Encoding: base64',
    '',
    btoa(NOTES),
    '--b--',
    '',
  ].join('\r\n');
  return deliver(
    bindings,
    dataPayload({
      subject,
      text: 'See the notes.',
      rawText: raw,
      attachments: [
        {
          filename: NOTES_NAME,
          contentType: 'text/plain',
          size: NOTES.length,
          contentId: null,
          disposition: 'attachment',
          content: btoa(NOTES),
        },
      ],
    }),
  );
}

async function get(bindings: Bindings, path: string, init?: RequestInit): Promise<Response> {
  return app.request(path, init, bindings);
}

describe('the message views', () => {
  it('shows one view at a time: text, headers, source; an unknown view falls back to the default', async () => {
    const bindings = fakeEnv();
    const id = await deliver(bindings, dataPayload({ subject: 'Views', text: 'the <text> body' }));
    const text = await (await get(bindings, `/messages/${id}`)).text();
    expect(text).toContain('?view=text" aria-current="page">Text</a>');
    expect(text).toContain('<pre>the &lt;text&gt; body</pre>');

    const headers = await (await get(bindings, `/messages/${id}?view=headers`)).text();
    expect(headers).toContain('<dt>subject</dt><dd>Views</dd>');
    expect(headers).not.toContain('the &lt;text&gt; body');

    const source = await (await get(bindings, `/messages/${id}?view=source`)).text();
    expect(source).toContain('<pre>Subject: Views\r\nFrom: alice@sender.test');

    const html = await (await get(bindings, `/messages/${id}?view=html`)).text();
    expect(html).toContain('The message has no HTML body.');

    const unknown = await (await get(bindings, `/messages/${id}?view=%3Cscript%3E`)).text();
    expect(unknown).toContain('?view=text" aria-current="page">Text</a>');
  });
});

describe('attachment downloads', () => {
  it('serves the bytes with their type, and the filename safely in Content-Disposition', async () => {
    const bindings = fakeEnv();
    const id = await withAttachment(bindings);
    const page = await (await get(bindings, `/messages/${id}`)).text();
    expect(page).toContain(`href="/messages/${id}/attachments/0" download>`);

    const response = await get(bindings, `/messages/${id}/attachments/0`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="notes _draft_ _ _t_.txt"; filename*=UTF-8''notes%20%22draft%22%20%5C%20%C3%A9t%C3%A9.txt`,
    );
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response.text()).toBe(NOTES);
  });

  it('answers 404 for an index past the attachments, or a message without its raw bytes', async () => {
    const bindings = fakeEnv();
    const id = await withAttachment(bindings);
    expect((await get(bindings, `/messages/${id}/attachments/1`)).status).toBe(404);
    expect((await get(bindings, `/messages/${UNKNOWN_ID}/attachments/0`)).status).toBe(404);
    await bindings.MESSAGES.delete(`raw:${id}`);
    const missing = await get(bindings, `/messages/${id}/attachments/0`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('There is no such attachment.');
  });
});

describe('delete', () => {
  it('removes the message and its raw bytes from the page’s form, then goes back to the list', async () => {
    const bindings = fakeEnv();
    const id = await withAttachment(bindings, 'Delete me');
    const page = await (await get(bindings, `/messages/${id}`)).text();
    expect(page).toContain(`<form method="post" action="/messages/${id}/delete">`);

    // As a browser posts the form: Origin is "null" under the pages' no-referrer policy.
    const response = await get(bindings, `https://inbox.test/messages/${id}/delete`, {
      method: 'POST',
      headers: { Origin: 'null', 'Sec-Fetch-Site': 'same-origin' },
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/');
    expect([...bindings.fakeMessages.values.keys()]).toEqual([]);
    expect(await (await get(bindings, '/')).text()).not.toContain('Delete me');
    expect((await get(bindings, `/messages/${id}`)).status).toBe(404);
    expect((await get(bindings, `/messages/${id}/delete`, { method: 'POST' })).status).toBe(404);
  });

  it('refuses a form posted from another site', async () => {
    const bindings = fakeEnv();
    const id = await withAttachment(bindings);
    const refused = [
      { Origin: 'https://evil.test', 'Sec-Fetch-Site': 'cross-site' },
      { Origin: 'https://sub.inbox.test', 'Sec-Fetch-Site': 'same-site' },
      // A browser that does not send Sec-Fetch-Site: judged by its Origin.
      { Origin: 'https://evil.test' },
    ];
    for (const headers of refused) {
      const response = await get(bindings, `https://inbox.test/messages/${id}/delete`, {
        method: 'POST',
        headers,
      });
      expect(response.status).toBe(403);
    }
    expect((await get(bindings, `/messages/${id}`)).status).toBe(200);
  });

  it('is DELETE /api/messages/:id in the API: 204, then 404', async () => {
    const bindings = fakeEnv();
    const id = await withAttachment(bindings);
    expect((await get(bindings, `/api/messages/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await get(bindings, `/api/messages/${id}`)).status).toBe(404);
    expect((await get(bindings, `/api/messages/${id}`, { method: 'DELETE' })).status).toBe(404);
  });
});

describe('search', () => {
  it('finds messages by subject, sender or recipient, any case, and escapes the query', async () => {
    const bindings = fakeEnv();
    await deliver(bindings, dataPayload({ subject: 'Invoice March' }));
    await deliver(
      bindings,
      dataPayload({
        subject: 'Lunch?',
        from: [{ name: 'Zoë', address: 'zoe@sender.test' }],
        rcptTo: ['carol@inbox.test'],
      }),
    );
    const search = async (query: string) =>
      (await get(bindings, `/?q=${encodeURIComponent(query)}`)).text();
    const bySubject = await search('invoice');
    expect(bySubject).toContain('>Invoice March</a>');
    expect(bySubject).not.toContain('Lunch?');
    expect(await search('ZOË')).toContain('>Lunch?</a>');
    expect(await search('carol@')).toContain('>Lunch?</a>');
    const none = await search('"><script>');
    expect(none).toContain('No messages match.');
    expect(none).toContain('value="&quot;&gt;&lt;script&gt;"');
    expect(none).not.toContain('<script');
  });
});

describe('live update', () => {
  it('allows exactly the list’s script by its hash', async () => {
    const digest = await crypto.subtle.digest(
      'SHA-256',
      new TextEncoder().encode(LIVE_UPDATE_SCRIPT),
    );
    const base64 = btoa(String.fromCharCode(...new Uint8Array(digest)));
    expect(LIVE_UPDATE_SCRIPT_HASH).toBe(`'sha256-${base64}'`);
    expect(INBOX_CSP).toContain(`script-src ${LIVE_UPDATE_SCRIPT_HASH}; connect-src 'self'`);
  });

  it('is on the first page of the whole inbox only, knowing the newest id', async () => {
    const bindings = fakeEnv();
    const id = await deliver(bindings, dataPayload({ subject: 'Newest' }));
    const first = await (await get(bindings, '/')).text();
    expect(first).toContain(`<script>${LIVE_UPDATE_SCRIPT}</script>`);
    expect(first).toContain(`id="new-mail" class="new-mail" hidden data-newest="${id}"`);
    expect(await (await get(bindings, '/?q=newest')).text()).not.toContain('<script>');
    expect(await (await get(bindings, '/?cursor=1')).text()).not.toContain('<script>');
  });
});

describe('not found', () => {
  it('answers unknown messages and pages with a 404 page that links back to the inbox', async () => {
    const bindings = fakeEnv();
    for (const path of [`/messages/${UNKNOWN_ID}`, '/no/such/page']) {
      const response = await get(bindings, path);
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      const page = await response.text();
      expect(page).toContain('<h1>Not found</h1>');
      expect(page).toContain('<a href="/">← Back to the inbox</a>');
    }
    expect(await (await get(bindings, '/api/nothing')).json()).toEqual({ error: 'not found' });
  });
});
