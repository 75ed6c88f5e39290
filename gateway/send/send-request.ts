// Validates a send API request body strictly and turns it into what the composer and the queue
// take: parsed mailboxes, the envelope recipients, the composed parts or the raw message.
import addressparser from 'nodemailer/lib/addressparser';
import type { SendAddress } from '../../functions/sdk/send-message.ts';
import { parsePathArgument } from '../smtp/path.ts';
import { SendApiError } from './send-error.ts';

export interface Mailbox {
  readonly name: string;
  readonly address: string;
}

export interface Attachment {
  readonly filename: string;
  readonly contentType: string | undefined;
  readonly content: Buffer;
  readonly contentId: string | undefined;
  readonly disposition: 'attachment' | 'inline';
}

/** The parts MailComposer builds the message from. */
export interface ComposedParts {
  readonly to: readonly Mailbox[];
  readonly cc: readonly Mailbox[];
  readonly replyTo: readonly Mailbox[];
  readonly subject: string;
  readonly text: string | undefined;
  readonly html: string | undefined;
  readonly attachments: readonly Attachment[];
  readonly headers: readonly (readonly [string, string])[];
}

export interface ValidSend {
  /** The envelope sender and, composed, the From field. */
  readonly from: Mailbox;
  /** The envelope recipients (to, cc, bcc), each once. */
  readonly recipients: readonly string[];
  /** Null with `raw`. */
  readonly composed: ComposedParts | null;
  /** The message as given (line ends made CRLF); null when composed. */
  readonly raw: Buffer | null;
}

export interface SendLimits {
  /** MXHOOK_MAX_RECIPIENTS: recipients of one message at most, as over SMTP. */
  readonly maxRecipients: number;
}

/** Members of a signed request that are its signature's claims, not the message. */
const CLAIMS: ReadonlySet<string> = new Set(['v', 'id', 'timestamp', 'audience']);
const MEMBERS: ReadonlySet<string> = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'replyTo',
  'subject',
  'text',
  'html',
  'attachments',
  'headers',
  'raw',
]);
const COMPOSING = ['subject', 'text', 'html', 'attachments', 'headers', 'replyTo'] as const;
/**
 * Fields the API writes itself from the request's members (or, like DKIM-Signature and Received,
 * that only an MTA writes): given as `headers`, they would duplicate or contradict them.
 */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'from',
  'sender',
  'to',
  'cc',
  'bcc',
  'reply-to',
  'subject',
  'date',
  'message-id',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'content-disposition',
  'dkim-signature',
  'return-path',
  'received',
]);
// RFC 5322 §3.6.8: a field name is printable ASCII but the colon.
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]{1,76}$/;
// No CR or LF (a new header line, or the body, could follow) nor other controls but tab.
const UNSAFE_TEXT = /[\x00-\x08\x0a-\x1f\x7f]/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * @throws SendApiError ERR_BODY_MALFORMED, ERR_FIELD_INVALID, ERR_ADDRESS_INVALID, ERR_HEADER_INVALID.
 */
