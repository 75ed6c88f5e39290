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
td { overflow-wrap: anywhere; }
td.when { white-space: nowrap; color: var(--muted); font-size: .9em; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
pre { background: var(--soft); padding: 1rem; border-radius: .5rem; white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
iframe { width: 100%; height: 70vh; border: 1px solid var(--line); border-radius: .5rem; background: #fff; resize: vertical; }
.badge { display: inline-block; font-size: .8em; padding: 0 .4rem; border-radius: .25rem; background: var(--soft); color: var(--muted); }
.empty { color: var(--muted); }
.note { color: var(--muted); font-size: .85em; }
nav.pages { margin-top: 1rem; }
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
