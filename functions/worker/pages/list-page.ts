// The inbox page: received messages, newest first, one line each (one card each on a phone).
import { html, raw } from 'hono/html';
import type { MessagePage } from '../message-store.ts';
import { formatBytes, formatDate } from './format.ts';
import { type Fragment, layout } from './layout.ts';
import { LIVE_UPDATE_SCRIPT } from './live-update.ts';
import { verdictChips } from './verdicts.ts';

/** What the list shows besides the messages: who this inbox accepts mail for, what was searched. */
export interface ListContext {
  readonly servedFor: readonly string[];
  /** The cursor this page was opened with; shows a link back to the first page. */
  readonly isFirstPage: boolean;
  /** The search the page answers (subject, from, to), or '' for the whole inbox. */
  readonly query: string;
}

/** The form that deletes a message (page-routes.ts); the CSP lets forms post to the inbox only. */
export function deleteButton(id: string): Fragment {
  return html`<form method="post" action="/messages/${id}/delete"><button class="danger" type="submit">Delete</button></form>`;
}

function rows(page: MessagePage): Fragment {
  return html`${page.messages.map(
    (message) => html`<tr>
<td class="when">${formatDate(message.receivedAt)}</td>
<td class="from">${message.from}</td>
<td class="to">${message.to}</td>
<td class="subject"><a href="/messages/${message.id}">${message.subject || '(no subject)'}</a> <span class="badge">${formatBytes(message.size)}</span></td>
<td class="verdicts">${verdictChips(message.verdicts)}</td>
<td class="actions">${deleteButton(message.id)}</td>
</tr>`,
  )}`;
}

/** `/` with the search and the cursor, each only when there is one. */
function listUrl(query: string, cursor: string | null): string {
  const params = new URLSearchParams();
  if (query !== '') params.set('q', query);
  if (cursor !== null) params.set('cursor', cursor);
  const search = params.toString();
  return search === '' ? '/' : `/?${search}`;
}

/**
 * Renders one page of the list, or of a search.
 *
 * @example
 * ```ts
 * c.html(listPage(await store.list({ limit: 50 }), { servedFor: ['example.com'], isFirstPage: true, query: '' }));
 * ```
 */
export function listPage(page: MessagePage, context: ListContext): Fragment {
  const { query } = context;
  const served =
    context.servedFor.length === 0
      ? 'no one yet (set DOMAINS or RECIPIENTS)'
      : context.servedFor.join(', ');
  const none =
    query !== ''
      ? 'No messages match.'
      : `No messages${context.isFirstPage ? ' yet' : ' on this page'}.`;
  const body =
    page.messages.length === 0
      ? html`<p class="empty">${none}</p>`
      : html`<table class="list">
<thead><tr><th>Received</th><th>From</th><th>To</th><th>Subject</th><th>Checks</th><th></th></tr></thead>
<tbody>${rows(page)}</tbody>
</table>`;
  // The newest messages, unfiltered: where new mail would show, so where the page watches for it.
  const live =
    context.isFirstPage && query === ''
      ? html`<p id="new-mail" class="new-mail" hidden data-newest="${page.messages[0]?.id ?? ''}"><a href="/">New mail has arrived: show it</a></p>
<script>${raw(LIVE_UPDATE_SCRIPT) /* a constant, allowed by its hash */}</script>`
      : '';
  const pages = html`<nav class="pages">${
    context.isFirstPage ? '' : html`<a href="${listUrl(query, null)}">Newest</a> `
  }${page.cursor === null ? '' : html`<a href="${listUrl(query, page.cursor)}">Older messages →</a>`}</nav>`;
  return layout(
    query === '' ? 'Inbox' : `Search: ${query}`,
    html`<h1>Inbox</h1>
<p class="note">Accepting mail for ${served}.</p>
<form class="search" method="get" action="/" role="search"><input type="search" name="q" value="${query}" placeholder="Search subject, from, to" aria-label="Search subject, from, to"><button type="submit">Search</button>${
      query === '' ? '' : html` <a href="/">Clear</a>`
    }</form>
${live}
${body}
${pages}`,
  );
}