export function validateSend(body: unknown, limits: SendLimits): ValidSend {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new SendApiError('ERR_BODY_MALFORMED', 'the body must be a JSON object');
  const request = body as Record<string, unknown>;
  for (const name of Object.keys(request)) {
    if (!MEMBERS.has(name) && !CLAIMS.has(name))
      throw new SendApiError('ERR_FIELD_INVALID', `${name}: is not a member of a send request`);
  }
  const from = oneMailbox(request.from, 'from');
  const to = mailboxes(request.to, 'to');
  const cc = mailboxes(request.cc, 'cc');
  const bcc = mailboxes(request.bcc, 'bcc');
  const recipients = uniqueAddresses([...to, ...cc, ...bcc]);
  if (recipients.length === 0)
    throw new SendApiError(
      'ERR_FIELD_INVALID',
      'to: at least one recipient (to, cc or bcc) is needed',
    );
  if (recipients.length > limits.maxRecipients) {
    throw new SendApiError(
      'ERR_FIELD_INVALID',
      `to: ${recipients.length} recipients; at most ${limits.maxRecipients} (MXHOOK_MAX_RECIPIENTS)`,
    );
  }
  if (request.raw !== undefined) {
    const composing = COMPOSING.find((name) => request[name] !== undefined);
    if (composing !== undefined)
      throw new SendApiError('ERR_FIELD_INVALID', `${composing}: cannot be given with raw`);
    return { from, recipients, composed: null, raw: rawMessage(request.raw) };
  }
  const text = optionalText(request.text, 'text');
  const html = optionalText(request.html, 'html');
  if (text === undefined && html === undefined)
    throw new SendApiError('ERR_FIELD_INVALID', 'text: give text, html, or both (or raw)');
  return {
    from,
    recipients,
    raw: null,
    composed: {
      to,
      cc,
      replyTo: mailboxes(request.replyTo, 'replyTo'),
      subject: headerText(request.subject ?? '', 'subject', 'ERR_FIELD_INVALID'),
      text,
      html,
      attachments: attachments(request.attachments),
      headers: extraHeaders(request.headers),
    },
  };
}

function oneMailbox(value: unknown, where: string): Mailbox {
  if (value === undefined) throw new SendApiError('ERR_FIELD_INVALID', `${where}: is required`);
  const list = mailboxes(value, where);
  if (list.length !== 1 || Array.isArray(value))
    throw new SendApiError('ERR_ADDRESS_INVALID', `${where}: must be exactly one address`);
  return list[0]!;
}

function mailboxes(value: unknown, where: string): Mailbox[] {
  if (value === undefined) return [];
  const entries = Array.isArray(value) ? value : [value];
  return entries.flatMap((entry: unknown, index) =>
    mailboxesOf(entry as SendAddress, Array.isArray(value) ? `${where}[${index}]` : where),
  );
}

function mailboxesOf(entry: SendAddress, where: string): Mailbox[] {
  if (typeof entry === 'object' && entry !== null) {
    const { name = '', address } = entry as { name?: unknown; address?: unknown };
    if (typeof name !== 'string' || typeof address !== 'string')
      throw new SendApiError(
        'ERR_ADDRESS_INVALID',
        `${where}: must be { name?, address } of strings`,
      );
    return [
      {
        name: headerText(name, `${where}.name`, 'ERR_ADDRESS_INVALID'),
        address: mailbox(address, where),
      },
    ];
  }
  if (typeof entry !== 'string')
    throw new SendApiError(
      'ERR_ADDRESS_INVALID',
      `${where}: must be an address string or { name, address }`,
    );
  if (UNSAFE_TEXT.test(entry))
    throw new SendApiError(
      'ERR_ADDRESS_INVALID',
      `${where}: contains a line break or control character`,
    );
  const parsed = addressparser(entry);
  if (parsed.length !== 1 || 'group' in parsed[0]!)
    throw new SendApiError(
      'ERR_ADDRESS_INVALID',
      `${where}: must be one address (no lists or groups)`,
    );
  const [only] = parsed as { name: string; address: string }[];
  return [{ name: only!.name, address: mailbox(only!.address, where) }];
}

/** A mailbox `local@domain` by the SMTP grammar the gateway receives with (RFC 5321 §4.1.2). */
function mailbox(address: string, where: string): string {
  const checked = parsePathArgument(`TO:<${address}>`, 'TO');
  if (!checked.ok || !checked.path.address.includes('@'))
    throw new SendApiError(
      'ERR_ADDRESS_INVALID',
      `${where}: ${JSON.stringify(address)} is not an address`,
    );
  return checked.path.address;
}

function uniqueAddresses(list: readonly Mailbox[]): string[] {
  const seen = new Map<string, string>();
  for (const { address } of list) {
    const key = address.toLowerCase();
    if (!seen.has(key)) seen.set(key, address);
  }
  return [...seen.values()];
}

