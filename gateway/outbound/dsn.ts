// Delivery status notifications (RFC 3464): the message telling an envelope sender that some
// recipients failed, are delayed, or (when asked with NOTIFY=SUCCESS) were delivered. Whether one
// is due is bounce-policy.ts's decision; this only builds it.
//
// The MIME tree is built by nodemailer's MimeNode; what is assembled here is the text of the
// parts: the human-readable explanation and the `message/delivery-status` fields, which are
// plain `Name: value` lines (RFC 3464 §2.1), not MIME structure.
import MimeNode from 'nodemailer/lib/mime-node';
import { decodeXtext } from '../smtp/xtext.ts';
import type { MessageRecord, RecipientRequest } from './queue.ts';

/** RFC 3463 X.4.7: the message's lifetime ran out before delivery. */
export const EXPIRED_STATUS = '4.4.7';
/** RFC 7505 §4.3 (X.1.10): the recipient's domain publishes a null MX, it takes no mail. */
export const NULL_MX_STATUS = '5.1.10';

export type DsnAction = 'failed' | 'delayed' | 'delivered';

export interface DsnRecipient {
  /** The recipient as it was enqueued: its address and ORCPT. */
  readonly recipient: RecipientRequest;
  readonly action: DsnAction;
  /**
   * The RFC 3463 enhanced status code: `EXPIRED_STATUS`, `NULL_MX_STATUS`, … Absent: the one in
   * `reply` (`statusFromReply`), else the action's class with no detail (`5.0.0`, `4.0.0`, `2.0.0`).
   */
  readonly status?: string;
  /** The last reply or error, as a line for people (`550 5.1.1 no such user`). */
  readonly reply: string;
  /**
   * The server that gave `reply`, when a server did: then `reply` is its SMTP reply and is also
   * reported as `Diagnostic-Code: smtp; …`. Absent for our own errors (no such domain, timeout).
   */
  readonly remoteMta?: string;
  /** When the recipient was last tried, ms since the epoch. */
  readonly lastAttemptAt?: number;
  /** For `delayed`: when the queue gives up on it (RFC 3464 §2.3.9). */
  readonly willRetryUntil?: number;
}

export interface DsnInput {
  /** This MTA's host name: Reporting-MTA, and the From domain. */
  readonly hostname: string;
  readonly message: Pick<
    MessageRecord,
    'sender' | 'envelopeId' | 'returnContent' | 'createdAt' | 'eightBit'
  >;
  /** The original message's bytes, in pieces, as queued. */
  readonly body: readonly Buffer[];
  readonly recipients: readonly DsnRecipient[];
  /** The notice's Date, ms since the epoch. */
  readonly now: number;
}

export interface Dsn {
  /** Always the null sender (RFC 3461 §6.2): a notice that fails is never itself reported. */
  readonly sender: '';
  /** The original envelope sender. */
  readonly recipient: string;
  readonly body: Buffer;
  /**
   * Whether the notice must be sent as 8BITMIME: a returned full message is carried as-is (a
   * message/rfc822 part can have no other transfer encoding), so it is 8-bit if the original was.
   */
  readonly eightBit: boolean;
  /** The worst news it carries (failed, then delayed, then delivered): its subject's. */
  readonly action: DsnAction;
}

const SUBJECTS: Readonly<Record<DsnAction, string>> = {
  failed: 'Undelivered Mail Returned to Sender',
  delayed: 'Delivery Status Notification (Delay)',
  delivered: 'Delivery Status Notification (Success)',
};

const INTRODUCTIONS: Readonly<Record<DsnAction, string>> = {
  failed: 'Your message could not be delivered to these recipients; the mail system gave up:',
  delayed:
    'Your message has not been delivered to these recipients yet. The mail system keeps trying; you do not need to send it again:',
  delivered: 'Your message was delivered to these recipients:',
};

/** In the subject and the text, the worst news comes first. */
const SEVERITY: readonly DsnAction[] = ['failed', 'delayed', 'delivered'];

export async function buildDsn(input: DsnInput): Promise<Dsn> {
  const { message, recipients, hostname } = input;
  if (message.sender === '') {
    throw new RangeError('a message from the null sender is never reported on');
  }
  const worst = SEVERITY.find((action) => recipients.some((r) => r.action === action));
  if (worst === undefined) throw new RangeError('a notice needs at least one recipient');
  const returnFull = message.returnContent === 'full';
  const original = Buffer.concat(input.body);

  const root = new MimeNode('multipart/report; report-type=delivery-status', {
    newline: 'win',
    hostname,
  });
  root.setHeader({
    From: `Mail Delivery System <MAILER-DAEMON@${hostname}>`,
    To: message.sender,
    Subject: SUBJECTS[worst],
    Date: rfc5322Date(input.now),
    // RFC 3834 §5: automatic responders and filters leave it alone.
    'Auto-Submitted': 'auto-replied',
  });
  root.createChild('text/plain; charset=utf-8').setContent(humanText(input, returnFull));
  root.createChild('message/delivery-status').setContent(deliveryStatus(input));
  if (returnFull) root.createChild('message/rfc822').setContent(original);
  // A string, so that ASCII headers go out 7bit and others quoted-printable with a charset.
  else root.createChild('text/rfc822-headers').setContent(headerSection(original).toString());
  return {
    sender: '',
    recipient: message.sender,
    body: await root.build(),
    eightBit: returnFull && message.eightBit,
    action: worst,
  };
}

