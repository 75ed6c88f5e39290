// sanitizeHtml on the Workers runtime's HTMLRewriter: what a message's HTML may keep and what it loses.
import { describe, expect, it } from 'vitest';
import { sanitizeHtml } from '../../functions/worker/sanitize-html.ts';

describe('sanitizeHtml', () => {
  it.each([
    ['script elements, with their content', '<p>a<script>alert(1)</script>b</p>', '<p>ab</p>'],
    ['event-handler attributes', '<p onclick="x()" onmouseover=y>hi</p>', '<p>hi</p>'],
    ['javascript: links', '<a href="javascript:alert(1)">x</a>', '<a>x</a>'],
    ['entity-encoded javascript: links', '<a href="jav&#x61;script:alert(1)">x</a>', '<a>x</a>'],
    ['data: links', '<a href="data:text/html,<script>x</script>">x</a>', '<a>x</a>'],
    [
      'iframes, objects and embeds',
      '<iframe src="https://e.test"></iframe><object data="x"></object><embed src="y">ok',
      'ok',
    ],
    [
      'forms, keeping their text',
      '<form action="https://e.test"><input name="p">Text<button>Go</button></form>',
      'Text',
    ],
    ['svg, with its content', '<svg><script>x</script><text>t</text></svg>ok', 'ok'],
    ['comments, conditional ones too', 'a<!-- secret --><!--[if mso]><b>x</b><![endif]-->b', 'ab'],
    [
      'meta refresh and base',
      '<meta http-equiv="refresh" content="0;url=https://e.test"><base href="https://e.test/">ok',
      'ok',
    ],
    [
      'stylesheets linked from elsewhere',
      '<link rel="stylesheet" href="https://e.test/a.css">ok',
      'ok',
    ],
    [
      'unknown elements, keeping their text',
      '<marquee>moving</marquee><blink>on</blink>',
      'movingon',
    ],
    [
      'style attributes that load from elsewhere',
      '<p style="background:url(https://t.test/p.gif)">x</p>',
      '<p>x</p>',
    ],
  ])('removes %s', async (_name, input, expected) => {
    expect(await sanitizeHtml(input)).toBe(expected);
  });

  it('keeps formatting: tables, inline styles, fonts, lists', async () => {
    const html =
      '<table border="0" cellpadding="4"><tr><td style="color:#333" align="center"><font face="Arial">Hi</font></td></tr></table><ul><li><b>b</b> <i>i</i></li></ul>';
    expect(await sanitizeHtml(html)).toBe(html);
  });

  it('keeps style elements that only style', async () => {
    expect(await sanitizeHtml('<style>div > p { color: red }</style><p>x</p>')).toBe(
      '<style>div > p { color: red }</style><p>x</p>',
    );
  });

  it.each([
    ['url()', 'background:url(https://t.test/p.gif)'],
    ['url() with a data: URI', 'background:url(data:image/png;base64,AAAA)'],
    ['image-set()', 'background-image:image-set("https://t.test/a.png" 1x)'],
    ['-webkit-image-set()', 'background-image:-webkit-image-set("https://t.test/a.png" 1x)'],
    ['image()', 'background-image:image("https://t.test/a.png")'],
    ['cross-fade()', 'background-image:cross-fade(50% "https://t.test/a.png", red)'],
    ['src()', 'background-image:src("https://t.test/a.png")'],
    ['a CSS escape spelling url()', 'background:\\75 rl(https://t.test/p.gif)'],
    ['a character reference spelling url()', 'background:u&#114;l(https://t.test/p.gif)'],
    ['a comment inside', 'background:/* x */url(https://t.test/p.gif)'],
  ])('removes a style attribute loading with %s', async (_name, style) => {
    expect(await sanitizeHtml(`<p style="color:red;${style}">x</p>`)).toBe('<p>x</p>');
  });

  it('keeps a style attribute with quoted font names', async () => {
    const html = '<p style="font-family:&quot;Segoe UI&quot;,Arial;color:red">x</p>';
    expect(await sanitizeHtml(html)).toBe(html);
  });

  it.each([
    ['url()', 'p{color:red;background:url(https://t.test/p.gif)}', 'p{color:red;}'],
    ['@import url()', '@import url(https://t.test/a.css);p{color:red}', 'p{color:red}'],
    ['@import with a string', '@import "https://t.test/a.css" screen;p{color:red}', 'p{color:red}'],
    [
      'image-set()',
      'p{background-image:image-set("https://t.test/a.png" 1x);color:red}',
      'p{;color:red}',
    ],
    [
      '@font-face src: url()',
      '@font-face{font-family:F;src:url(https://t.test/f.woff)}p{color:red}',
      '@font-face{font-family:F;}p{color:red}',
    ],
    [
      'a declaration with a CSS escape',
      'p{color:red}q{background:\\75 rl(https://t.test/p)}',
      'p{color:red}q{}',
    ],
    ['a comment joining </ and style', 'p{color:red}</*x*/style><script>x</script>', ''],
  ])('removes from a style element %s', async (_name, css, expected) => {
    expect(await sanitizeHtml(`<style>${css}</style><p>x</p>`)).toBe(
      `<style>${expected}</style><p>x</p>`,
    );
  });

  it('opens http(s) and mailto links outside the frame, telling the target nothing', async () => {
    expect(await sanitizeHtml('<a href="https://example.com/x" title="t">x</a>')).toBe(
      '<a href="https://example.com/x" title="t" target="_blank" rel="noopener noreferrer">x</a>',
    );
    expect(await sanitizeHtml('<a href="mailto:a@example.com">m</a>')).toContain(
      'href="mailto:a@example.com"',
    );
  });

  it('drops remote image sources (tracking pixels), leaving the alt text', async () => {
    expect(await sanitizeHtml('<img src="https://t.test/pixel.gif" width="1">')).toBe(
      '<img width="1" alt="[image not loaded]">',
    );
    expect(await sanitizeHtml('<img src="http://t.test/logo.png" alt="Logo">')).toBe(
      '<img alt="Logo">',
    );
    expect(await sanitizeHtml('<img srcset="https://t.test/a.png 2x" alt="a">')).toBe(
      '<img alt="a">',
    );
  });

  it('shows cid: images from the message itself as data: URIs, and keeps inline data: images', async () => {
    const png = 'data:image/png;base64,iVBORw0KGgo=';
    expect(
      await sanitizeHtml('<img src="cid:logo@sender.test" alt="Logo">', {
        'logo@sender.test': png,
      }),
    ).toBe(`<img alt="Logo" src="${png}">`);
    expect(await sanitizeHtml(`<img src="${png}">`)).toBe(`<img src="${png}">`);
    expect(await sanitizeHtml('<img src="data:image/svg+xml;base64,PHN2Zz4=" alt="s">')).toBe(
      '<img alt="s">',
    );
  });
});
