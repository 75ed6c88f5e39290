// Parses a received message with mailparser into the wire's `parsed` form (headers, addresses, bodies, attachments).
import { Readable } from 'node:stream';
import libmime from 'libmime';
import { type AddressObject, type EmailAddress, simpleParser } from 'mailparser';
import type { ParsedAddress, ParsedMessage } from '../../functions/sdk/wire.ts';

// Only what the wire carries: no text→HTML conversion, no link detection, no inlined cid images.
const PARSER_OPTIONS = {
  skipHtmlToText: false,
  skipTextToHtml: true,
  skipTextLinks: true,
  skipImageLinks: true,
} as const;

/** Up to this size the message is parsed from one Buffer; larger ones are streamed from their pieces. */
const CONCAT_MAX_BYTES = 256 * 1024;

export async function parseMessage(
  chunks: readonly Buffer[],
  sizeBytes: number,
): Promise<ParsedMessage> {
  const input =
    sizeBytes <= CONCAT_MAX_BYTES
      ? Buffer.concat(chunks, sizeBytes)
      : Readable.from(chunks, { objectMode: false });
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
