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

// DSN (RFC 3461) is not advertised, so RET, ENVID, NOTIFY and ORCPT are unknown parameters here:
// RFC 3461 §4 lets a client use them only with a server that offers DSN, and RFC 5321 §4.1.1.11
// answers a parameter the server does not implement with 555. Ignoring them instead would accept
// a NOTIFY=SUCCESS that nothing will ever honour.

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

/** Checks RCPT parameters; none is supported, so any one gets the reply refusing it, else null. */
export function checkRcptParams(params: MailParams): Reply | null {
  const [first] = Object.keys(params);
  return first === undefined ? null : replies.unsupportedParameter(first);
}
