// CSS from a message: keeps what only styles, removes whatever could make the viewer fetch a URL.

/**
 * CSS that loads from elsewhere, or runs code in old engines: url(), image(), image-set(),
 * cross-fade() and src() take URLs (CSS Images 4, CSS Values 4; vendor-prefixed too), as do
 * @import and @namespace (CSS Cascade 5 §2, CSS Namespaces 3 §2).
 */
const LOADS =
  /(?:^|[^\w-])(?:-[a-z]+-)?(?:url|image|image-set|cross-fade|src)\s*\(|@import|@namespace|expression\s*\(|behavior\s*:|-moz-binding|javascript:/i;
// A CSS escape (`\75 rl(` is `url(`, CSS Syntax 3 §4.3.7) or an HTML character reference in an
// attribute (`u&#114;l(`) could spell any of the above past the pattern: text with either is unsafe.
const ESCAPED = /\\|&(?:#|[a-z][a-z0-9]*;)/i;
const COMMENTS = /\/\*[\s\S]*?(?:\*\/|$)/g;
// Statements and declarations are cut at `;`, `{` or `}`, as the CSS parser recovers from errors.
const AT_STATEMENT = /@(?:import|namespace)\b[^;{}]*;?/gi;
const DECLARATION = /[^;{}]*/g;

// The references an HTML attribute value may hold that cannot hide CSS: quotes (common around
// font names in mail) and the syntax characters.
const SAFE_REFERENCES: Readonly<Record<string, string>> = {
  '&quot;': '"',
  '&apos;': "'",
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
};

function loads(css: string): boolean {
  const text = css.replace(COMMENTS, '');
  return LOADS.test(text) || ESCAPED.test(text);
}

/** Whether a `style` attribute's raw value only styles (checked as the browser will decode it). */
export function isSafeInlineStyle(value: string): boolean {
  return !loads(
    value.replace(
      /&(?:quot|apos|amp|lt|gt);/gi,
      (ref) => SAFE_REFERENCES[ref.toLowerCase()] ?? ref,
    ),
  );
}

/**
 * A `<style>` element's text without its loading parts: comments, @import and @namespace rules,
 * and every declaration that loads are removed; if anything unsafe is still left (an escape,
 * say), the whole stylesheet is.
 */
export function cleanStylesheet(css: string): string {
  const cleaned = css
    .replace(COMMENTS, '')
    .replace(AT_STATEMENT, '')
    .replace(DECLARATION, (part) => (loads(part) ? '' : part));
  return loads(cleaned) ? '' : cleaned;
}
