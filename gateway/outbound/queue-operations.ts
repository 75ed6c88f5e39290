// What an operator does to the outbound queue, shared by `mxhook queue …` and the admin HTTP
// listener's /queue endpoints: list what is waiting, look at one message, make it due now, drop
// it, or return it to its sender.
import { noticeFor } from './bounce-policy.ts';
import { buildDsn } from './dsn.ts';
import type { MessageRecord, OutboundQueue, RecipientRecord } from './queue.ts';

/** How many messages a listing shows when not told. */
export const DEFAULT_LIST_LIMIT = 100;
/** The most one listing shows: a queue of millions is looked at through its metrics. */
export const MAX_LIST_LIMIT = 10_000;

/** The enhanced status code of a recipient the operator returned (RFC 3463: other, permanent). */
export const BOUNCED_STATUS = '5.0.0';
/** The result a returned recipient's notice gives. */
export const BOUNCED_REPLY = 'returned to the sender by the mail system operator';

/** One queued message as an operator sees it: the record, with its recipients summed up. */
export interface MessageView {
  readonly id: string;
  readonly sender: string;
  readonly createdAt: number;
  readonly sizeBytes: number;
  readonly origin: string;
  readonly envelopeId: string | null;
  readonly returnContent: 'full' | 'headers';
  readonly smtputf8: boolean;
  readonly eightBit: boolean;
  /** Recipients not final yet (queued or being delivered). */
  readonly pending: number;
  /** The soonest next attempt of a recipient not final, ms since the epoch; null when none. */
  readonly nextAttemptAt: number | null;
  /** The last result of the recipient tried most recently: the one with most attempts, first. */
  readonly lastResult: string | null;
  readonly recipients: readonly RecipientRecord[];
}

export interface BounceResult {
  readonly id: string;
  /** The recipients returned: every one not final when the operator asked. */
  readonly returned: readonly string[];
  /** The queue id of the notice to the sender; null when none is due (null sender, NOTIFY). */
  readonly notice: string | null;
}

export interface BounceOptions {
  /** This MTA's host name: the notice's Reporting-MTA and From domain. */
  readonly hostname: string;
  readonly now?: number;
}

export function messageView(record: MessageRecord): MessageView {
  const open = record.recipients.filter((r) => r.state === 'queued' || r.state === 'delivering');
  const due = open.map((r) => r.nextAttemptAt).filter((at): at is number => at !== null);
  const tried = record.recipients
    .filter((r) => r.lastResult !== null)
    .reduce<RecipientRecord | null>(
      (best, r) => (best === null || r.attempts > best.attempts ? r : best),
      null,
    );
  return {
    id: record.id,
    sender: record.sender,
    createdAt: record.createdAt,
    sizeBytes: record.sizeBytes,
    origin: record.origin,
    envelopeId: record.envelopeId,
    returnContent: record.returnContent,
    smtputf8: record.smtputf8,
    eightBit: record.eightBit,
    pending: open.length,
    nextAttemptAt: due.length === 0 ? null : Math.min(...due),
    lastResult: tried?.lastResult ?? null,
    recipients: record.recipients,
  };
}

/** Messages with a recipient not final, oldest first. */
export async function listMessages(
  queue: OutboundQueue,
  limit = DEFAULT_LIST_LIMIT,
): Promise<readonly MessageView[]> {
  const bounded = Math.max(1, Math.min(MAX_LIST_LIMIT, Math.trunc(limit)));
  return (await queue.list(bounded)).map(messageView);
}

/** One message, or null when the queue has none by that id (delivered, deleted, never there). */
export async function showMessage(queue: OutboundQueue, id: string): Promise<MessageView | null> {
  const record = await queue.message(id);
  return record === null ? null : messageView(record);
}

/**
 * Makes every queued recipient of the message due now; the delivery workers are woken. A
 * recipient being delivered at this moment keeps its attempt. False when there is no such message.
 */
export function retryMessage(queue: OutboundQueue, id: string, now = Date.now()): Promise<boolean> {
  return queue.retryNow(id, now);
}

/** Forgets the message and its body, without telling anyone. False when there is no such message. */
export function deleteMessage(queue: OutboundQueue, id: string): Promise<boolean> {
  return queue.remove(id);
}

/**
 * Returns the message to its sender: every recipient not final is given up on now, the sender
 * gets a delivery status notification for those its NOTIFY asked about (RFC 3461; none for the
 * null sender), sent with the null sender, and the message leaves the queue. Null when there is
 * no such message.
 *
 * The notice is queued before the message is removed, as the delivery workers do it: a crash in
 * between leaves the message queued (bounce it again), never a message gone without its notice.
 * Ending with `remove` has the same result as recording every recipient failed (the queue drops
 * a message once all its recipients are final), and needs no lease. As with `delete`, a recipient
 * whose delivery is in progress at that moment may still arrive; its outcome is then not recorded.
 */
export async function bounceMessage(
  queue: OutboundQueue,
  id: string,
  options: BounceOptions,
): Promise<BounceResult | null> {
  const now = options.now ?? Date.now();
  const found = (await queue.messagesWithBodies([id])).get(id);
  if (found === undefined) return null;
  const { message: record, body } = found;
  const returned = record.recipients.filter(
    (r) => r.state === 'queued' || r.state === 'delivering',
  );
  const reported = returned.filter((r) => noticeFor(record.sender, r, 'failed'));
  let notice: string | null = null;
  if (reported.length > 0) {
    const dsn = await buildDsn({
      hostname: options.hostname,
      message: record,
      body,
      recipients: reported.map((recipient) => ({
        recipient,
        action: 'failed',
        status: BOUNCED_STATUS,
        reply: BOUNCED_REPLY,
      })),
      now,
    });
    notice = await queue.enqueue({
      sender: dsn.sender,
      recipients: [{ address: dsn.recipient }],
      body: [dsn.body],
      eightBit: dsn.eightBit,
      origin: `dsn:${record.id}`,
    });
  }
  await queue.remove(id);
  return { id, returned: returned.map((r) => r.address), notice };
}
