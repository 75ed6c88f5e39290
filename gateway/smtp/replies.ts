// Every reply the gateway itself makes, named once, with the RFC that defines it.
import { closing, type Reply, reply } from './reply.ts';

export const replies = {
  // RFC 5321 §4.2 greeting / closing
  greeting: (hostname: string, banner: string) => reply(220, null, `${hostname} ${banner}`),
  bye: (hostname: string) => closing(reply(221, '2.0.0', `${hostname} closing connection`)),

  // RFC 5321 §4.1.1.1 – §4.1.1.10
  ok: reply(250, '2.0.0', 'OK'),
  resetOk: reply(250, '2.0.0', 'Reset OK'),
  helo: (hostname: string, clientName: string) =>
    reply(250, null, `${hostname} greets ${clientName}`),
  startData: reply(354, null, 'End data with <CR><LF>.<CR><LF>'),
  bdatChunkOk: (sizeBytes: number) => reply(250, '2.0.0', `${sizeBytes} octets received`),
  // RFC 5321 §3.5.3: 252 when the server will not verify but will attempt delivery.
  vrfy: reply(252, '2.5.0', 'Cannot VRFY user, but will accept message and attempt delivery'),
  // RFC 5321 §3.5.2 allows a server to refuse EXPN for privacy.
  expnRefused: reply(502, '5.5.1', 'EXPN not available'),
  help: reply(
    214,
    '2.0.0',
    'Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS',
    'See https://www.rfc-editor.org/rfc/rfc5321',
  ),

  // Syntax and sequence (RFC 5321 §4.2.2, RFC 3463 §3.6)
  unknownCommand: reply(500, '5.5.2', 'Command not recognized'),
  lineTooLong: reply(500, '5.5.2', 'Line too long'), // RFC 5321 §4.5.3.1.4
  nulInCommand: reply(500, '5.5.2', 'Command contains a NUL byte'),
  invalidUtf8: reply(500, '5.5.2', 'Command is not valid UTF-8'),
  syntax: (what: string) => reply(501, '5.5.4', `Syntax error: ${what}`),
  badSender: (what: string) => reply(501, '5.1.7', `Bad sender address syntax: ${what}`),
  badRecipient: (what: string) => reply(501, '5.1.3', `Bad recipient address syntax: ${what}`),
  // RFC 5321 §4.1.3: an address literal must hold a valid IPv4 or IPv6 address.
  badAddressLiteral: reply(501, '5.1.3', 'Bad address syntax: invalid address literal'),
  notImplemented: (verb: string) => reply(502, '5.5.1', `${verb} not implemented`),
  needHelo: reply(503, '5.5.1', 'Send HELO/EHLO first'),
  nestedMail: reply(503, '5.5.1', 'Sender already specified'),
  needMail: reply(503, '5.5.1', 'Need MAIL command first'),
  // RFC 2920 §3.1: DATA after every RCPT failed in a pipelined group.
  noValidRecipients: reply(554, '5.5.1', 'No valid recipients'),
  mixedDataBdat: reply(503, '5.5.1', 'DATA and BDAT cannot be mixed in one transaction'), // RFC 3030 §2
  transactionInProgress: reply(503, '5.5.1', 'Transaction in progress, send RSET first'),
  alreadyTls: reply(503, '5.5.1', 'TLS already active'), // RFC 3207 §4.2
  unsupportedParameter: (name: string) => reply(555, '5.5.4', `Unsupported parameter ${name}`), // RFC 5321 §4.1.1.11
  paramsWithoutEhlo: reply(555, '5.5.4', 'Parameters need EHLO'), // RFC 5321 §4.1.1.11
  utf8NeedsSmtputf8: reply(553, '5.6.7', 'Non-ASCII address needs SMTPUTF8'), // RFC 6531 §3.7.4.1
  httpRefused: closing(reply(554, '5.7.0', 'This is an SMTP server; HTTP requests are refused')),
  // RFC 2920 §3.1: input sent behind a refused DATA (the text is Postfix's, which senders know).
  breakingRules: closing(reply(221, '2.7.0', 'Error: I can break rules, too. Goodbye.')),

  // Limits
  messageTooBig: reply(552, '5.3.4', 'Message size exceeds fixed maximum message size'), // RFC 1870 §6
  tooManyRecipients: reply(452, '4.5.3', 'Too many recipients'), // RFC 5321 §4.5.3.1.10
  tooManyErrors: closing(reply(421, '4.7.0', 'Too many errors, closing connection')),
  tooManyJunkCommands: closing(
    reply(421, '4.7.0', 'Too many commands without a message, closing connection'),
  ),
  sessionExpired: closing(reply(421, '4.7.0', 'Session time limit reached, closing connection')),
  timeout: closing(reply(421, '4.4.2', 'Idle timeout, closing connection')),
  dataTimeout: closing(reply(421, '4.4.2', 'Timeout waiting for message data, closing connection')),
  earlyTalker: closing(reply(554, '5.5.1', 'Protocol error: client sent data before the greeting')),
  memoryBudget: reply(452, '4.3.1', 'Insufficient system storage, try again later'), // RFC 3463 §3.4
  bareLf: reply(
    550,
    '5.5.2',
    'Message contains a bare <LF>; lines must end with <CR><LF> (RFC 5321 section 2.3.8)',
  ),
  longLine: reply(
    550,
    '5.5.2',
    'Message contains a line longer than 1000 octets (RFC 5321 section 4.5.3.1.6)',
  ),

  // Function failures: always temporary, so the sender keeps the message and retries (the one
  // promise, docs/architecture.md).
  hookFailed: reply(451, '4.3.0', 'Temporary failure, please try again later'),
  hookFailedAtConnect: closing(
    reply(421, '4.3.0', 'Service temporarily unavailable, try again later'),
  ),

  // Shutdown
  shuttingDown: (hostname: string) =>
    closing(reply(421, '4.3.2', `${hostname} shutting down, try again later`)),

  // AUTH (RFC 4954 §4, §6)
  needEhlo: reply(503, '5.5.1', 'Send EHLO first'),
  alreadyAuthenticated: reply(503, '5.5.1', 'Already authenticated'),
  encryptionRequired: reply(
    538,
    '5.7.11',
    'Encryption required for requested authentication mechanism',
  ),
  unknownMechanism: reply(504, '5.5.4', 'Unrecognized authentication type'),
  authAborted: reply(501, '5.7.0', 'Authentication aborted'),
  authBadResponse: reply(501, '5.5.2', 'Cannot decode the authentication response'),
  authLineTooLong: reply(500, '5.5.6', 'Authentication exchange line is too long'),
  authzidRefused: reply(
    535,
    '5.7.8',
    'Authorization identity differs from the authentication identity',
  ),
  authTemporaryFailure: reply(454, '4.7.0', 'Temporary authentication failure'),
  authLockedOut: closing(
    reply(421, '4.7.0', 'Too many failed authentication attempts, try again later'),
  ),
  authRequired: reply(530, '5.7.0', 'Authentication required'),
  tlsRequired: reply(530, '5.7.0', 'Must issue a STARTTLS command first'),

  // XCLIENT (Postfix): only for clients in MXHOOK_TRUSTED_PROXIES.
  xclientDenied: reply(550, '5.7.0', 'XCLIENT not permitted'),

  // STARTTLS (RFC 3207 §4)
  readyForTls: reply(220, '2.0.0', 'Ready to start TLS'),
} satisfies Record<string, Reply | ((...args: never[]) => Reply)>;
