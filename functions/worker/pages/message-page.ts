// One message: its fields and attachments, then one view of it at a time (HTML, text, headers, source).
import { html } from 'hono/html';
import type { StoredMessage } from '../message-record.ts';
import { MESSAGE_FRAME_CSP } from '../security-headers.ts';
import { formatAddresses, formatBytes, formatDate } from './format.ts';
import { type Fragment, layout } from './layout.ts';
import { deleteButton } from './list-page.ts';
import { verdictsSection } from './verdicts.ts';

/** The views of a message, in tab order; `?view=` picks one. */
export const MESSAGE_VIEWS = ['html', 'text', 'headers', 'source'] as const;
export type MessageView = (typeof MESSAGE_VIEWS)[number];

const VIEW_LABELS: Record<MessageView, string> = {
  html: 'HTML',
  text: 'Text',
  headers: 'Headers',
  source: 'Source',
};

/** What the page shows of the message besides its record. */
export interface MessageViewContent {
  readonly view: MessageView;
  /** The HTML body after `sanitizeHtml`, or null; read only for the HTML view. */
  readonly sanitizedHtml: string | null;
  /** The start of the raw bytes as text, or null; read only for the source view. */
  readonly source: string | null;
}

/**
 * The view shown when `?view=` names none: the HTML body, else the text, else (for a message whose
 * bodies could not be read) its source, else its headers.
 */
export function defaultView(message: StoredMessage): MessageView {
  if (message.html !== null) return 'html';
  if (message.text !== null) return 'text';
  return message.parseProblem && message.hasRaw ? 'source' : 'headers';
}

function field(name: string, value: string | null | undefined): Fragment | '' {
  return value ? html`<dt>${name}</dt><dd>${value}</dd>` : '';
}

function attachmentsSection(message: StoredMessage): Fragment | '' {
  if (message.attachments.length === 0) return '';
  return html`<h2>Attachments</h2>
<table><thead><tr><th>Name</th><th>Type</th><th>Size</th></tr></thead><tbody>
${message.attachments.map((attachment, index) => {
  const name = attachment.filename ?? attachment.contentId ?? '(unnamed)';
  // The bytes are read back from the raw message, so without it there is nothing to download.
  const link = message.hasRaw
    ? html`<a href="/messages/${message.id}/attachments/${index}" download>${name}</a>`
    : name;
  return html`<tr><td>${link}</td><td>${attachment.contentType}</td><td>${formatBytes(attachment.size)}</td></tr>`;
})}
</tbody></table>`;
}

function tabs(message: StoredMessage, current: MessageView): Fragment {
  return html`<nav class="tabs" aria-label="Views of the message">${MESSAGE_VIEWS.map(
    (view) =>
      html`<a href="/messages/${message.id}?view=${view}"${view === current ? html` aria-current="page"` : ''}>${VIEW_LABELS[view]}</a>`,
  )}</nav>`;
}

/**
 * The HTML body in an `<iframe srcdoc>`: sandboxed without `allow-scripts` or
 * `allow-same-origin` (no script runs, and the frame is its own opaque origin, so it cannot read
 * the inbox or its cookie), bound by the page's CSP it inherits and by a stricter CSP repeated in
 * the document (no form at all). The document is escaped as one attribute value, so nothing in it
 * can close the attribute or the iframe.
 */
function htmlView(sanitizedHtml: string | null): Fragment {
  if (sanitizedHtml === null) return html`<p class="empty">The message has no HTML body.</p>`;
  const document = `<!doctype html><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${MESSAGE_FRAME_CSP}">${sanitizedHtml}`;
  return html`<iframe title="HTML body" sandbox="allow-popups allow-popups-to-escape-sandbox" referrerpolicy="no-referrer" srcdoc="${document}"></iframe>`;
}

function headersView(message: StoredMessage): Fragment {
  return html`<dl class="headers">${message.headers.map(
    (header) => html`<dt>${header.name}</dt><dd>${header.value}</dd>`,
  )}</dl>`;
}

function sourceView(message: StoredMessage, source: string | null): Fragment {
  if (source === null) {
    return html`<p class="empty">The raw message was not stored (the gateway sent only its parsed form).</p>`;
  }
  return html`<p class="note">${message.parseProblem ? `${message.parseProblem} ` : ''}<a href="/api/messages/${message.id}/raw">Download the raw message</a> (.eml) to keep it.</p>
<pre>${source}</pre>`;
}

function viewBody(message: StoredMessage, content: MessageViewContent): Fragment {
  switch (content.view) {
    case 'html':
      return htmlView(content.sanitizedHtml);
    case 'text':
      return message.text === null
        ? html`<p class="empty">The message has no text body.</p>`
        : html`<pre>${message.text}</pre>`;
    case 'headers':
      return headersView(message);
    case 'source':
      return sourceView(message, content.source);
  }
}

/**
 * Renders a message with one of its views.
 *
 * @example
 * ```ts
 * c.html(messagePage(record, { view: 'text', sanitizedHtml: null, source: null }));
 * ```
 */
export function messagePage(message: StoredMessage, content: MessageViewContent): Fragment {
  const subject = message.subject || '(no subject)';
  return layout(
    subject,
    html`<p><a href="/">← Inbox</a></p>
<div class="title"><h1>${subject}</h1>${deleteButton(message.id)}</div>
<dl>
${field('From', formatAddresses(message.from))}
${field('To', formatAddresses(message.to))}
${field('Cc', formatAddresses(message.cc))}
${field('Reply-To', formatAddresses(message.replyTo))}
${field('Date', formatDate(message.date))}
${field('Received', formatDate(message.receivedAt))}
${field('Envelope from', message.envelope.mailFrom || '<>')}
${field('Envelope to', message.envelope.rcptTo.join(', '))}
${field('Client', [message.client.address, message.client.hostname, message.client.helo && `HELO ${message.client.helo}`, message.client.tls].filter(Boolean).join(' · '))}
${field('Message-ID', message.messageId)}
${field('Size', formatBytes(message.size))}
<dt>Download</dt><dd>${message.hasRaw ? html`<a href="/api/messages/${message.id}/raw">raw message (.eml)</a> · ` : ''}<a href="/api/messages/${message.id}">JSON</a></dd>
</dl>
${verdictsSection(message.authentication)}
${attachmentsSection(message)}
${tabs(message, content.view)}
${viewBody(message, content)}`,
  );
}
