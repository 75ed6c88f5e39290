// Whether an automatic reply (a vacation notice, an acknowledgement) may be sent to a message, by
// RFC 3834's rules, and the header fields that thread the reply to it. Pure and free of Node
// APIs: the gateway's `reply` answers and a Worker replying through the send API decide alike.

/** A header field as the wire's `parsed.headers` has it; names are compared in any case. */
export interface AutoReplyHeader {
  readonly name: string;
  readonly value: string;
}

export interface AutoReplyInput {
  /** The envelope sender (MAIL FROM, RFC 3834 §4: not From); `""` is the null sender. */
  readonly sender: string;
  readonly headers: readonly AutoReplyHeader[];
  /** Our own addresses (the recipients a reply would come from): replying to them is a loop. */
  readonly ownAddresses?: readonly string[];
}

export type AutoReplySkip =
  /** The null sender: a bounce or another automatic message (RFC 3834 §2). */
  | 'null-sender'
  /** `Auto-Submitted` other than `no` (RFC 3834 §5). */
  | 'auto-submitted'
  /** `Precedence: bulk`, `list` or `junk` (RFC 3834 §2, long-standing practice). */
  | 'bulk'
  /** A mailing list's fields (List-Id, RFC 2919; List-Unsubscribe and the rest, RFC 2369). */
  | 'mailing-list'
  /** Sender asks not to get automatic answers (`X-Auto-Response-Suppress`, Microsoft's). */
  | 'suppressed'
  /** A mailbox of a mail system or list manager (mailer-daemon, postmaster, owner-…, …-request). */
  | 'system-sender'
  /** The sender is one of our own addresses. */
  | 'own-address';

export type AutoReplyDecision =
  | { readonly reply: true }
  | { readonly reply: false; readonly skip: AutoReplySkip };

const LIST_FIELDS: ReadonlySet<string> = new Set([
  'list-id',
  'list-unsubscribe',
  'list-subscribe',
  'list-post',
  'list-help',
  'list-owner',
  'list-archive',
]);

// vacation(1)'s list (mailer-daemon, postmaster, owner-…, …-request) plus the mailboxes that
// announce they read nothing (no-reply) and list managers.
const SYSTEM_LOCAL_PART =
  /^(?:mailer-daemon|mailer|postmaster|listserv|majordomo|(?:no|do-?not)-?reply|owner-.*|.*-(?:request|owner|bounces?))$/i;

/**
 * Whether an automatic reply to this message may be sent; if not, which rule says no. The "at most
 * one reply per sender within a window" rule needs state and is the sender's to keep (the gateway
 * keeps it in its queue).
 *
 * @example
 * ```ts
 * const decision = autoReplyDecision({
 *   sender: call.envelope.mailFrom?.address ?? '',
 *   headers: call.message.parsed?.headers ?? [],
 *   ownAddresses: call.envelope.rcptTo.map((rcpt) => rcpt.address),
 * });
 * if (decision.reply) await sendVacationNotice(call);
 * ```
 */
export function autoReplyDecision(input: AutoReplyInput): AutoReplyDecision {
  const skip = skipReason(input);
  return skip === null ? { reply: true } : { reply: false, skip };
}

function skipReason({ sender, headers, ownAddresses = [] }: AutoReplyInput): AutoReplySkip | null {
  if (sender === '') return 'null-sender';
  for (const { name, value } of headers) {
    const field = name.trim().toLowerCase();
    const token = firstToken(value);
    if (field === 'auto-submitted' && token !== 'no') return 'auto-submitted';
    if (field === 'precedence' && ['bulk', 'list', 'junk'].includes(token)) return 'bulk';
    if (LIST_FIELDS.has(field)) return 'mailing-list';
    if (field === 'x-auto-response-suppress' && /\b(?:all|oof|autoreply)\b/i.test(value)) {
      return 'suppressed';
    }
  }
  const at = sender.lastIndexOf('@');
  if (SYSTEM_LOCAL_PART.test(at === -1 ? sender : sender.slice(0, at))) return 'system-sender';
  const lower = sender.toLowerCase();
  if (ownAddresses.some((address) => address.toLowerCase() === lower)) return 'own-address';
  return null;
}

/** The first word of a field value, lower-case, without parameters or comments. */
function firstToken(value: string): string {
  return (
    value
      .replace(/\([^)]*\)/g, ' ')
      .trim()
      .split(/[\s;]/, 1)[0] ?? ''
  ).toLowerCase();
}

export interface ReplyThreading {
  readonly subject: string;
  /** Absent when the original had no Message-ID. */
  readonly inReplyTo?: string;
  readonly references?: string;
}

/**
 * The reply's Subject (`Re: ` once, RFC 5322 §3.6.5) and its In-Reply-To and References (the
 * original's References, else its In-Reply-To, then its Message-ID; RFC 5322 §3.6.4).
 */
export function replyThreading(original: {
  readonly subject?: string | null;
  readonly messageId?: string | null;
  readonly references?: string | null;
  readonly inReplyTo?: string | null;
}): ReplyThreading {
  const subject = (original.subject ?? '').trim();
  const replySubject = /^re:/i.test(subject) ? subject : `Re: ${subject}`.trim();
  const messageId = original.messageId?.trim();
  if (!messageId) return { subject: replySubject };
  const earlier = (original.references ?? original.inReplyTo ?? '').trim();
  return {
    subject: replySubject,
    inReplyTo: messageId,
    references: earlier === '' ? messageId : `${earlier} ${messageId}`,
  };
}
