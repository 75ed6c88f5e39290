// The inbox pages and JSON API, through app.request with a fake KV: escaping, CSP, token protection.
import { describe, expect, it } from 'vitest';
import { createApp } from '../../functions/worker/app.ts';
import type { Bindings } from '../../functions/worker/env.ts';
import { LIVE_UPDATE_SCRIPT } from '../../functions/worker/pages/live-update.ts';
import { INBOX_CSP, MESSAGE_FRAME_CSP } from '../../functions/worker/security-headers.ts';
import { dataPayload, deliver, fakeEnv, hmacKey, signedRequest } from './helpers.ts';

const app = createApp();

/** Delivers a message with the gateway's `parsed` built from `fields`; returns its id. */
function deliverParsed(bindings: Bindings, fields: Parameters<typeof dataPayload>[0]) {
  return deliver(bindings, dataPayload(fields));
}

const EVIL_SUBJECT = '<script>alert("subject")</script> & "quotes"';
const EVIL_NAME = '"><img src=x onerror=alert(1)>';

describe('the list page', () => {
  it('shows each message once, with every interpolated value HTML-escaped', async () => {
    const bindings = fakeEnv();
    const id = await deliverParsed(bindings, {
      subject: EVIL_SUBJECT,
      from: [{ name: EVIL_NAME, address: 'a@sender.test' }],
    });
    const response = await app.request('/', undefined, bindings);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await response.text();
    expect(page).toContain(`href="/messages/${id}"`);
    expect(page).toContain(
      '&lt;script&gt;alert(&quot;subject&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;',
    );
    expect(page).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    // No script but the page's own live update.
    expect(page.split('<script')).toHaveLength(2);
    expect(page).toContain(`<script>${LIVE_UPDATE_SCRIPT}</script>`);
    expect(page).not.toContain('<img');
  });

  it('lists the newest message first', async () => {
    const bindings = fakeEnv();
    await deliverParsed(bindings, { subject: 'first' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await deliverParsed(bindings, { subject: 'second' });
    const page = await (await app.request('/', undefined, bindings)).text();
    expect(page.indexOf('second')).toBeLessThan(page.indexOf('first'));
  });
});

describe('the message page', () => {
  it('shows the text body escaped and the HTML body sanitised in a sandboxed srcdoc iframe', async () => {
    const bindings = fakeEnv();
    const id = await deliverParsed(bindings, {
      subject: EVIL_SUBJECT,
      text: 'Plain <b>not bold</b> & more',
      html: '<p onclick="steal()">Hello <b>there</b></p><script>alert(1)</script><img src="https://track.test/p.gif">',
    });
    const response = await app.request(`/messages/${id}`, undefined, bindings);
    const page = await response.text();
    const textView = await (
      await app.request(`/messages/${id}?view=text`, undefined, bindings)
    ).text();
    expect(textView).toContain('<pre>Plain &lt;b&gt;not bold&lt;/b&gt; &amp; more</pre>');
    expect(page).toContain(
      '<h1>&lt;script&gt;alert(&quot;subject&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;</h1>',
    );
    const frame = /<iframe ([^>]*)><\/iframe>/.exec(page)?.[1] ?? '';
    expect(frame).toContain('sandbox="allow-popups allow-popups-to-escape-sandbox"');
    expect(frame).not.toMatch(/allow-scripts|allow-same-origin/);
    const srcdoc = /srcdoc="([^"]*)"/.exec(frame)?.[1] ?? '';
    expect(srcdoc).toContain('&lt;p&gt;Hello &lt;b&gt;there&lt;/b&gt;&lt;/p&gt;');
    // The frame's own policy, escaped into the attribute: stricter than the page's, no form at all.
    expect(srcdoc).toContain(`content=&quot;${MESSAGE_FRAME_CSP.replaceAll("'", '&#39;')}&quot;`);
    expect(MESSAGE_FRAME_CSP).toContain("form-action 'none'");
    expect(srcdoc).not.toMatch(/script|onclick|track\.test/);
    expect(page).not.toContain('<script');
  });

  it('answers 404 for an unknown or malformed id', async () => {
    const bindings = fakeEnv();
    expect(
      (await app.request('/messages/8000000000000-000000000000', undefined, bindings)).status,
    ).toBe(404);
    expect((await app.request('/messages/..%2fraw%3Ax', undefined, bindings)).status).toBe(404);
  });
});

describe('security headers', () => {
  it.each(['/', '/api/messages'])(
    '%s carries the strict CSP and refuses framing and caching',
    async (path) => {
      const response = await app.request(path, undefined, fakeEnv());
      expect(response.headers.get('content-security-policy')).toBe(INBOX_CSP);
      expect(INBOX_CSP).toContain("default-src 'none'; img-src data:; style-src 'unsafe-inline'");
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('cache-control')).toBe('no-store');
    },
  );
});

