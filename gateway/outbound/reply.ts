// Automatic replies: a data answer's `"reply": {subject?, text?, html?, headers?, from?}`. The
// gateway builds the message (nodemailer's MailComposer), addressed to the envelope sender
// (RFC 3834 §4, not From), from the recipient the mail was for, threaded to it, marked
// `Auto-Submitted: auto-replied` (§5), DKIM-signed, and queued from the null sender (§3.3) so
// that nothing ever answers it in turn. RFC 3834's "when not to reply" rules are the SDK's
// (auto-reply.ts, shared with Workers that reply through the send API); "not twice to one sender
// within a window" is the queue's `once` key, kept in the same commit as the reply.
import MailComposer from 'nodemailer/lib/mail-composer';
import {
  type AutoReplySkip,
  autoReplyDecision,
  replyThreading,
} from '../../functions/sdk/auto-reply.ts';
import { interpretResponse } from '../../functions/sdk/interpret.ts';
import type { ReplyRequest } from '../../functions/sdk/wire.ts';
import { MxhookError } from '../errors.ts';
import type { HookAnswer, HookArgs } from '../handler.ts';
import { isNonAscii } from '../smtp/path.ts';
import { isMailbox } from './forward.ts';
import type { NewMessage } from './queue.ts';
import { fieldValue, headerFields } from './reply-original.ts';

export interface ReplySettings {
  /** How long one reply per sender and address holds (MXHOOK_REPLY_WINDOW). */
  readonly windowMs: number;
  /** Signs the reply for its From domain (MXHOOK_DKIM_SIGN), or returns it as it is. */
  readonly sign: (message: readonly Buffer[]) => Promise<readonly Buffer[]>;
}

export type ReplyPlan =
  | { readonly send: true; readonly message: NewMessage }
  | { readonly send: false; readonly skip: AutoReplySkip };

/** Header fields the gateway sets on a reply; the answer's `headers` cannot replace them. */
const OWN_FIELDS: ReadonlySet<string> = new Set([
  'from',
  'sender',
  'to',
  'cc',
  'bcc',
  'subject',
  'date',
  'message-id',
  'in-reply-to',
  'references',
  'auto-submitted',
  'return-path',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
]);

const REQUEST_KEYS: ReadonlySet<string> = new Set(['subject', 'text', 'html', 'headers', 'from']);

/**
 * The answer's `reply`, checked; null when it has none.
 *
 * @throws MxhookError ERR_HOOK_RESPONSE when it is not such an object.
 */
export function replyRequestOf(answer: HookAnswer): ReplyRequest | null {
  const reply = (answer as { reply?: unknown } | undefined)?.reply;
  if (reply === undefined || reply === null) return null;
  if (typeof reply !== 'object' || Array.isArray(reply)) {
    throw malformed('"reply" must be an object');
  }
  for (const [key, value] of Object.entries(reply)) {
    if (!REQUEST_KEYS.has(key)) throw malformed(`"reply" has an unknown field ${key}`);
    if (key !== 'headers' && typeof value !== 'string') {
      throw malformed(`"reply.${key}" must be a string`);
    }
  }
  const { headers } = reply as { headers?: unknown };
  if (headers !== undefined) {
    // The same rules as the answer's own headers: field names, no line breaks, bounded.
    const checked = interpretResponse('data', { action: 'accept', headers });
    if (!checked.ok) throw malformed(`"reply.headers": ${checked.reason}`);
    return { ...(reply as ReplyRequest), headers: checked.headers };
  }
  return reply as ReplyRequest;
}

/**
 * The reply to queue, or which RFC 3834 rule says none is sent.
 *
 * @throws MxhookError ERR_HOOK_RESPONSE when `from` is not at an accepted recipient's domain.
 */
export async function planReply(
  call: HookArgs<'data'>,
  request: ReplyRequest,
  settings: ReplySettings,
): Promise<ReplyPlan> {
  const sender = call.envelope.mailFrom?.address ?? '';
  const recipients = call.envelope.rcptTo.map((rcpt) => rcpt.address);
  const from = replyFrom(request.from, recipients);
  const original = headerFields(call.message.chunks);
  const decision = autoReplyDecision({
    sender,
    headers: original,
    ownAddresses: [...recipients, from],
  });
  if (!decision.reply) return { send: false, skip: decision.skip };
  const threading = replyThreading({
    subject: fieldValue(original, 'subject'),
    messageId: fieldValue(original, 'message-id'),
    references: fieldValue(original, 'references'),
    inReplyTo: fieldValue(original, 'in-reply-to'),
  });
  const extra = Object.entries(request.headers ?? {}).filter(
    ([name]) => !OWN_FIELDS.has(name.toLowerCase()),
  );
  const composed = new MailComposer({
    from,
    to: sender,
    subject: request.subject ?? threading.subject,
    ...(request.text === undefined ? {} : { text: request.text }),
    ...(request.html === undefined ? {} : { html: request.html }),
    ...(threading.inReplyTo === undefined ? {} : { inReplyTo: threading.inReplyTo }),
    ...(threading.references === undefined ? {} : { references: threading.references }),
    headers: [...extra.map(([key, value]) => ({ key, value })), auto],
  });
  const built = await composed.compile().build();
  return {
    send: true,
    message: {
      // RFC 3834 §3.3: from the null sender, so that a failure is never bounced back to us.
      sender: '',
      recipients: [{ address: sender }],
      body: await settings.sign([built]),
      smtputf8: isNonAscii(sender + from),
      origin: call.message.queueId,
      once: {
        key: `reply:${from.toLowerCase()}:${sender.toLowerCase()}`,
        ttlMs: settings.windowMs,
      },
    },
  };
}

const auto = { key: 'Auto-Submitted', value: 'auto-replied' };

/** `from` when it is at an accepted recipient's domain; the first recipient when absent. */
function replyFrom(from: string | undefined, recipients: readonly string[]): string {
  if (from === undefined) return recipients[0] ?? '';
  const domain = domainOf(from);
  if (!isMailbox(from) || !recipients.some((recipient) => domainOf(recipient) === domain)) {
    throw malformed(
      `"reply.from" ${JSON.stringify(from)} is not at an accepted recipient's domain`,
    );
  }
  return from;
}

function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at === -1 ? '' : address.slice(at + 1).toLowerCase();
}

function malformed(message: string): MxhookError {
  return new MxhookError('ERR_HOOK_RESPONSE', message);
}
