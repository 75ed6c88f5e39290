// Turns a verified data call into what the inbox stores: the record, its list summary, the raw bytes.
import type { DataRequest, ParsedAddress, ParsedMessage } from '../sdk/index.ts';
import { type AuthInfo, authInfo, authSummary } from './auth-info.ts';
import { type HeaderField, rawHeaderFields } from './raw-headers.ts';

/** An attachment as stored: its description, not its bytes (those stay in the raw message). */
export interface StoredAttachment {
  readonly filename: string | null;
  readonly contentType: string;
  readonly size: number;
  readonly contentId: string | null;
  readonly disposition: string | null;
}

/** Everything the inbox keeps about one message, besides its raw bytes. */
/** The parsed fields kept as the gateway sent them. */
type ParsedFields = Pick<
  ParsedMessage,
  'from' | 'to' | 'cc' | 'replyTo' | 'subject' | 'date' | 'messageId' | 'text' | 'html'
>;

export interface StoredMessage extends ParsedFields {
  readonly id: string;
  /** ISO 8601, when the Worker stored it. */
  readonly receivedAt: string;
  readonly size: number;
  readonly envelope: { readonly mailFrom: string; readonly rcptTo: readonly string[] };
  readonly client: {
    readonly address: string;
    readonly hostname: string | null;
    readonly helo: string | null;
    readonly tls: string | null;
  };
  readonly headers: readonly HeaderField[];
  readonly attachments: readonly StoredAttachment[];
  readonly auth: AuthInfo;
  /** `cid:` images of the HTML body as `data:` URIs, so they show without any remote load. */
  readonly inlineImages: Readonly<Record<string, string>>;
  /** Whether the raw message was stored (the gateway sends it unless MXHOOK_PAYLOAD=parsed). */
  readonly hasRaw: boolean;
}

/** The one-line view of a message in the list; kept as KV metadata, so listing reads no values. */
export interface MessageSummary {
  readonly receivedAt: string;
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly date: string | null;
  readonly size: number;
  readonly auth: string | null;
}

/** KV metadata is at most 1024 bytes of JSON. */
const MAX_METADATA_BYTES = 1024;
/** The most `cid:` image bytes (base64) kept with the record. */
const MAX_INLINE_IMAGE_CHARS = 2 * 1024 * 1024;
const INLINE_IMAGE_TYPES = new Set(['image/png', 'image/gif', 'image/jpeg', 'image/webp']);

function decodeBase64(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

/** `Name <address>`, or the bare address. */
export function formatAddress(address: ParsedAddress): string {
  return address.name === '' ? address.address : `${address.name} <${address.address}>`;
}

function inlineImages(parsed: ParsedMessage | null | undefined): Record<string, string> {
  const images: Record<string, string> = {};
  let budget = MAX_INLINE_IMAGE_CHARS;
  for (const attachment of parsed?.attachments ?? []) {
    const cid = attachment.contentId?.replace(/^<|>$/g, '');
    const type = attachment.contentType.toLowerCase();
    if (!cid || !INLINE_IMAGE_TYPES.has(type) || attachment.content.length > budget) continue;
    budget -= attachment.content.length;
    images[cid] = `data:${type};base64,${attachment.content}`;
  }
  return images;
}

// Without `parsed` (MXHOOK_PAYLOAD=raw) the headers still give the list its from, to and subject.
function fromRawHeaders(headers: readonly HeaderField[]): Partial<ParsedMessage> {
  const first = (name: string) => headers.find((header) => header.name === name)?.value ?? null;
  const address = (name: string): ParsedAddress[] => {
    const value = first(name);
    return value === null ? [] : [{ name: '', address: value }];
  };
  const date = first('date');
  const time = date === null ? Number.NaN : Date.parse(date);
  return {
    from: address('from'),
    to: address('to'),
    cc: address('cc'),
    replyTo: address('reply-to'),
    subject: first('subject'),
    date: Number.isNaN(time) ? null : new Date(time).toISOString(),
    messageId: first('message-id'),
  };
}

function truncate(text: string, chars: number): string {
  return text.length <= chars ? text : `${text.slice(0, chars - 1)}…`;
}

/** Shortens the summary's free text until its JSON fits in KV metadata. */
export function fitSummary(summary: MessageSummary): MessageSummary {
  let limit = 300;
  let fitted = summary;
  const bytes = (value: MessageSummary) =>
    new TextEncoder().encode(JSON.stringify(value)).byteLength;
  while (bytes(fitted) > MAX_METADATA_BYTES && limit > 8) {
    fitted = {
      ...summary,
      from: truncate(summary.from, limit),
      to: truncate(summary.to, limit),
      subject: truncate(summary.subject, limit),
      auth: summary.auth === null ? null : truncate(summary.auth, limit),
    };
    limit = Math.floor(limit / 2);
  }
  return fitted;
}

/** What {@link buildMessage} returns: the record, the list summary and the raw bytes (or null). */
export interface BuiltMessage {
  readonly record: StoredMessage;
  readonly summary: MessageSummary;
  readonly raw: Uint8Array | null;
}

/**
 * Builds the stored form of a data call. Pure apart from decoding base64: the id and the time
 * come from the caller.
 *
 * @example
 * ```ts
 * const { record, summary, raw } = buildMessage(call, newMessageId(), new Date());
 * ```
 */
export function buildMessage(
  call: DataRequest,
  id: string,
  receivedAt: Date,
  recipients: readonly string[] = call.envelope.rcptTo.map((rcpt) => rcpt.address),
): BuiltMessage {
  const raw = call.message.raw === undefined ? null : decodeBase64(call.message.raw);
  const parsed = call.message.parsed;
  const headers = parsed?.headers ?? (raw === null ? [] : rawHeaderFields(raw));
  const fields = parsed ?? fromRawHeaders(headers);
  const auth = authInfo(headers);
  const session = call.session;
  const record: StoredMessage = {
    id,
    receivedAt: receivedAt.toISOString(),
    size: call.message.size,
    envelope: { mailFrom: call.envelope.mailFrom?.address ?? '', rcptTo: [...recipients] },
    client: {
      address: session.client.address,
      hostname: session.client.hostname ?? null,
      helo: session.helo,
      tls: session.tls === null ? null : `${session.tls.version} ${session.tls.cipher}`,
    },
    from: fields.from ?? [],
    to: fields.to ?? [],
    cc: fields.cc ?? [],
    replyTo: fields.replyTo ?? [],
    subject: fields.subject ?? null,
    date: fields.date ?? null,
    messageId: fields.messageId ?? null,
    text: parsed?.text ?? null,
    html: parsed?.html ?? null,
    headers,
    attachments: (parsed?.attachments ?? []).map(
      ({ content: _content, ...description }) => description,
    ),
    auth,
    inlineImages: inlineImages(parsed),
    hasRaw: raw !== null,
  };
  const from = record.from[0];
  const summary = fitSummary({
    receivedAt: record.receivedAt,
    from: from === undefined ? record.envelope.mailFrom || '(no sender)' : formatAddress(from),
    to: (record.to.length > 0
      ? record.to.map((address) => address.address)
      : record.envelope.rcptTo
    ).join(', '),
    subject: record.subject ?? '',
    date: record.date,
    size: record.size,
    auth: authSummary(auth),
  });
  return { record, summary, raw };
}
