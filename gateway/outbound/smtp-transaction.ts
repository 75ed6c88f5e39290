// One SMTP transaction over an open session, and what each recipient made of it: kept apart from
// the MX walk (mx-delivery.ts) because this is where nodemailer's client needs working around.
//
// SMTP itself is nodemailer's client (EHLO, STARTTLS, PIPELINING, SIZE, 8BITMIME, SMTPUTF8 and
// DSN parameters, dot-stuffing). Where it falls short of an MTA's needs, this file works around it:
// - its DSN parameters are per envelope, not per recipient, so recipients whose NOTIFY or ORCPT
//   differ go in separate transactions over the same connection (only when the host offers DSN);
// - it does not say what the host announced before a transaction, nor which recipients a failed
//   DATA left accepted: both are read from its private fields (`internals` below; the version is
//   pinned exactly, and the integration tests fail if those fields change);
// - it sends SMTPUTF8 only when an envelope address is not ASCII, not for a message whose headers
//   alone need it; it has no CHUNKING (BDAT), so messages go with DATA.
//
// Policies, as production MTAs have them:
// - An 8-bit message goes to a host without 8BITMIME anyway (as Postfix does): converting it would
//   break its DKIM signatures, and nearly every host takes 8-bit data regardless. A message that
//   needs SMTPUTF8 fails at a host without it (5.6.7, RFC 6531 §3.5), as does a message over the
//   host's announced SIZE (5.3.4): retrying would not change either answer.
import { Readable } from 'node:stream';
import type SMTPConnection from 'nodemailer/lib/smtp-connection';
import type {
  SMTPConnectionEnvelope,
  SMTPConnectionSendInfo,
  SMTPEnvelope,
} from 'nodemailer/lib/smtp-connection';
import { decodeXtext } from '../smtp/xtext.ts';
import type { DeliveryRequest, RecipientResult } from './mx-delivery.ts';
import type { RecipientRequest } from './queue.ts';

/** Where a session goes: the MX host's name (for SNI and the certificate) and one address of it. */
export interface Target {
  readonly host: string;
  readonly address: string;
}

/** A nodemailer error: what it carries besides the message. */
type SmtpError = Error & {
  readonly code?: string;
  readonly response?: string;
  readonly responseCode?: number;
  readonly command?: string;
  readonly recipient?: string;
};

/** One transaction; `results` null when the session failed before the recipients were answered. */
export async function transact(
  connection: SMTPConnection,
  request: DeliveryRequest,
  group: readonly RecipientRequest[],
  target: Target,
): Promise<{ readonly results: readonly RecipientResult[] | null; readonly reply: string }> {
  const first = group[0];
  const envelope: SMTPEnvelope = {
    from: request.sender,
    to: group.map((recipient) => recipient.address),
    size: request.sizeBytes,
    use8BitMime: request.eightBit === true || request.smtputf8 === true,
    dsn: {
      ret: request.returnContent === undefined ? null : DSN_RET[request.returnContent],
      envid: request.envelopeId === undefined ? null : fromXtext(request.envelopeId),
      // Sent only where DSN is offered, and there every recipient of the group has the same
      // two (`transactionGroups`).
      notify: first?.notify?.map((value) => value.toUpperCase()) ?? null,
      orcpt: first?.originalRecipient === undefined ? null : fromXtext(first.originalRecipient),
    },
  };
  let info: SMTPConnectionSendInfo;
  try {
    info = await settles<SMTPConnectionSendInfo>(connection, (done) =>
      connection.send(envelope, Readable.from(request.body), done),
    );
  } catch (caught) {
    const failed = failedTransaction(connection, caught as SmtpError, group, target);
    // Every recipient refused leaves the server's transaction open (its MAIL was accepted), and
    // nodemailer does not end it: without RSET the next group's MAIL on this session is a nested
    // MAIL (503), which would fail recipients that were only to be deferred. A session that cannot
    // be reset fails the next group's transaction, which moves it to the next address.
    if (failed.results !== null && (caught as SmtpError).command === 'RCPT TO') {
      await settles<boolean>(connection, (done) => connection.reset(done)).catch(() => false);
    }
    return failed;
  }
  const reply = oneLine(info.response);
  const rejected = repliesOf(info.rejectedErrors ?? []);
  const results = group.map(({ address }) => {
    const own = rejected.get(address);
    return own === undefined
      ? { address, kind: 'delivered' as const, reply }
      : answer(address, own);
  });
  return { results, reply };
}

const DSN_RET = { full: 'FULL', headers: 'HDRS' } as const;

/** A transaction that went wrong: which recipients it answered, if any. */
function failedTransaction(
  connection: SMTPConnection,
  error: SmtpError,
  group: readonly RecipientRequest[],
  target: Target,
): { readonly results: readonly RecipientResult[] | null; readonly reply: string } {
  const code = error.responseCode ?? 0;
  const answered = error.response !== undefined && code >= 400 && code < 600 && code !== 421;
  if (!answered) return { results: null, reply: sessionFailure(error, target, 'transaction') };
  const reply = oneLine(error.response as string);
  if (error.command === 'MAIL FROM') {
    // A 4xx to MAIL is about this host now (overloaded, greylisting us): the next one may take it.
    if (code < 500) return { results: null, reply };
    return { results: everyone(group, 'failed', reply), reply };
  }
  // RCPT TO (every recipient refused) or DATA: the recipients refused keep their own replies,
  // those accepted share the reply that ended the transaction.
  const envelope = internals(connection)._envelope;
  const rejected = repliesOf(envelope === false ? [] : envelope.rejectedErrors);
  return {
    results: group.map(({ address }) => answer(address, rejected.get(address) ?? reply)),
    reply,
  };
}

