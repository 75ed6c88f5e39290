// The page around every inbox view: document head, inline styles, header.
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

/** A rendered fragment; `html` escapes every interpolated value unless it is itself a fragment. */
export type Fragment = HtmlEscapedString | Promise<HtmlEscapedString>;

// Inline, as the CSP allows no stylesheet from anywhere; light and dark follow the system.
const STYLE = `
:root { color-scheme: light dark; --muted: #6b7280; --line: #e5e7eb; --accent: #2563eb; --soft: #f3f4f6; }
@media (prefers-color-scheme: dark) { :root { --muted: #9ca3af; --line: #374151; --accent: #60a5fa; --soft: #1f2937; } }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; }
header { border-bottom: 1px solid var(--line); padding: .75rem 1.5rem; display: flex; gap: 1rem; align-items: baseline; }
header a { color: inherit; text-decoration: none; font-weight: 600; }
header span { color: var(--muted); font-size: .9em; }
main { max-width: 72rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.35rem; margin: 0 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1rem; margin: 2rem 0 .5rem; }
a { color: var(--accent); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 500; font-size: .85em; }
/* Break long addresses anywhere rather than overflow, but only where a word will not fit. */
td { overflow-wrap: break-word; word-break: break-word; }
td.when { white-space: nowrap; color: var(--muted); font-size: .9em; }
td.actions { width: 1%; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
pre { background: var(--soft); padding: 1rem; border-radius: .5rem; white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
iframe { width: 100%; height: 70vh; border: 1px solid var(--line); border-radius: .5rem; background: #fff; resize: vertical; }
form { display: inline; margin: 0; }
button, input { font: inherit; }
button { white-space: nowrap; border: 1px solid var(--line); background: var(--soft); color: inherit; border-radius: .375rem; padding: .2rem .7rem; cursor: pointer; }
button.danger { color: #dc2626; }
form.search { display: flex; gap: .5rem; margin: 0 0 1rem; }
form.search input { flex: 1; min-width: 0; padding: .3rem .6rem; border: 1px solid var(--line); border-radius: .375rem; background: transparent; color: inherit; }
.title { display: flex; gap: 1rem; align-items: baseline; justify-content: space-between; flex-wrap: wrap; }
nav.tabs { display: flex; gap: .25rem; border-bottom: 1px solid var(--line); margin: 1.5rem 0 1rem; overflow-x: auto; }
nav.tabs a { padding: .4rem .9rem; text-decoration: none; color: var(--muted); border: 1px solid transparent; border-bottom: 0; border-radius: .375rem .375rem 0 0; white-space: nowrap; }
nav.tabs a[aria-current] { color: inherit; border-color: var(--line); background: var(--soft); font-weight: 600; }
.badge { display: inline-block; font-size: .8em; padding: 0 .4rem; border-radius: .25rem; background: var(--soft); color: var(--muted); }
/* The gateway's verdicts: green a pass, red a failure, muted the rest (none, neutral, temperror). */
.badge.verdict-pass { color: #16a34a; }
.badge.verdict-fail { color: #dc2626; }
td.verdicts .badge, dl.verdicts .badge { white-space: nowrap; margin-right: .2rem; }
.new-mail { margin: 0 0 1rem; padding: .5rem .75rem; border-radius: .375rem; background: var(--soft); font-weight: 600; }
.empty { color: var(--muted); }
.note { color: var(--muted); font-size: .85em; }
nav.pages { margin-top: 1rem; }
/* A phone: the list's rows become cards, subject on top; the message's fields in smaller print. */
@media (max-width: 640px) {
  header { padding: .6rem 1rem; flex-wrap: wrap; gap: 0 .75rem; }
  main { padding: 1rem; }
  table.list thead { display: none; }
  table.list tr { display: flex; flex-direction: column; padding: .6rem 0; border-bottom: 1px solid var(--line); }
  table.list td { border: 0; padding: .05rem 0; overflow-wrap: anywhere; }
  table.list td.subject { order: -1; font-weight: 600; }
  table.list td.actions { width: auto; padding-top: .3rem; }
  dl { gap: .15rem .75rem; font-size: .9em; }
  iframe { height: 60vh; }
}
`;

/**
 * The full document. `title` is escaped like every interpolated value.
 *
 * @example
 * ```ts
 * c.html(layout('Inbox', html`<p>Hello</p>`));
 * ```
 */
export function layout(title: string, body: Fragment): Fragment {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · mxhook inbox</title>
<style>${raw(STYLE) /* a constant: inside <style> entities would not be decoded */}</style>
</head>
<body>
<header><a href="/">mxhook inbox</a><span>mail received through the mxhook gateway</span></header>
<main>
${body}
</main>
</body>
</html>`;
}

/**
 * The 404 page, for an unknown message and any unknown page, with a way back.
 *
 * @example
 * ```ts
 * c.html(notFoundPage('No such message.'), 404);
 * ```
 */
export function notFoundPage(message: string): Fragment {
  return layout(
    'Not found',
    html`<h1>Not found</h1>
<p>${message}</p>
<p><a href="/">← Back to the inbox</a></p>`,
  );
}
