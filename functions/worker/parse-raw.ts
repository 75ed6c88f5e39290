// Reads a raw message on the Worker, for when the gateway sends `raw` without `parsed` (MXHOOK_PAYLOAD=raw).
import PostalMime, { type Address, decodeWords, type Email } from 'postal-mime';
import type { ParsedAddress } from '../sdk/index.ts';
import { inlineImages } from './inline-images.ts';
import type { MessageContent, StoredAttachment } from './message-record.ts';
import { type HeaderField, rawHeaderFields } from './raw-headers.ts';

/**
 * The largest message parsed here: the gateway's default MXHOOK_MAX_MESSAGE_SIZE. A parse costs
 * CPU time in the data call (a few hundred milliseconds for a message of several MiB), well within
 * a paid Worker's limit; a larger message is kept with its headers only, and can be downloaded.
 */
const MAX_PARSE_BYTES = 10 * 1024 * 1024;
/**
 * The most the text and HTML bodies may take as JSON in the record. With the headers, attachment
 * descriptions and inline images beside them the record stays under KV's 25 MiB per value, so a
 * readable message is never refused for its size after parsing.
 */
const MAX_BODIES_JSON_BYTES = 20 * 1024 * 1024;
/** postal-mime's own defaults are for a server; these bound the memory one message can take here. */
const PARSER_LIMITS = {
  maxNestingDepth: 50,
  maxPartCount: 1000,
  maxHeadersSize: 1024 * 1024,
  maxRfc822NestingDepth: 3,
} as const;

/** RFC 2047 encoded words decoded; a value that cannot be decoded is kept as it is. */
function decoded(value: string): string {
  try {
    return decodeWords(value);
  } catch {
    return value;
  }
}

/** Mailboxes in order, with the members of a group (RFC 5322 §3.4) in place of the group. */
function mailboxes(addresses: Address | readonly Address[] | undefined): ParsedAddress[] {
  return [addresses ?? []]
    .flat()
    .flatMap((address) => address.group ?? [address])
    .flatMap(({ name, address }) => (address ? [{ name, address }] : []));
}

/** ISO 8601, or null when the Date header is absent or not a date (as `parsed.date`). */
function isoDate(value: string | null | undefined): string | null {
  const time = value ? Date.parse(value) : Number.NaN;
  return Number.isNaN(time) ? null : new Date(time).toISOString();
}

function base64(bytes: Uint8Array): string {
  let binary = '';
  // In slices: spreading millions of arguments into one call would overflow the stack.
  for (let start = 0; start < bytes.length; start += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(start, start + 0x8000));
  }
  return btoa(binary);
}

function jsonBytes(value: unknown): number {
  return new TextEncoder().encode(JSON.stringify(value)).byteLength;
}

/**
 * Only the headers, read without a MIME parser, with `problem` saying why: what the page shows
 * beside the raw source when the message could not be parsed.
 */
function headersOnly(raw: Uint8Array, problem: string): MessageContent {
  const headers = rawHeaderFields(raw).map(({ name, value }) => ({ name, value: decoded(value) }));
  const first = (name: string) => headers.find((header) => header.name === name)?.value ?? null;
  // Without a parser an address header is shown whole, as one "address".
  const address = (name: string): ParsedAddress[] => {
    const value = first(name);
    return value === null ? [] : [{ name: '', address: value }];
  };
  return {
    headers,
    from: address('from'),
    to: address('to'),
    cc: address('cc'),
    replyTo: address('reply-to'),
    subject: first('subject'),
    date: isoDate(first('date')),
    messageId: first('message-id'),
    text: null,
    html: null,
    attachments: [],
    inlineImages: {},
    parseProblem: problem,
  };
}

function contentFromEmail(email: Email): MessageContent {
  const attachments = email.attachments.map((attachment) => {
    // With the default `arraybuffer` encoding, an ArrayBuffer (a Uint8Array for a calendar part),
    // never a string.
    const { content } = attachment;
    const bytes =
      content instanceof ArrayBuffer ? new Uint8Array(content) : (content as Uint8Array);
    const description: StoredAttachment = {
      filename: attachment.filename,
      contentType: attachment.mimeType,
      size: bytes.byteLength,
      contentId: attachment.contentId ?? null,
      disposition: attachment.disposition,
    };
    return { description, bytes };
  });
  return {
    headers: email.headers.map(
      ({ key, value }): HeaderField => ({ name: key, value: decoded(value) }),
    ),
    from: mailboxes(email.from),
    to: mailboxes(email.to),
    cc: mailboxes(email.cc),
    replyTo: mailboxes(email.replyTo),
    subject: email.subject ?? null,
    date: isoDate(email.date),
    messageId: email.messageId ?? null,
    text: email.text ?? null,
    html: email.html ?? null,
    attachments: attachments.map(({ description }) => description),
    inlineImages: inlineImages(
      attachments.map(({ description, bytes }) => ({
        ...description,
        base64: () => base64(bytes),
      })),
    ),
    parseProblem: null,
  };
}

/**
 * The content of a raw message, parsed with postal-mime (plain JavaScript on Web APIs, so it runs
 * on Workers): headers and subject with encoded words decoded, addresses, the text and HTML bodies
 * (decoded from quoted-printable or base64, in their charset), attachments described and `cid:`
 * images kept. Never rejects: a message too large to parse here, or one postal-mime refuses,
 * gives its headers only and a `parseProblem`, so it is still stored and shown.
 *
 * @example
 * ```ts
 * (await contentFromRaw(new TextEncoder().encode('Subject: =?utf-8?q?caf=C3=A9?=\r\n\r\nHi\r\n'))).subject;
 * // 'café'
 * ```
 */
export async function contentFromRaw(raw: Uint8Array): Promise<MessageContent> {
  if (raw.byteLength > MAX_PARSE_BYTES) {
    return headersOnly(
      raw,
      `The message is ${raw.byteLength} bytes, more than the ${MAX_PARSE_BYTES} bytes this inbox parses.`,
    );
  }
  let content: MessageContent;
  try {
    content = contentFromEmail(await PostalMime.parse(raw, PARSER_LIMITS));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return headersOnly(raw, `The message could not be parsed: ${reason}`);
  }
  if (jsonBytes([content.text, content.html]) > MAX_BODIES_JSON_BYTES) {
    return headersOnly(raw, 'The text and HTML bodies are too large to keep beside the message.');
  }
  return content;
}
