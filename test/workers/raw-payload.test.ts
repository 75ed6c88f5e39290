// MXHOOK_PAYLOAD=raw: the Worker parses `raw` itself (postal-mime), and shows it as it shows `parsed`.
import { describe, expect, it } from 'vitest';
import { createApp } from '../../functions/worker/app.ts';
import type { Bindings } from '../../functions/worker/env.ts';
import type { StoredMessage } from '../../functions/worker/message-record.ts';
import {
  dataPayload,
  deliver,
  fakeEnv,
  hmacKey,
  rawDataPayload,
  signedRequest,
} from './helpers.ts';

const app = createApp();

/** Base64 of the UTF-8 bytes of `text`, folded as MIME bodies are. */
function utf8Base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  return btoa(String.fromCharCode(...bytes)).replace(/.{76}(?=.)/g, '$&\r\n');
}

const SUBJECT = 'Grüße aus Köln ✓';
const HTML =
  '<p onclick="steal()">Grüße, <b>Bob</b> — naïve café</p><img src="cid:logo@sender.test">' +
  '<script>alert(1)</script><img src="https://track.test/p.gif">';
/** A 1×1 transparent GIF: the HTML body's `cid:` image. */
const GIF = 'R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';
const PDF_BYTES = '%PDF-1.4 a tiny invoice\n';

/**
 * Encoded-word subject and sender name, a multipart/alternative of a quoted-printable text body and
 * a base64 HTML body (both UTF-8) with a related `cid:` image, and a named attachment.
 */
const RICH_MESSAGE = [
  `Subject: =?utf-8?b?${utf8Base64(SUBJECT)}?=`,
  'From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <juergen@sender.test>',
  'To: Bob <bob@inbox.test>, carol@inbox.test',
  'Date: Fri, 20 Nov 2026 10:00:00 +0100',
  'Message-ID: <raw-1@sender.test>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="mixed"',
  '',
  '--mixed',
  'Content-Type: multipart/related; boundary="related"',
  '',
  '--related',
  'Content-Type: multipart/alternative; boundary="alt"',
  '',
  '--alt',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Gr=C3=BC=C3=9Fe, Bob =E2=80=94 na=C3=AFve caf=C3=A9, a line long enough to be =',
  'folded.',
  '--alt',
  'Content-Type: text/html; charset=utf-8',
  'Content-Transfer-Encoding: base64',
  '',
  utf8Base64(HTML),
  '--alt--',
  '--related',
  'Content-Type: image/gif',
  'Content-Transfer-Encoding: base64',
  'Content-ID: <logo@sender.test>',
  'Content-Disposition: inline',
  '',
  GIF,
  '--related--',
  '--mixed',
  "Content-Type: application/pdf; name*=utf-8''Rechnung%20M%C3%A4rz.pdf",
  'Content-Transfer-Encoding: base64',
  "Content-Disposition: attachment; filename*=utf-8''Rechnung%20M%C3%A4rz.pdf",
  '',
  btoa(PDF_BYTES),
  '--mixed--',
  '',
].join('\r\n');

async function page(bindings: Bindings, path: string): Promise<string> {
  const response = await app.request(path, undefined, bindings);
  expect(response.status).toBe(200);
  return response.text();
}

async function record(bindings: Bindings, id: string): Promise<StoredMessage> {
  return (await (
    await app.request(`/api/messages/${id}`, undefined, bindings)
  ).json()) as StoredMessage;
}