/**
 * What nodemailer's client knows but keeps to itself (pinned at 10.6.1): the extensions it parsed
 * from the EHLO reply it acted on (the one after STARTTLS, or the one in clear), the SIZE limit
 * (0: none), and the current envelope with each recipient's answer.
 */
interface ConnectionInternals {
  readonly _supportedExtensions: readonly string[];
  readonly _maxAllowedSize: number;
  readonly _envelope: SMTPConnectionEnvelope | false;
}

export function internals(connection: SMTPConnection): ConnectionInternals {
  return connection as unknown as ConnectionInternals;
}

/** Why the host cannot have this message at all, or null. */
export function refusal(
  connection: SMTPConnection,
  request: DeliveryRequest,
  target: Target,
): string | null {
  const { _supportedExtensions: extensions, _maxAllowedSize: limit } = internals(connection);
  const where = `${target.host}[${target.address}]`;
  if (limit > 0 && request.sizeBytes > limit) {
    return `552 5.3.4 Message of ${request.sizeBytes} bytes exceeds the fixed maximum message size of ${limit} bytes of ${where}`;
  }
  if (request.smtputf8 === true && !extensions.includes('SMTPUTF8')) {
    return `550 5.6.7 SMTPUTF8 is required, but was not offered by ${where}`;
  }
  return null;
}

/** Why the message cannot be sent anywhere, or null: nodemailer refuses such an envelope. */
export function unsendableReply(request: DeliveryRequest): string | null {
  return /[\r\n<>]/.test(request.sender) ? '553 5.1.7 The sender address is malformed' : null;
}

export function badAddressReply(address: string): string | null {
  return address === '' || /[\r\n<>]/.test(address)
    ? `553 5.1.3 The recipient address ${JSON.stringify(address)} is malformed`
    : null;
}

/**
 * The transactions for `recipients`: one, unless the host offers DSN and their NOTIFY or ORCPT
 * differ, as nodemailer gives every recipient of a transaction the same DSN parameters.
 */
export function transactionGroups(
  recipients: readonly RecipientRequest[],
  { _supportedExtensions: extensions }: ConnectionInternals,
): RecipientRequest[][] {
  if (!extensions.includes('DSN')) return [[...recipients]];
  const groups = new Map<string, RecipientRequest[]>();
  for (const recipient of recipients) {
    const key = `${recipient.notify?.join(',') ?? ''}\n${recipient.originalRecipient ?? ''}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [recipient]);
    else group.push(recipient);
  }
  return [...groups.values()];
}

/**
 * Runs one nodemailer call to its callback. Some failures never reach the callback (a connection
 * lost while RSET or the greeting waits), so the connection's end settles it too, after a turn:
 * where both come, the callback's error says more.
 */
export function settles<T = void>(
  connection: SMTPConnection,
  start: (done: (error?: Error | null, value?: T) => void) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const finish = (error?: Error | null, value?: T) => {
      connection.removeListener('error', onError);
      connection.removeListener('end', onEnd);
      if (error) reject(error);
      else resolve(value as T);
    };
    const onError = (error: Error) => setImmediate(finish, error);
    const onEnd = () => onError(new Error('Connection closed unexpectedly'));
    connection.once('error', onError);
    connection.once('end', onEnd);
    start(finish);
  });
}

/** A failure that ends the session as a 4xx reply: the host's own when it gave one. */
export function sessionFailure(error: unknown, target: Target, phase: string): string {
  const { code, response, message } = error as SmtpError;
  const remote = typeof response === 'string' ? oneLine(response) : null;
  if (remote?.startsWith('4')) return remote;
  const status =
    phase === 'STARTTLS' || code === 'ETLS' ? '4.7.5' : phase === 'connect' ? '4.4.1' : '4.4.2';
  // One line: OpenSSL's messages span several.
  const detail = (remote ?? message).replace(/\s+/g, ' ').trim();
  return `451 ${status} ${target.host}[${target.address}] ${phase}: ${detail}`;
}

/**
 * A multi-line reply as one line: the first line's code (and enhanced code), then every line's
 * text (`550-5.1.1 No such\n550 5.1.1 user` → `550 5.1.1 No such user`).
 */
function oneLine(reply: string): string {
  return reply
    .split(/\r?\n/)
    .map((line, index) =>
      index === 0
        ? line.replace(/^(\d{3})-/, '$1 ')
        : line.replace(/^\d{3}[ -](\d\.\d{1,3}\.\d{1,3} )?/, ''),
    )
    .join(' ')
    .trim();
}

function repliesOf(errors: readonly SmtpError[]): Map<string, string> {
  return new Map(
    errors.flatMap((error) =>
      error.recipient === undefined || error.response === undefined
        ? []
        : [[error.recipient, oneLine(error.response)] as const],
    ),
  );
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

/** The queue keeps ENVID and ORCPT as xtext; nodemailer encodes what it is given. */
function fromXtext(value: string): string {
  return decodeXtext(value) ?? value;
}
