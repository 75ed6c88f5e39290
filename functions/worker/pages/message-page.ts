// One message: its headers, authentication headers, attachments, text, and HTML in a sandboxed frame.
import { html } from 'hono/html';
import type { StoredMessage } from '../message-record.ts';
import { INBOX_CSP } from '../security-headers.ts';
import { formatAddresses, formatBytes, formatDate } from './format.ts';
import { type Fragment, layout } from './layout.ts';

function field(name: string, value: string | null | undefined): Fragment | '' {
  return value ? html`<dt>${name}</dt><dd>${value}</dd>` : '';
}

function authSection(message: StoredMessage): Fragment {
  const { authenticationResults, receivedSpf, dkimSignatures } = message.auth;
  if (authenticationResults.length + receivedSpf.length + dkimSignatures.length === 0) {
    return html`<h2>Authentication</h2><p class="empty">The message carries no authentication headers.</p>`;
  }
  return html`<h2>Authentication</h2>
<p class="note">As the message's headers claim; added by relays before the gateway (or by the sender), not verified here.</p>
<dl>
${authenticationResults.map((value) => html`<dt>Authentication-Results</dt><dd>${value}</dd>`)}
${receivedSpf.map((value) => html`<dt>Received-SPF</dt><dd>${value}</dd>`)}
${dkimSignatures.map(
  (signature) =>
    html`<dt>DKIM-Signature</dt><dd>d=${signature.domain ?? '?'} s=${signature.selector ?? '?'}</dd>`,
)}
</dl>`;
}

function attachmentsSection(message: StoredMessage): Fragment | '' {
  if (message.attachments.length === 0) return '';
  return html`<h2>Attachments</h2>
<table><thead><tr><th>Name</th><th>Type</th><th>Size</th></tr></thead><tbody>
${message.attachments.map(
  (attachment) =>
    html`<tr><td>${attachment.filename ?? attachment.contentId ?? '(unnamed)'}</td><td>${attachment.contentType}</td><td>${formatBytes(attachment.size)}</td></tr>`,
)}
</tbody></table>`;
}

/**
 * The HTML body in an `<iframe srcdoc>`: sandboxed without `allow-scripts` or
 * `allow-same-origin` (no script runs, and the frame is its own opaque origin, so it cannot read
 * the inbox or its cookie), bound by the page's CSP it inherits and by the same CSP repeated in
 * the document. The document is escaped as one attribute value, so nothing in it can close the
 * attribute or the iframe.
 */
function htmlSection(sanitizedHtml: string | null): Fragment | '' {
  if (sanitizedHtml === null) return '';
  const document = `<!doctype html><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${INBOX_CSP}">${sanitizedHtml}`;
  return html`<h2>HTML</h2>
<iframe title="HTML body" sandbox="allow-popups allow-popups-to-escape-sandbox" referrerpolicy="no-referrer" srcdoc="${document}"></iframe>`;
}

/** Why the bodies are not shown, and the message's source (its start) to read instead. */
function sourceSection(message: StoredMessage, source: string | null): Fragment | '' {
  if (!message.parseProblem) return '';
  return html`<h2>Source</h2>
<p class="note">${message.parseProblem} Its source follows; the raw message download has all of it.</p>
${source === null ? '' : html`<pre>${source}</pre>`}`;
}

/**
 * Renders a message; `sanitizedHtml` is its HTML body after `sanitizeHtml`, or null; `source` is
 * the start of its raw bytes as text, given when its bodies could not be read (`parseProblem`).
 *
 * @example
 * ```ts
 * c.html(messagePage(record, record.html === null ? null : await sanitizeHtml(record.html), null));
 * ```
 */
export function messagePage(
  message: StoredMessage,
  sanitizedHtml: string | null,
  source: string | null,
): Fragment {
  const subject = message.subject || '(no subject)';
  return layout(
    subject,
    html`<p><a href="/">← Inbox</a></p>
<h1>${subject}</h1>
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
${authSection(message)}
${attachmentsSection(message)}
${message.text === null ? '' : html`<h2>Text</h2><pre>${message.text}</pre>`}
${htmlSection(sanitizedHtml)}
${sourceSection(message, source)}
${message.text === null && sanitizedHtml === null && !message.parseProblem ? html`<p class="empty">The message has no text or HTML body.</p>` : ''}`,
  );
}