describe('token protection', () => {
  const TOKEN = 'inbox-token-0123456789';
  const closed = () => fakeEnv({ INBOX_PUBLIC: 'false' });
  const guarded = () => fakeEnv({ INBOX_PUBLIC: 'false', INBOX_TOKEN: TOKEN });

  it('without INBOX_TOKEN and without INBOX_PUBLIC="true", answers 403 saying to set INBOX_TOKEN', async () => {
    for (const path of ['/', '/messages/8000000000000-000000000000', '/api/messages']) {
      const response = await app.request(path, undefined, closed());
      expect(response.status).toBe(403);
      expect(await response.text()).toContain('set INBOX_TOKEN');
    }
    expect((await app.request('/', undefined, fakeEnv({ INBOX_PUBLIC: undefined }))).status).toBe(
      403,
    );
  });

  it('with INBOX_TOKEN, answers 401 without it or with a wrong one, even if INBOX_PUBLIC is "true"', async () => {
    for (const bindings of [guarded(), fakeEnv({ INBOX_TOKEN: TOKEN })]) {
      const none = await app.request('/api/messages', undefined, bindings);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="mxhook inbox"');
      const wrong = await app.request(
        '/api/messages',
        { headers: { Authorization: 'Bearer nope' } },
        bindings,
      );
      expect(wrong.status).toBe(401);
    }
  });

  it('accepts the token as a Bearer header or in the cookie', async () => {
    const bearer = await app.request(
      '/api/messages',
      { headers: { Authorization: `Bearer ${TOKEN}` } },
      guarded(),
    );
    expect(bearer.status).toBe(200);
    const cookie = await app.request(
      '/',
      { headers: { Cookie: `mxhook_inbox_token=${TOKEN}` } },
      guarded(),
    );
    expect(cookie.status).toBe(200);
  });

  it('takes ?token= once: sets an HttpOnly cookie and redirects to the URL without it', async () => {
    const response = await app.request(
      `https://inbox.test/?token=${TOKEN}&cursor=x`,
      undefined,
      guarded(),
    );
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/?cursor=x');
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toContain(`mxhook_inbox_token=${TOKEN}`);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/SameSite=Strict/);
  });

  it('never guards the gateway’s hook routes with the inbox token (they are signed instead)', async () => {
    const response = await app.request(
      await signedRequest(dataPayload(), await hmacKey()),
      undefined,
      guarded(),
    );
    expect(response.status).toBe(200);
  });
});

describe('the JSON API', () => {
  it('lists messages newest first with their summary and a link', async () => {
    const bindings = fakeEnv();
    const older = await deliverParsed(bindings, { subject: 'older' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const newer = await deliverParsed(bindings, { subject: 'newer' });
    const body = (await (await app.request('/api/messages', undefined, bindings)).json()) as {
      messages: { id: string; subject: string; url: string; from: string }[];
      cursor: string | null;
    };
    expect(body.messages.map((message) => message.id)).toEqual([newer, older]);
    expect(body.messages[0]).toMatchObject({
      subject: 'newer',
      url: `/api/messages/${newer}`,
      from: 'Alice <alice@sender.test>',
    });
    expect(body.cursor).toBeNull();
  });

  it('pages with limit and cursor', async () => {
    const bindings = fakeEnv();
    for (const subject of ['a', 'b', 'c']) await deliverParsed(bindings, { subject });
    const first = (await (
      await app.request('/api/messages?limit=2', undefined, bindings)
    ).json()) as {
      messages: unknown[];
      cursor: string;
    };
    expect(first.messages).toHaveLength(2);
    const rest = (await (
      await app.request(`/api/messages?limit=2&cursor=${first.cursor}`, undefined, bindings)
    ).json()) as { messages: unknown[]; cursor: string | null };
    expect(rest.messages).toHaveLength(1);
    expect(rest.cursor).toBeNull();
    expect((await app.request('/api/messages?limit=0', undefined, bindings)).status).toBe(400);
  });

  it('returns one message in full, and its raw bytes', async () => {
    const bindings = fakeEnv();
    const id = await deliverParsed(bindings, { subject: 'Full', text: 'Body text' });
    const message = (await (
      await app.request(`/api/messages/${id}`, undefined, bindings)
    ).json()) as Record<string, unknown>;
    expect(message).toMatchObject({
      id,
      subject: 'Full',
      text: 'Body text',
      rawUrl: `/api/messages/${id}/raw`,
    });
    expect(message).not.toHaveProperty('inlineImages');
    const raw = await app.request(`/api/messages/${id}/raw`, undefined, bindings);
    expect(raw.headers.get('content-type')).toBe('message/rfc822');
    expect(await raw.text()).toContain('Subject: Full\r\n');
    expect(
      (await app.request('/api/messages/8000000000000-000000000000', undefined, bindings)).status,
    ).toBe(404);
  });

  it('answers 503 when the MESSAGES binding is missing', async () => {
    const bindings = { ...fakeEnv(), MESSAGES: undefined } as unknown as Bindings;
    const response = await app.request('/api/messages', undefined, bindings);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      error:
        'storage unavailable: the MESSAGES binding is missing: add the KV namespace to wrangler.toml',
    });
  });
});
