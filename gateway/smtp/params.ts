// Validates MAIL FROM and RCPT TO parameters against the extensions the gateway advertises.
import type { MailParams } from '../../functions/sdk/wire.ts';
import { replies } from './replies.ts';
import type { Reply } from './reply.ts';

export interface MailOptions {
  /** From SIZE=, when given (RFC 1870). */
  readonly declaredSizeBytes: number | null;
  /** SMTPUTF8 was given (RFC 6531 §3.4). */
  readonly smtputf8: boolean;
}

// xtext (RFC 3461 §4): printable ASCII except "+" and "=", with "+XX" hex escapes.
const XTEXT = /^(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-F]{2})+$/;
const NOTIFY = /^(?:NEVER|(?:SUCCESS|FAILURE|DELAY)(?:,(?:SUCCESS|FAILURE|DELAY))*)$/i;
// ORCPT: addr-type ";" xtext (RFC 3461 §4.2); utf-8-addr-xtext values (RFC 6533) are also printable.
const ORCPT = /^[A-Za-z0-9-]+;[\x21-\x7e\u0080-\u{10FFFF}]+$/u;
const MAX_ENVID_CHARS = 100; // RFC 3461 §4.4

/** Checks MAIL parameters; returns the options they set, or the reply refusing them. */
export function checkMailParams(params: MailParams, maxMessageBytes: number): MailOptions | Reply {
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
      case 'RET':
        if (value === true || !/^(?:FULL|HDRS)$/i.test(value))
          return replies.syntax('RET must be FULL or HDRS');
        break;
      case 'ENVID':
        if (value === true || value.length > MAX_ENVID_CHARS || !XTEXT.test(value))
          return replies.syntax('ENVID must be xtext');
        break;
      case 'AUTH':
        // RFC 4954 §5: AUTH=<mailbox> or AUTH=<> is informational; we keep it on the envelope.
        if (value === true) return replies.syntax('AUTH= needs a value');
        break;
      default:
        return replies.unsupportedParameter(key);
    }
  }
  return { declaredSizeBytes, smtputf8 };
}

/** Checks RCPT parameters (DSN, RFC 3461 §4.1–4.2); returns the reply refusing them, or null. */
export function checkRcptParams(params: MailParams): Reply | null {
  for (const [key, value] of Object.entries(params)) {
    switch (key) {
      case 'NOTIFY':
        if (value === true || !NOTIFY.test(value))
          return replies.syntax('NOTIFY must be NEVER or SUCCESS,FAILURE,DELAY');
        break;
      case 'ORCPT':
        if (value === true || !ORCPT.test(value))
          return replies.syntax('ORCPT must be addr-type;xtext');
        break;
      default:
        return replies.unsupportedParameter(key);
    }
  }
  return null;
}
