// Turns one command line (bytes, without its line ending) into a verb and its argument text.

export const VERBS = [
  'EHLO',
  'HELO',
  'MAIL',
  'RCPT',
  'DATA',
  'BDAT',
  'RSET',
  'NOOP',
  'QUIT',
  'VRFY',
  'EXPN',
  'HELP',
  'STARTTLS',
  'AUTH',
  'XCLIENT',
] as const;
export type Verb = (typeof VERBS)[number];

export type CommandLine =
  | { readonly kind: 'command'; readonly verb: Verb; readonly args: string }
  /** `verb` upper-cased, at most 32 characters: what an added verb (`extraVerbs`) is looked up by. */
  | { readonly kind: 'unknown'; readonly verb: string; readonly args: string }
  | { readonly kind: 'http' }
  | { readonly kind: 'invalid'; readonly problem: 'nul' | 'utf8' };

/** RFC 5321 §4.5.3.1.4: 512 octets including CRLF, raised by the extensions we offer and for long addresses. */
export const COMMAND_LINE_BYTES = 512;
const LINE_LIMIT_BYTES: Readonly<Record<string, number>> = {
  // SIZE (RFC 1870 §3: +26), AUTH= (RFC 4954 §5: +500), BODY, SMTPUTF8, and the +100 RFC 3461 §5
  // allows for DSN, kept (as the RCPT room below) for long addresses such as SRS-rewritten ones:
  // those are bounded by the line, not by the 64-octet local part of RFC 5321 §4.5.3.1.1.
  MAIL: COMMAND_LINE_BYTES + 26 + 100 + 500 + 40,
  RCPT: COMMAND_LINE_BYTES + 500,
  // RFC 4954 §4: an AUTH command with an initial response may be 12288 octets.
  AUTH: 12288,
  // Postfix XCLIENT carries up to six attributes of up to 255 octets each.
  XCLIENT: 2048,
};
/** The longest line any verb may send; the line reader discards anything longer unread. */
export const MAX_LINE_BYTES = 12288;

/** The longest line (including CRLF) the verb may send; a verb a program added gets 512. */
export function lineLimitBytes(verb: string): number {
  return Object.hasOwn(LINE_LIMIT_BYTES, verb) ? LINE_LIMIT_BYTES[verb]! : COMMAND_LINE_BYTES;
}

const VERB_SET: ReadonlySet<string> = new Set(VERBS);
const utf8 = new TextDecoder('utf-8', { fatal: true });
const HTTP_REQUEST = /^(?:GET|POST|HEAD|PUT|DELETE|OPTIONS|CONNECT|PATCH|TRACE) \S+ HTTP\/\d/;

export function parseCommandLine(line: Uint8Array): CommandLine {
  if (line.indexOf(0) !== -1) return { kind: 'invalid', problem: 'nul' };
  let text: string;
  try {
    text = utf8.decode(line);
  } catch {
    return { kind: 'invalid', problem: 'utf8' };
  }
  // Verbs are case-insensitive (RFC 5321 §2.4); trailing white space is tolerated, as by Postfix.
  text = text.trimEnd();
  const space = text.indexOf(' ');
  const word = (space === -1 ? text : text.slice(0, space)).toUpperCase();
  const args = space === -1 ? '' : text.slice(space + 1);
  if (VERB_SET.has(word)) return { kind: 'command', verb: word as Verb, args };
  if (HTTP_REQUEST.test(text)) return { kind: 'http' };
  return { kind: 'unknown', verb: word.slice(0, 32), args };
}
