// Default reply text for every code a step may use, for replies that come without a message.
import { ACTION_REPLIES, type DefaultReply } from './codes.ts';
import type { Step } from './wire.ts';

// RFC 5321 §4.2.2–4.2.3 and RFC 4954 §6 wording, shortened where the RFC's is only a hint.
const GENERIC_TEXTS: Readonly<Record<number, string>> = {
  220: 'Service ready',
  235: 'Authentication successful',
  250: 'OK',
  251: 'User not local; will forward',
  252: 'Cannot verify user, but will accept message and attempt delivery',
  421: 'Service not available, closing transmission channel',
  432: 'A password transition is needed',
  450: 'Mailbox unavailable',
  451: 'Local error in processing',
  452: 'Insufficient system storage',
  454: 'Temporary authentication failure',
  455: 'Server unable to accommodate parameters',
  534: 'Authentication mechanism is too weak',
  535: 'Authentication credentials invalid',
  538: 'Encryption required for requested authentication mechanism',
  550: 'Requested action not taken',
  551: 'User not local',
  552: 'Exceeded storage allocation',
  553: 'Mailbox name not allowed',
  554: 'Transaction failed',
  555: 'MAIL FROM/RCPT TO parameters not recognized or not implemented',
};

/**
 * The reply an action stands for at `step` when `code` is that reply's code, else undefined.
 *
 * @example
 * ```ts
 * actionReplyFor('rcpt', 550); // { code: 550, enhanced: '5.1.1', message: 'No such user' }
 * ```
 */
export function actionReplyFor(step: Step, code: number): DefaultReply | undefined {
  return Object.values(ACTION_REPLIES[step]).find((reply) => reply.code === code);
}

/**
 * The text used when a reply has no message: the action's text when `code` is an action's code at
 * that step, else the RFC's generic text for the code.
 *
 * @example
 * ```ts
 * defaultReplyText('rcpt', 550); // 'No such user'
 * defaultReplyText('rcpt', 553); // 'Mailbox name not allowed'
 * ```
 */
export function defaultReplyText(step: Step, code: number): string {
  return (
    actionReplyFor(step, code)?.message ??
    GENERIC_TEXTS[code] ??
    (code < 300 ? 'OK' : code < 500 ? 'Try again later' : 'Rejected')
  );
}