/**
 * The enhanced status code in an SMTP reply (`550 5.1.1 no such user` → `5.1.1`), else the
 * class of its basic code (`550 …` → `5.0.0`), else null (not an SMTP reply).
 */
export function statusFromReply(reply: string): string | null {
  const match = /^([245])\d\d[ -](?:([245]\.\d{1,3}\.\d{1,3})\b)?/.exec(reply);
  if (match === null) return null;
  return match[2] ?? `${match[1]}.0.0`;
}

function humanText(input: DsnInput, returnFull: boolean): string {
  const paragraphs = [`This is the mail system at host ${input.hostname}.`];
  for (const action of SEVERITY) {
    const reported = input.recipients.filter((r) => r.action === action);
    if (reported.length === 0) continue;
    const lines = reported.map(({ recipient, remoteMta, reply }) => {
      const said = remoteMta === undefined ? '' : `host ${remoteMta} said: `;
      return `<${recipient.address}>: ${said}${oneLine(reply)}`;
    });
    paragraphs.push(INTRODUCTIONS[action], lines.join('\n'));
  }
  paragraphs.push(
    returnFull
      ? 'Your message is attached.'
      : 'The header of your message is attached; its content is not.',
  );
  return `${paragraphs.join('\n\n')}\n`;
}

/** RFC 3464 §2.1: the per-message fields, then one block of fields per recipient. */
function deliveryStatus({ hostname, message, recipients }: DsnInput): string {
  const perMessage = [field('Reporting-MTA', `dns; ${hostname}`)];
  if (message.envelopeId !== null) {
    perMessage.push(
      field('Original-Envelope-Id', decodeXtext(message.envelopeId) ?? message.envelopeId),
    );
  }
  perMessage.push(field('Arrival-Date', rfc5322Date(message.createdAt)));
  const blocks = [perMessage, ...recipients.map(recipientFields)];
  return `${blocks.map((lines) => lines.join('\r\n')).join('\r\n\r\n')}\r\n`;
}

function recipientFields(reported: DsnRecipient): string[] {
  const { recipient } = reported;
  const lines = [field('Final-Recipient', `rfc822; ${recipient.address}`)];
  // ORCPT is `addr-type;xtext` (RFC 3461 §4.2); the field carries it decoded (RFC 3464 §2.3.1).
  const orcpt = recipient.originalRecipient?.match(/^([^;]+);(.*)$/);
  if (orcpt) {
    lines.push(
      field('Original-Recipient', `${orcpt[1]!.trim()}; ${decodeXtext(orcpt[2]!) ?? orcpt[2]!}`),
    );
  }
  lines.push(field('Action', reported.action), field('Status', statusOf(reported)));
  if (reported.remoteMta !== undefined) {
    lines.push(
      field('Remote-MTA', `dns; ${reported.remoteMta}`),
      field('Diagnostic-Code', `smtp; ${oneLine(reported.reply)}`),
    );
  }
  if (reported.lastAttemptAt !== undefined) {
    lines.push(field('Last-Attempt-Date', rfc5322Date(reported.lastAttemptAt)));
  }
  if (reported.willRetryUntil !== undefined) {
    lines.push(field('Will-Retry-Until', rfc5322Date(reported.willRetryUntil)));
  }
  return lines;
}

const STATUS_CLASS: Readonly<Record<DsnAction, string>> = {
  failed: '5.0.0',
  delayed: '4.0.0',
  delivered: '2.0.0',
};

function statusOf({ status, reply, action }: DsnRecipient): string {
  return status ?? statusFromReply(reply) ?? STATUS_CLASS[action];
}

/** Replies can span lines; a field and a list item each take one. */
function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/**
 * A `Name: value` line, folded at spaces to stay near 78 characters and always under 998
 * (RFC 5322 §2.1.1). The delivery-status part is 7-bit text (RFC 3464 §2.1; non-ASCII needs
 * message/global-delivery-status, RFC 6533), so control and non-ASCII characters in a value
 * (a remote's reply, an ORCPT) become `?`.
 */
function field(name: string, value: string): string {
  const clean = oneLine(value).replace(/[^\x20-\x7e]/g, '?');
  const words = clean.split(' ').flatMap((word) => word.match(/.{1,900}/g) ?? []);
  const lines: string[] = [];
  let line = `${name}:`;
  for (const word of words) {
    if (line.length + 1 + word.length > 78 && line.trim().length > name.length + 1) {
      lines.push(line);
      line = '';
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines.join('\r\n');
}

/** The original's header section, its final empty line included; all of it if it has no body. */
function headerSection(original: Buffer): Buffer {
  const end = original.indexOf('\r\n\r\n');
  return end === -1 ? original : original.subarray(0, end + 4);
}

/** RFC 5322 §3.3 date-time, in UTC: `Sun, 06 Dec 2026 16:10:13 +0000`. */
function rfc5322Date(ms: number): string {
  return new Date(ms).toUTCString().replace(/GMT$/, '+0000');
}
