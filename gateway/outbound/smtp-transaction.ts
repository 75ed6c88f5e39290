// One SMTP transaction over an open session, and what each recipient made of it: kept apart from
// the MX walk (mx-delivery.ts), which decides what a session failure means for the next address.
//
// Policies, as production MTAs have them:
// - A message with 8-bit content fails at a host without 8BITMIME (5.6.3, conversion required
//   but not supported): RFC 6152 §3 allows sending it there only converted to 7 bits, and
//   converting it (as Postfix does) would break the DKIM signature mxhook put on it when it was
//   queued. Its 7-bit content goes there without BODY=8BITMIME, whatever the message declared.
//   A message that needs SMTPUTF8 (so flagged, or with an address that is not ASCII) fails at a
//   host without it (5.6.7, RFC 6531 §3.5), as does a message over the host's announced SIZE
//   (5.3.4): retrying would not change any of these answers.
// - DSN parameters (RFC 3461) go only to a host that offers DSN, each recipient with its own
//   NOTIFY and ORCPT.

import { hasEightBit } from '../pieces.ts';
import { isNonAscii } from '../smtp/path.ts';
import type { DeliveryRequest, RecipientResult } from './delivery.ts';
import type { RecipientRequest } from './queue.ts';
import { type SmtpClient, SmtpError } from './smtp-client.ts';
import { isSendableAddress, mailCommand, type Reply, rcptCommand, replyText } from './smtp-wire.ts';

/** Where a session goes: the MX host's name (for SNI and the certificate) and one address of it. */
export interface Target {
  readonly host: string;
  readonly address: string;
}

export interface TransactionOutcome {
  /** Null when the session failed before the recipients were answered: for the next address. */
  readonly results: readonly RecipientResult[] | null;
  readonly reply: string;
  /**
   * The session, reused from the pool, was found closed as the transaction began (its RSET got
   * no reply): nothing of this transaction reached the host, and a new session may take it.
   */
  readonly stale: boolean;
}

/** One transaction for every recipient. */
export async function transact(
  client: SmtpClient,
  request: DeliveryRequest,
  recipients: readonly RecipientRequest[],
  target: Target,
): Promise<TransactionOutcome> {
  const { keywords } = client.extensions;
  const dsn = keywords.has('DSN');
  const utf8 = needsSmtputf8(request);
  const mail = mailCommand(request.sender, {
    ...(keywords.has('SIZE') ? { size: request.sizeBytes } : {}),
    eightBit: keywords.has('8BITMIME') && (request.eightBit === true || utf8),
    smtputf8: keywords.has('SMTPUTF8') && utf8,
    ...(dsn && request.returnContent !== undefined ? { ret: DSN_RET[request.returnContent] } : {}),
    ...(dsn && request.envelopeId !== undefined ? { envid: request.envelopeId } : {}),
  });
  const commands = recipients.map((recipient) =>
    rcptCommand(recipient.address, {
      ...(dsn && recipient.notify !== undefined ? { notify: recipient.notify } : {}),
      ...(dsn && recipient.originalRecipient !== undefined
        ? { orcpt: recipient.originalRecipient }
        : {}),
    }),
  );
  let replies: Awaited<ReturnType<SmtpClient['send']>>;
  try {
    replies = await client.send({ mail, recipients: commands, body: request.body });
  } catch (error) {
    if (!(error instanceof SmtpError)) throw error;
    return {
      results: null,
      reply: sessionFailure(error, target, 'transaction'),
      stale: error.command === 'RSET' && error.code === 'ECONNECTION',
    };
  }
  const { mail: mailReply, recipients: rcptReplies, data } = replies;
  if (mailReply.code >= 300) {
    const reply = replyText(mailReply);
    // A 4xx to MAIL is about this host now (overloaded, greylisting us): the next one may take it.
    if (mailReply.code < 500) return { results: null, reply, stale: false };
    return { results: everyone(recipients, 'failed', reply), reply, stale: false };
  }
  // Each recipient refused keeps its own reply; those accepted share the reply to the message.
  const dataReply = data === null ? null : replyText(data);
  const results = recipients.map(({ address }, index) => {
    // Every RCPT has its reply once MAIL was taken (a 421 on the way ends the session instead).
    const own = rcptReplies[index] as Reply;
    return answer(address, own.code >= 300 || dataReply === null ? replyText(own) : dataReply);
  });
  const last = rcptReplies.at(-1);
  const reply = dataReply ?? (last === undefined ? replyText(mailReply) : replyText(last));
  return { results, reply, stale: false };
}

const DSN_RET = { full: 'FULL', headers: 'HDRS' } as const;

/** Whether the message needs SMTPUTF8: flagged so, or an envelope address is not ASCII. */
function needsSmtputf8(request: DeliveryRequest): boolean {
  return (
    request.smtputf8 === true ||
    isNonAscii(request.sender) ||
    request.recipients.some(({ address }) => isNonAscii(address))
  );
}

/** Why the host cannot have this message at all, or null. */
export function refusal(
  client: SmtpClient,
  request: DeliveryRequest,
  target: Target,
): string | null {
  const { keywords, sizeLimit } = client.extensions;
  const where = `${target.host}[${target.address}]`;
  if (sizeLimit > 0 && request.sizeBytes > sizeLimit) {
    return `552 5.3.4 Message of ${request.sizeBytes} bytes exceeds the fixed maximum message size of ${sizeLimit} bytes of ${where}`;
  }
  if (needsSmtputf8(request) && !keywords.has('SMTPUTF8')) {
    return `550 5.6.7 SMTPUTF8 is required, but was not offered by ${where}`;
  }
  // Only where it matters: the whole body is looked at.
  if (!keywords.has('8BITMIME') && hasEightBit(request.body)) {
    return `554 5.6.3 The message has 8-bit content, and ${where} does not offer 8BITMIME`;
  }
  return null;
}

/** Why the message cannot be sent anywhere, or null: its sender cannot go on a MAIL line. */
export function unsendableReply(request: DeliveryRequest): string | null {
  return isSendableAddress(request.sender) ? null : '553 5.1.7 The sender address is malformed';
}

export function badAddressReply(address: string): string | null {
  return address === '' || !isSendableAddress(address)
    ? `553 5.1.3 The recipient address ${JSON.stringify(address)} is malformed`
    : null;
}

/** A failure that ends the session as a 4xx reply: the host's own when it gave one. */
export function sessionFailure(error: unknown, target: Target, phase: string): string {
  const { code, response, message } = error as Partial<SmtpError> & Error;
  if (response?.startsWith('4')) return response;
  const status =
    phase === 'STARTTLS' || code === 'ETLS' ? '4.7.5' : phase === 'connect' ? '4.4.1' : '4.4.2';
  // One line: OpenSSL's messages span several.
  const detail = (response ?? message).replace(/\s+/g, ' ').trim();
  return `451 ${status} ${target.host}[${target.address}] ${phase}: ${detail}`;
}

/** A recipient's result from a reply to it: 4xx defers, 5xx fails. */
function answer(address: string, reply: string): RecipientResult {
  const kind = reply.startsWith('5') ? 'failed' : reply.startsWith('2') ? 'delivered' : 'deferred';
  return { address, kind, reply };
}

export function everyone(
  recipients: readonly RecipientRequest[],
  kind: RecipientResult['kind'],
  reply: string,
): RecipientResult[] {
  return recipients.map(({ address }) => ({ address, kind, reply }));
}
