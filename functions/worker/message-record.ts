// Turns a verified data call into what the inbox stores: the record, its list summary, the raw bytes.
import {
  type Authentication,
  type DataRequest,
  type ParsedAddress,
  type ParsedMessage,
  rawMessage,
  type VerdictSummary,
  verdictSummary,
} from '../sdk/index.ts';
import { inlineImages } from './inline-images.ts';
import { contentFromRaw } from './parse-raw.ts';
import type { HeaderField } from './raw-headers.ts';

/** An attachment as stored: its description, not its bytes (those stay in the raw message). */
export interface StoredAttachment {
  readonly filename: string | null;
  readonly contentType: string;
  readonly size: number;
  readonly contentId: string | null;
  readonly disposition: string | null;
}

/** The parsed fields kept as the gateway sent them. */
type ParsedFields = Pick<
  ParsedMessage,
  'from' | 'to' | 'cc' | 'replyTo' | 'subject' | 'date' | 'messageId' | 'text' | 'html'
>;

/**
 * What the inbox shows of a message's content: the gateway's `parsed`, or the Worker's own parse
 * of `raw` (parse-raw.ts) when the gateway sent none.
 */
export interface MessageContent extends ParsedFields {
  readonly headers: readonly HeaderField[];
  readonly attachments: readonly StoredAttachment[];
  /** `cid:` images of the HTML body as `data:` URIs, so they show without any remote load. */
  readonly inlineImages: Readonly<Record<string, string>>;
  /**
   * Why the bodies and attachments could not be read (too large, or not parsable), for the page to
   * say so and show the raw source instead; null when they were. Absent from records stored
   * before the Worker parsed raw messages, which reads the same as null.
   */
  readonly parseProblem: string | null;
}

/** Everything the inbox keeps about one message, besides its raw bytes. */
export interface StoredMessage extends MessageContent {
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
  /** Whether the raw message was stored (the gateway sends it unless MXHOOK_PAYLOAD=parsed). */
  readonly hasRaw: boolean;
  /**
   * The gateway's verdicts from the signed call, the only ones the inbox shows: never what the
   * message's own headers claim. Absent when the gateway ran no check, and from records stored
   * before the inbox kept them; both read as "not checked".
   */
  readonly authentication?: Authentication;
}

/** The one-line view of a message in the list; kept as KV metadata, so listing reads no values. */
export interface MessageSummary {
  readonly receivedAt: string;
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly date: string | null;
  readonly size: number;
  /** One word per check for the list's chips; absent like {@link StoredMessage.authentication}. */
  readonly verdicts?: VerdictSummary;
}

/** KV metadata is at most 1024 bytes of JSON. */
const MAX_METADATA_BYTES = 1024;

/** `Name <address>`, or the bare address. */
export function formatAddress(address: ParsedAddress): string {
  return address.name === '' ? address.address : `${address.name} <${address.address}>`;
}

/** The content as the gateway parsed it. */
function contentFromParsed(parsed: ParsedMessage): MessageContent {
  const { headers, from, to, cc, replyTo, subject, date, messageId, text, html, attachments } =
    parsed;
  return {
    headers,
    from,
    to,
    cc,
    replyTo,
    subject,
    date,
    messageId,
    text,
    html,
    attachments: attachments.map(({ content: _content, ...description }) => description),
    // A message sent by reference has its attachments described only: no images to keep.
    inlineImages: inlineImages(
      attachments.flatMap(({ content, ...attachment }) =>
        content === undefined ? [] : [{ ...attachment, base64: () => content }],
      ),
    ),
    parseProblem: null,
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
 * Builds the stored form of a data call. The id and the time come from the caller. Without the
 * gateway's `parsed` (MXHOOK_PAYLOAD=raw, or the gateway could not parse the message), the raw
 * message is parsed here, once, at receipt: the list's summary is written now and needs the decoded
 * subject and sender, and every later view then only reads JSON, instead of spending the Worker's
 * CPU time on a full MIME parse each time the message is opened. The record keeps the bodies and
 * describes the attachments (their bytes stay in the raw message), so it adds about the size of
 * the bodies to what KV holds. Never throws for a message it cannot parse: that becomes
 * `parseProblem`.
 *
 * @example
 * ```ts
 * const { record, summary, raw } = await buildMessage(call, newMessageId(), new Date());
 * ```
 */
export async function buildMessage(
  call: DataRequest,
  id: string,
  receivedAt: Date,
  recipients: readonly string[] = call.envelope.rcptTo.map((rcpt) => rcpt.address),
): Promise<BuiltMessage> {
  // Inline or, for a large message, fetched from the gateway's signed URL (message.rawRef).
  const { message } = call;
  const raw =
    message.raw === undefined && message.rawRef === undefined ? null : await rawMessage(call);
  const parsed = call.message.parsed;
  // `raw` is always sent when `parsed` is not (wire.ts), so the empty message only satisfies the types.
  const content = parsed
    ? contentFromParsed(parsed)
    : await contentFromRaw(raw ?? new Uint8Array());
  const session = call.session;
  const record: StoredMessage = {
    ...content,
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
    hasRaw: raw !== null,
    ...(call.authentication === undefined ? {} : { authentication: call.authentication }),
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
    ...(record.authentication === undefined ? {} : { verdicts: verdictSummary(record) }),
  });
  return { record, summary, raw };
}
