// Validates MAIL FROM and RCPT TO parameters against the extensions the gateway advertises.
import type { MailParams } from '../../functions/sdk/wire.ts';
import { replies } from './replies.ts';
import type { Reply } from './reply.ts';
import { ORIGINAL_RECIPIENT, XTEXT } from './xtext.ts';

export interface MailOptions {
  /** From SIZE=, when given (RFC 1870). */
  readonly declaredSizeBytes: number | null;
  /** SMTPUTF8 was given (RFC 6531 §3.4). */
  readonly smtputf8: boolean;
}

// DSN (RFC 3461) is advertised only when mxhook can send the notices it promises (an outbound
// queue is set: `dsn`). Without it RET, ENVID, NOTIFY and ORCPT are unknown parameters: RFC 3461
// §4 lets a client use them only with a server that offers DSN, and RFC 5321 §4.1.1.11 answers a
// parameter the server does not implement with 555. Ignoring them instead would accept a
// NOTIFY=SUCCESS that nothing will ever honour.

const NOTIFY_WORDS = new Set(['SUCCESS', 'FAILURE', 'DELAY']);

/**
 * Checks MAIL parameters; returns the options they set, or the reply refusing them. `dsn`: DSN is
 * advertised, so RET and ENVID are known.
 */
export function checkMailParams(
  params: MailParams,
  maxMessageBytes: number,
  dsn = false,
): MailOptions | Reply {
  let declaredSizeBytes: number | null = null;
  let smtputf8 = false;
  for (const [key, value] of Object.entries(params)) {
    switch (key) {
      case 'SIZE': {
        // RFC 1870 §3: size-value = 1*20DIGIT.
        if (value === true || !/^\d{1,20}$/.test(value))
          return replies.syntax('SIZE needs a number');
        declaredSizeBytes = Number(value);
        // RFC 1870 §6: refuse up front with 552 when the declared size is over the limit.
        if (declaredSizeBytes > maxMessageBytes) return replies.messageTooBig;
        break;
      }
      case 'BODY':
        // RFC 6152: 7BIT or 8BITMIME. BINARYMIME (RFC 3030) is not advertised.
        if (value === true || !/^(?:7BIT|8BITMIME)$/i.test(value))
          return replies.unsupportedParameter(`BODY=${value}`);
        break;
      case 'SMTPUTF8':
        if (value !== true) return replies.syntax('SMTPUTF8 takes no value');
        smtputf8 = true;
        break;
      case 'AUTH':
        // RFC 4954 §5: AUTH=<mailbox> or AUTH=<> is informational; we keep it on the envelope.
        if (value === true) return replies.syntax('AUTH= needs a value');
        break;
      case 'RET':
        if (!dsn) return replies.unsupportedParameter(key);
        if (value === true || !/^(?:FULL|HDRS)$/i.test(value)) {
          return replies.syntax('RET must be FULL or HDRS');
        }
        break;
      case 'ENVID':
        // RFC 3461 §4.4: at most 100 characters of xtext.
        if (!dsn) return replies.unsupportedParameter(key);
        if (value === true || value.length > 100 || !XTEXT.test(value)) {
          return replies.syntax('ENVID must be xtext of at most 100 characters');
        }
        break;
      default:
        return replies.unsupportedParameter(key);
    }
  }
  return { declaredSizeBytes, smtputf8 };
}

/**
 * Checks RCPT parameters: NOTIFY and ORCPT when DSN is advertised (`dsn`), nothing else. Returns
 * the reply refusing them, else null.
 */
export function checkRcptParams(params: MailParams, dsn = false): Reply | null {
  for (const [key, value] of Object.entries(params)) {
    if (!dsn || (key !== 'NOTIFY' && key !== 'ORCPT')) return replies.unsupportedParameter(key);
    if (value === true) return replies.syntax(`${key}= needs a value`);
    if (key === 'ORCPT' && (value.length > 500 || !ORIGINAL_RECIPIENT.test(value))) {
      return replies.syntax('ORCPT must be addr-type;xtext');
    }
    if (key === 'NOTIFY' && !isNotify(value)) {
      return replies.syntax('NOTIFY must be NEVER, or SUCCESS, FAILURE and DELAY, comma-separated');
    }
  }
  return null;
}

/** RFC 3461 §4.1: NEVER alone, or one or more of SUCCESS, FAILURE, DELAY, each once. */
function isNotify(value: string): boolean {
  const words = value.toUpperCase().split(',');
  if (words.length === 1 && words[0] === 'NEVER') return true;
  return new Set(words).size === words.length && words.every((word) => NOTIFY_WORDS.has(word));
}