describe('a raw-mode message', () => {
  it('is parsed on the Worker: decoded subject and sender, both bodies, attachments', async () => {
    const bindings = fakeEnv();
    const id = await deliver(bindings, rawDataPayload(RICH_MESSAGE));

    const message = await record(bindings, id);
    expect(message).toMatchObject({
      subject: SUBJECT,
      from: [{ name: 'Jürgen Müller', address: 'juergen@sender.test' }],
      to: [
        { name: 'Bob', address: 'bob@inbox.test' },
        { name: '', address: 'carol@inbox.test' },
      ],
      date: '2026-11-20T09:00:00.000Z',
      messageId: '<raw-1@sender.test>',
      text: expect.stringContaining('Grüße, Bob — naïve café, a line long enough to be folded.'),
      html: HTML,
      parseProblem: null,
    });
    expect(message.headers).toContainEqual({ name: 'subject', value: SUBJECT });
    expect(message.attachments).toEqual([
      {
        filename: null,
        contentType: 'image/gif',
        size: atob(GIF).length,
        contentId: '<logo@sender.test>',
        disposition: 'inline',
      },
      {
        filename: 'Rechnung März.pdf',
        contentType: 'application/pdf',
        size: PDF_BYTES.length,
        contentId: null,
        disposition: 'attachment',
      },
    ]);

    const list = await page(bindings, '/');
    expect(list).toContain(`>${SUBJECT}</a>`);
    expect(list).toContain('Jürgen Müller &lt;juergen@sender.test&gt;');

    // The HTML view is the default; the text body has a view of its own.
    const view = await page(bindings, `/messages/${id}`);
    expect(view).toContain(`<h1>${SUBJECT}</h1>`);
    expect(view).toContain('Jürgen Müller &lt;juergen@sender.test&gt;');
    expect(await page(bindings, `/messages/${id}?view=text`)).toContain(
      '<pre>Grüße, Bob — naïve café, a line long enough to be folded.',
    );
    expect(view).toContain(
      `<a href="/messages/${id}/attachments/1" download>Rechnung März.pdf</a></td><td>application/pdf</td>`,
    );
    // The HTML from postal-mime goes through the same sanitiser: no script, no handler, no remote
    // image; the cid: image shows from the message itself.
    const srcdoc = /<iframe [^>]*srcdoc="([^"]*)"/.exec(view)?.[1] ?? '';
    expect(srcdoc).toContain('&lt;p&gt;Grüße, &lt;b&gt;Bob&lt;/b&gt; — naïve café&lt;/p&gt;');
    expect(srcdoc).toContain(`src=&quot;data:image/gif;base64,${GIF}&quot;`);
    expect(srcdoc).not.toMatch(/script|onclick|track\.test/);
    expect(view).not.toContain('<script');
  });

  it('that postal-mime refuses is still stored, and shown with its source and the reason', async () => {
    const bindings = fakeEnv();
    // Nested deeper than the Worker lets the parser go.
    const depth = 60;
    const opening = Array.from(
      { length: depth },
      (_, level) => `Content-Type: multipart/mixed; boundary="b${level}"\r\n\r\n--b${level}\r\n`,
    ).join('');
    const raw = `Subject: =?utf-8?q?Tief_verschachtelt_<b>?=\r\nFrom: Alice <alice@sender.test>\r\nMIME-Version: 1.0\r\n${opening}Content-Type: text/plain\r\n\r\ndeep\r\n`;
    const response = await app.request(
      await signedRequest(rawDataPayload(raw), await hmacKey()),
      undefined,
      bindings,
    );
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { action: string; message: string };
    expect(answer.action).toBe('accept');
    const id = /^Stored as (\S+)$/.exec(answer.message)?.[1] ?? '';

    const message = await record(bindings, id);
    expect(message.subject).toBe('Tief verschachtelt <b>');
    expect(message.text).toBeNull();
    expect(message.parseProblem).toMatch(/^The message could not be parsed: .*nesting depth/i);
    expect(message.hasRaw).toBe(true);

    const view = await page(bindings, `/messages/${id}`);
    expect(view).toContain('<h1>Tief verschachtelt &lt;b&gt;</h1>');
    // Without readable bodies, the page opens on the source view.
    expect(view).toContain('?view=source" aria-current="page">Source</a>');
    expect(view).toContain('The message could not be parsed');
    expect(view).toContain('<pre>Subject: =?utf-8?q?Tief_verschachtelt_&lt;b&gt;?=\r\nFrom: Alice');
  });

  it('that is malformed but readable is stored and shown as far as it goes', async () => {
    const bindings = fakeEnv();
    const raw =
      'Subject: broken\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="never"\r\n\r\n' +
      '--never\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
      '%%% not base64 %%%\r\n--never\r\nContent-Type: text/plain\r\n\r\nno closing boundary\r\n';
    const id = await deliver(bindings, rawDataPayload(raw));
    expect((await record(bindings, id)).subject).toBe('broken');
    expect(await page(bindings, `/messages/${id}`)).toContain('no closing boundary');
  });
});

describe('a parsed-mode message', () => {
  it('is shown from the gateway’s parse, not from the raw bytes', async () => {
    const bindings = fakeEnv();
    const id = await deliver(
      bindings,
      dataPayload({
        subject: 'As the gateway parsed it',
        text: 'gateway text',
        rawText: 'Subject: =?utf-8?q?raw?=\r\n\r\nraw text\r\n',
      }),
    );
    expect(await record(bindings, id)).toMatchObject({
      subject: 'As the gateway parsed it',
      text: 'gateway text',
      html: null,
      parseProblem: null,
    });
    const view = await page(bindings, `/messages/${id}`);
    expect(view).toContain('<pre>gateway text</pre>');
    expect(view).toContain('?view=text" aria-current="page">Text</a>');
  });
});
