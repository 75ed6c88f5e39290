// The inbox page: received messages, newest first, one line each.
import { html } from 'hono/html';
import type { MessagePage } from '../message-store.ts';
import { formatBytes, formatDate } from './format.ts';
import { type Fragment, layout } from './layout.ts';

/** What the list shows besides the messages: who this inbox accepts mail for. */
export interface ListContext {
  readonly servedFor: readonly string[];
  /** The cursor this page was opened with; shows a link back to the first page. */
  readonly isFirstPage: boolean;
}

function rows(page: MessagePage): Fragment {
  return html`${page.messages.map(
    (message) => html`<tr>
<td class="when">${formatDate(message.receivedAt)}</td>
<td>${message.from}</td>
<td>${message.to}</td>
<td><a href="/messages/${message.id}">${message.subject || '(no subject)'}</a> <span class="badge">${formatBytes(message.size)}</span></td>
<td>${message.auth === null ? html`<span class="empty">none</span>` : message.auth}</td>
</tr>`,
  )}`;
}

/**
 * Renders one page of the list.
 *
 * @example
 * ```ts
 * c.html(listPage(await store.list({ limit: 50 }), { servedFor: ['example.com'], isFirstPage: true }));
 * ```
 */
export function listPage(page: MessagePage, context: ListContext): Fragment {
  const served =
    context.servedFor.length === 0
      ? 'no one yet (set DOMAINS or RECIPIENTS)'
      : context.servedFor.join(', ');
  const body =
    page.messages.length === 0
      ? html`<p class="empty">No messages${context.isFirstPage ? ' yet' : ' on this page'}.</p>`
      : html`<table>
<thead><tr><th>Received</th><th>From</th><th>To</th><th>Subject</th><th>Authentication</th></tr></thead>
<tbody>${rows(page)}</tbody>
</table>`;
  const pages = html`<nav class="pages">${context.isFirstPage ? '' : html`<a href="/">Newest</a> `}${
    page.cursor === null
      ? ''
      : html`<a href="/?cursor=${encodeURIComponent(page.cursor)}">Older messages →</a>`
  }</nav>`;
  return layout(
    'Inbox',
    html`<h1>Inbox</h1>
<p class="note">Accepting mail for ${served}. Authentication shows what the message's own headers claim; this inbox does not verify it.</p>
${body}
${pages}`,
  );
}