function optionalText(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw new SendApiError('ERR_FIELD_INVALID', `${where}: must be a string`);
  return value;
}

/** Text that goes into a header field: one line. */
function headerText(
  value: unknown,
  where: string,
  code: 'ERR_FIELD_INVALID' | 'ERR_ADDRESS_INVALID' | 'ERR_HEADER_INVALID',
): string {
  if (typeof value !== 'string')
    throw new SendApiError('ERR_FIELD_INVALID', `${where}: must be a string`);
  if (UNSAFE_TEXT.test(value))
    throw new SendApiError(code, `${where}: contains a line break or control character`);
  return value;
}

function attachments(value: unknown): Attachment[] {
  if (value === undefined) return [];
  if (!Array.isArray(value))
    throw new SendApiError('ERR_FIELD_INVALID', 'attachments: must be an array');
  return value.map((entry: unknown, index) => {
    const where = `attachments[${index}]`;
    if (typeof entry !== 'object' || entry === null)
      throw new SendApiError('ERR_FIELD_INVALID', `${where}: must be an object`);
    const { filename, contentType, content, contentId, disposition } = entry as Record<
      string,
      unknown
    >;
    if (typeof content !== 'string' || !BASE64.test(content.replace(/\s+/g, '')))
      throw new SendApiError('ERR_FIELD_INVALID', `${where}.content: must be base64`);
    if (disposition !== undefined && disposition !== 'attachment' && disposition !== 'inline')
      throw new SendApiError(
        'ERR_FIELD_INVALID',
        `${where}.disposition: must be attachment or inline`,
      );
    return {
      filename: headerText(filename, `${where}.filename`, 'ERR_FIELD_INVALID'),
      contentType:
        contentType === undefined
          ? undefined
          : headerText(contentType, `${where}.contentType`, 'ERR_FIELD_INVALID'),
      content: Buffer.from(content, 'base64'),
      contentId:
        contentId === undefined
          ? undefined
          : headerText(contentId, `${where}.contentId`, 'ERR_FIELD_INVALID'),
      disposition: disposition ?? 'attachment',
    };
  });
}

function extraHeaders(value: unknown): [string, string][] {
  if (value === undefined) return [];
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new SendApiError('ERR_FIELD_INVALID', 'headers: must be an object of name: value');
  return Object.entries(value).map(([name, text]) => {
    const where = `headers.${name}`;
    if (!FIELD_NAME.test(name))
      throw new SendApiError(
        'ERR_HEADER_INVALID',
        `${where}: is not a header field name (RFC 5322 §3.6.8)`,
      );
    if (RESERVED_HEADERS.has(name.toLowerCase()))
      throw new SendApiError(
        'ERR_HEADER_INVALID',
        `${where}: is set by the send API from the request`,
      );
    return [name, headerText(text, where, 'ERR_HEADER_INVALID')];
  });
}

/** The raw message, with its line ends made CRLF; it must have a header section. */
function rawMessage(value: unknown): Buffer {
  if (typeof value !== 'string' || !BASE64.test(value.replace(/\s+/g, '')))
    throw new SendApiError('ERR_FIELD_INVALID', 'raw: must be the message in base64');
  // latin1 keeps every byte as one character, so only the line ends change.
  const text = Buffer.from(value, 'base64').toString('latin1').replace(/\r?\n/g, '\r\n');
  const end = text.indexOf('\r\n\r\n');
  if (end <= 0 || !/^from[ \t]*:/im.test(text.slice(0, end)))
    throw new SendApiError(
      'ERR_FIELD_INVALID',
      'raw: must be a message with a header section and a From field',
    );
  if (/^bcc[ \t]*:/im.test(text.slice(0, end)))
    throw new SendApiError(
      'ERR_HEADER_INVALID',
      'raw: carries a Bcc field, which would reach every recipient',
    );
  return Buffer.from(text, 'latin1');
}
