// End to end: nodemailer → the gateway (serve(), in-process) → the example Worker on workerd (wrangler dev).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIVE_UPDATE_SCRIPT } from '../../functions/worker/pages/live-update.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { getJson, sendFailure, sendMail } from './helpers/mail.ts';
import { startTestWorker, type TestWorker } from './helpers/worker.ts';

interface ApiMessage {
  readonly id: string;
  readonly subject: string | null;
  readonly text: string | null;
  readonly html: string | null;
  readonly envelope: { readonly mailFrom: string; readonly rcptTo: readonly string[] };
  readonly rawUrl: string | null;
}

interface ApiList {
  readonly messages: readonly {
    readonly id: string;
    readonly subject: string;
    readonly from: string;
  }[];
}

let worker: TestWorker;
let gateway: TestGateway;

// wrangler bundles the Worker and starts workerd: seconds, more on a loaded two-core machine.
beforeAll(async () => {
  worker = await startTestWorker();
  gateway = await startTestGateway(`${worker.url}mxhook/`, worker.secret);
}, 90_000);

afterAll(async () => {
  await gateway?.stop();
  await worker?.stop();
}, 30_000);

function storedId(response: string): string {
  const id = /^250 2\.0\.0 Stored as (\d{13}-[0-9a-f]{12})$/.exec(response)?.[1];
  if (id === undefined) throw new Error(`not a "Stored as" reply: ${response}`);
  return id;
}

describe('RCPT', () => {
  it('refuses an unknown recipient at RCPT with 550 5.1.1, before any data is sent', async () => {
    const failure = await sendFailure(gateway.port, {
      to: 'nobody@elsewhere.test',
      subject: 'never stored',
      text: 'x',
    });
    expect(failure.code).toBe('EENVELOPE');
    expect(failure.responseCode).toBe(550);
    expect(failure.response).toBe('550 5.1.1 No mailbox here by the name nobody@elsewhere.test');
  });

  it('accepts the served recipients of a mixed envelope and refuses the others', async () => {
    const info = await sendMail(gateway.port, {
      to: ['bob@INBOX.test', 'eve@elsewhere.test', 'postmaster@other.test'],
      subject: 'mixed',
      text: 'x',
    });
    const lower = (list: readonly unknown[]) =>
      list.map((address) => String(address).toLowerCase());
    expect(lower(info.accepted)).toEqual(['bob@inbox.test', 'postmaster@other.test']);
    expect(lower(info.rejected)).toEqual(['eve@elsewhere.test']);
    const message = await getJson<ApiMessage>(
      worker.url,
      `api/messages/${storedId(info.response)}`,
    );
    // The gateway lower-cases the domain of a path; the local part is kept as sent.
    expect(message.envelope.rcptTo).toEqual(['bob@inbox.test', 'postmaster@other.test']);
  });
});

describe('DATA', () => {
  it('stores a message for a known recipient; the JSON API shows its subject and text body', async () => {
    const info = await sendMail(gateway.port, {
      to: 'Bob <bob@inbox.test>',
      subject: 'Quarterly report ✓',
      text: 'The numbers are in.\nSee you Monday.',
    });
    const id = storedId(info.response);
    const message = await getJson<ApiMessage>(worker.url, `api/messages/${id}`);
    expect(message.subject).toBe('Quarterly report ✓');
    expect(message.text).toBe('The numbers are in.\nSee you Monday.\n');
    expect(message.envelope).toEqual({ mailFrom: 'alice@sender.test', rcptTo: ['bob@inbox.test'] });

    const list = await getJson<ApiList>(worker.url, 'api/messages');
    expect(list.messages[0]).toMatchObject({
      id,
      subject: 'Quarterly report ✓',
      from: 'Alice <alice@sender.test>',
    });

    const raw = await (await fetch(new URL(message.rawUrl!, worker.url))).text();
    expect(raw).toMatch(
      /^Return-Path: <alice@sender\.test>\r\nReceived: from nodemailer\.test \(\[127\.0\.0\.1\]\)\r\n\tby mx\.test \(mxhook\)/,
    );
    expect(raw).toContain('Subject: =?UTF-8?');
  });

  it('reads a message sent with MXHOOK_PAYLOAD=raw as it reads a parsed one: subject decoded, bodies shown', async () => {
    // The fast mode sends only the raw bytes; the Worker parses them itself (postal-mime).
    const rawGateway = await startTestGateway(`${worker.url}mxhook/`, worker.secret, {
      MXHOOK_PAYLOAD: 'raw',
    });
    try {
      const info = await sendMail(rawGateway.port, {
        to: 'Bob <bob@inbox.test>',
        subject: 'Grüße aus Köln ✓',
        text: 'Bis Montag.',
        html: '<p>Bis <b>Montag</b>.</p>',
      });
      const message = await getJson<ApiMessage>(
        worker.url,
        `api/messages/${storedId(info.response)}`,
      );
      expect(message.subject).toBe('Grüße aus Köln ✓');
      expect(message.text).toBe('Bis Montag.');
      expect(message.html).toContain('<b>Montag</b>');
    } finally {
      await rawGateway.stop();
    }
  });

  it('shows the message on the HTML pages escaped, and its HTML body sanitised', async () => {
    const info = await sendMail(gateway.port, {
      to: 'bob@inbox.test',
      subject: '<script>alert("pwned")</script> & co',
      text: 'plain <b>text</b>',
      html: '<p onclick="steal()">Hi <b>Bob</b></p><script>alert(1)</script><img src="https://tracker.test/p.gif">',
    });
    const id = storedId(info.response);
    const list = await fetch(worker.url);
    expect(list.headers.get('content-security-policy')).toContain("default-src 'none'");
    const listPage = await list.text();
    expect(listPage).toContain('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; co');
    // No script but the page's own live update.
    expect(listPage.split('<script')).toHaveLength(2);
    expect(listPage).toContain(`<script>${LIVE_UPDATE_SCRIPT}</script>`);

    const page = await (await fetch(new URL(`messages/${id}`, worker.url))).text();
    const textView = await (await fetch(new URL(`messages/${id}?view=text`, worker.url))).text();
    expect(textView).toContain('<pre>plain &lt;b&gt;text&lt;/b&gt;</pre>');
    const srcdoc = /<iframe [^>]*srcdoc="([^"]*)"/.exec(page)?.[1] ?? '';
    expect(srcdoc).toContain('&lt;p&gt;Hi &lt;b&gt;Bob&lt;/b&gt;&lt;/p&gt;');
    expect(srcdoc).not.toMatch(/script|onclick|tracker\.test/);
    expect(page).not.toContain('<script');
  });
});
