// Parses a received message with mailparser into the wire's `parsed` form (headers, addresses, bodies,
// attachments). Loaded only by the parse worker (parse-worker.ts), never on the gateway's event loop.
import { createRequire } from 'node:module';
import libmime from 'libmime';
import type * as Mailparser from 'mailparser';
import type { AddressObject, EmailAddress } from 'mailparser';
import type { ParsedAddress, ParsedMessage } from '../../functions/sdk/wire.ts';

/**
 * Bounds on the text made from an HTML body. html-to-text builds a DOM of its whole input and walks
 * it recursively: a 9 MiB body took hundreds of MiB, and deep nesting overflows the stack. The `html`
 * field is unaffected; only the `text` made from a larger body stops early (`...` marks the cut).
 */
const HTML_TO_TEXT_LIMITS = {
  /**
   * Characters of HTML converted: a letter's HTML is a few KiB to a few dozen; 256 Ki characters give
   * about 100 Ki of text. Measured on a 9.3 MiB HTML mail: with 1 Mi the parse peaked 15 MiB higher.
   */
  maxInputLength: 256 * 1024,
  /** Element nesting followed; browsers themselves stop nesting around 512 levels. */
  maxDepth: 256,
  /** Children of one element converted. */
  maxChildNodes: 16_384,
  ellipsis: '...',
} as const;

interface HtmlToTextModule {
  htmlToText: (html: string) => string;
  convert: (html: string, options: { readonly limits: object }) => string;
}

// mailparser converts HTML with html-to-text's `htmlToText` export and passes it no options (so no
// limits can be given to it); it reads that export once, when it is loaded. The export is replaced
// with the bounded conversion before mailparser is loaded, in this worker-only module. package.json
// pins html-to-text to the exact version mailparser asks for, so both resolve to one copy; the
// integration test of deeply nested HTML fails if the bound stops reaching mailparser.
const require = createRequire(import.meta.url);
const htmlToTextModule = require('html-to-text') as HtmlToTextModule;
const { convert } = htmlToTextModule;
htmlToTextModule.htmlToText = function boundedHtmlToText(html) {
  // Cut here rather than through `maxInputLength`, which warns on the console for every long body.
  const input =
    html.length > HTML_TO_TEXT_LIMITS.maxInputLength
      ? html.slice(0, HTML_TO_TEXT_LIMITS.maxInputLength)
      : html;
  return convert(input, { limits: HTML_TO_TEXT_LIMITS });
};
const { simpleParser } = require('mailparser') as typeof Mailparser;

// Only what the wire carries: no text→HTML conversion, no link detection, no inlined cid images.
const PARSER_OPTIONS = {
  skipHtmlToText: false,
  skipTextToHtml: true,
  skipTextLinks: true,
  skipImageLinks: true,
} as const;

export async function parseMessage(input: Buffer): Promise<ParsedMessage> {
  const mail = await simpleParser(input, PARSER_OPTIONS);
  return {
    headers: mail.headerLines.map(({ key, line }) => ({ name: key, value: headerValue(line) })),
    from: addresses(mail.from),
    to: addresses(mail.to),
    cc: addresses(mail.cc),
    replyTo: addresses(mail.replyTo),
    subject: mail.subject ?? null,
    date: mail.date && !Number.isNaN(mail.date.getTime()) ? mail.date.toISOString() : null,
    messageId: mail.messageId ?? null,
    inReplyTo: mail.inReplyTo ?? null,
    text: mail.text ?? null,
    html: typeof mail.html === 'string' ? mail.html : null,
    attachments: mail.attachments.map((a) => ({
      filename: a.filename ?? null,
      contentType: a.contentType,
      size: a.size,
      contentId: a.cid ?? null,
      disposition: a.contentDisposition ?? null,
      content: a.content.toString('base64'),
    })),
  };
}

/** The value part of a raw header line, unfolded (RFC 5322 §2.2.3) and with encoded-words decoded (RFC 2047). */
function headerValue(line: string): string {
  const colon = line.indexOf(':');
  const value = line
    .slice(colon + 1)
    .replace(/\r?\n(?=[ \t])/g, '')
    .trim();
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}

function addresses(field: AddressObject | AddressObject[] | undefined): ParsedAddress[] {
  if (field === undefined) return [];
  const out: ParsedAddress[] = [];
  const visit = (entries: readonly EmailAddress[]): void => {
    for (const entry of entries) {
      // Group syntax (RFC 5322 §3.4) nests its members; flatten them.
      if (entry.group) visit(entry.group);
      else if (entry.address) out.push({ name: entry.name ?? '', address: entry.address });
    }
  };
  for (const object of Array.isArray(field) ? field : [field]) visit(object.value);
  return out;
}
