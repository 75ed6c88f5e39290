// Who is told what about a recipient (RFC 3461 §4.1, NOTIFY). A notice goes to the envelope
// sender; the null sender gets none, which is what keeps notices from looping: every notice is
// itself sent with the null sender, so a notice that fails is never reported.
import type { RecipientRequest } from './queue.ts';

export type NoticeEvent = 'failed' | 'delayed' | 'delivered';

const KEYWORD: Readonly<Record<NoticeEvent, 'failure' | 'delay' | 'success'>> = {
  failed: 'failure',
  delayed: 'delay',
  delivered: 'success',
};

/** Whether `event` for `recipient` of a message from `sender` is reported to the sender. */
export function noticeFor(
  sender: string,
  recipient: RecipientRequest,
  event: NoticeEvent,
): boolean {
  if (sender === '') return false;
  // RFC 3461 §4.1: without NOTIFY, the MTA reports failures and may report delays; we do both.
  if (recipient.notify === undefined) return event !== 'delivered';
  return recipient.notify.includes(KEYWORD[event]);
}
