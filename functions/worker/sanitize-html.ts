// Makes a message's HTML safe to show: an allowlist of elements and attributes, and no remote URLs.
import type { Element, HTMLRewriter as HTMLRewriterClass } from '@cloudflare/workers-types';
import { cleanStylesheet, isSafeInlineStyle } from './sanitize-css.ts';

// The Workers runtime's streaming HTML parser (lol-html), declared here by name so this module
// also type-checks where the Workers globals are not loaded.
declare const HTMLRewriter: typeof HTMLRewriterClass;

function words(list: string): ReadonlySet<string> {
  return new Set(list.split(' '));
}

/** Removed together with everything inside them: active content, or markup that only leaks. */
const DROP_WITH_CONTENT = words(
  'applet audio base button canvas embed frame frameset iframe input link math meta ' +
    'noembed noframes noscript object option portal script select source svg template ' +
    'textarea title track video',
);

/** Kept as they are (with allowed attributes only); any other element is unwrapped. */
const KEEP = words(
  'a abbr address article aside b bdi bdo big blockquote body br caption center cite ' +
    'code col colgroup dd del details dfn div dl dt em figcaption figure font footer h1 ' +
    'h2 h3 h4 h5 h6 head header hr html i img ins kbd li main mark nav ol p pre q s samp ' +
    'section small span strike strong style sub summary sup table tbody td tfoot th thead ' +
    'time tr tt u ul var wbr',
);

/** Presentational attributes; `href`, `src` and `style` are checked separately. */
const ATTRIBUTES = words(
  'align alt bgcolor border cellpadding cellspacing class color cols colspan dir face ' +
    'height hspace lang nowrap rowspan size span start summary title type valign vspace ' +
    'width',
);

// Checked on the raw attribute text: an entity-encoded scheme (`jav&#x61;script:`) fails the
// prefix test and is dropped, never let through.
const SAFE_HREF = /^\s*(https?:|mailto:|#)/i;
const SAFE_IMAGE = /^data:image\/(png|gif|jpeg|webp);base64,[a-z0-9+/=\s]*$/i;
const CID = /^\s*cid:(.+)$/i;

function cleanAttributes(element: Element, inlineImages: Readonly<Record<string, string>>): void {
  const tag = element.tagName;
  for (const [name = '', value = ''] of [...element.attributes]) {
    const keep =
      ATTRIBUTES.has(name) ||
      (name === 'href' && tag === 'a' && SAFE_HREF.test(value)) ||
      (name === 'style' && isSafeInlineStyle(value)) ||
      (name === 'src' && tag === 'img' && SAFE_IMAGE.test(value));
    if (!keep) element.removeAttribute(name);
    if (name === 'src' && tag === 'img' && !keep) {
      const cid = CID.exec(value)?.[1]?.trim();
      const inline = cid === undefined ? undefined : inlineImages[cid];
      if (inline !== undefined) element.setAttribute('src', inline);
      else if (!element.hasAttribute('alt')) element.setAttribute('alt', '[image not loaded]');
    }
  }
  if (tag === 'a' && element.hasAttribute('href')) {
    // Opens outside the sandboxed frame, and tells the target nothing about the inbox.
    element.setAttribute('target', '_blank');
    element.setAttribute('rel', 'noopener noreferrer');
  }
}

/**
 * Sanitises message HTML for display in a sandboxed `srcdoc` iframe: drops scripts, frames,
 * forms, embedded objects, comments (conditional comments included) and event-handler
 * attributes; keeps formatting; lets links be only http(s), mailto or in-page; turns `cid:`
 * images into the message's own `data:` URIs and drops every other image source; removes CSS
 * that would load anything (sanitize-css.ts) from style attributes and style elements. The page's
 * CSP is the second, independent barrier. Runs on the Workers runtime (HTMLRewriter).
 *
 * @example
 * ```ts
 * await sanitizeHtml('<p onclick="x()">Hi<script>alert(1)</script><img src="https://t.example/p.gif">');
 * // '<p>Hi<img alt="[image not loaded]">'
 * ```
 */
export async function sanitizeHtml(
  html: string,
  inlineImages: Readonly<Record<string, string>> = {},
): Promise<string> {
  let stylesheet = '';
  const rewriter = new HTMLRewriter()
    .on('style', {
      // A stylesheet arrives in chunks: hold them, and put the cleaned whole in the last one.
      text(chunk) {
        stylesheet += chunk.text;
        if (!chunk.lastInTextNode) return void chunk.remove();
        const cleaned = cleanStylesheet(stylesheet);
        stylesheet = '';
        // Removing comments could join `</` and `style`: never let the text end the element.
        chunk.replace(cleaned.includes('</') ? '' : cleaned, { html: true });
      },
    })
    .on('*', {
      element(element) {
        const tag = element.tagName;
        if (DROP_WITH_CONTENT.has(tag)) element.remove();
        else if (!KEEP.has(tag)) element.removeAndKeepContent();
        else cleanAttributes(element, inlineImages);
      },
    })
    .onDocument({
      comments(comment) {
        comment.remove();
      },
    });
  const response = new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8' } });
  return rewriter
    .transform(response as unknown as Parameters<HTMLRewriterClass['transform']>[0])
    .text();
}
