// Parses the argument of MAIL FROM and RCPT TO: the path and its ESMTP parameters (RFC 5321 §4.1.2).
import type { MailParams } from '../../functions/sdk/wire.ts';
import { isIPv4Address, isIPv6Address } from './ip-address.ts';

export interface ParsedPath {
  /** `local@domain` as written (a quoted local part keeps its quotes); `""` for `<>`; `postmaster` alone for `<postmaster>`. */
  readonly address: string;
  readonly params: MailParams;
  /** The path contains non-ASCII characters, which RFC 6531 allows only with SMTPUTF8. */
  readonly utf8: boolean;
}

export type PathResult =
  | { readonly ok: true; readonly path: ParsedPath }
  | {
      readonly ok: false;
      /** `address-literal`: a domain in brackets that is not a valid address (RFC 5321 §4.1.3). */
      readonly problem: 'syntax' | 'address' | 'address-literal' | 'duplicate-param';
      readonly detail: string;
    };

// A domain name has at most 255 octets (RFC 1035 §2.3.4): longer cannot be looked up. The 64-octet
// local part and 256-octet path of RFC 5321 §4.5.3.1.1–3 are not enforced: real mail exceeds
// them (SRS-rewritten senders of forwarded mail), Postfix accepts it, and the command line limit
// already bounds the address.
const MAX_DOMAIN_BYTES = 255;

// atext (RFC 5322 §3.2.3), with any non-ASCII character RFC 6531 §3.3 admits as UTF-8, and dots
// anywhere: RFC 5321's Dot-string forbids `foo.@`, `a..b@` and `.foo@`, but mail from older
// mobile carriers uses them and Postfix accepts them, so refusing would bounce real mail.
const DOTTED_LOCAL = /^(?!\.*$)[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\u{10FFFF}.-]+$/u;
// qtextSMTP / quoted-pairSMTP (RFC 5321 §4.1.2).
const QUOTED_STRING = /^"(?:[\x20\x21\x23-\x5b\x5d-\x7e\u0080-\u{10FFFF}]|\\[\x20-\x7e])*"$/u;
const SUB_DOMAIN =
  /^[A-Za-z0-9\u0080-\u{10FFFF}](?:[A-Za-z0-9\u0080-\u{10FFFF}-]*[A-Za-z0-9\u0080-\u{10FFFF}])?$/u;
// Loose shape of an address literal, for HELO names; paths check the content (`isAddressLiteral`).
const ADDRESS_LITERAL =
  /^\[(?:IPv6:[0-9A-Fa-f:.]+|\d{1,3}(?:\.\d{1,3}){3}|[A-Za-z0-9-]*[A-Za-z0-9]:[\x21-\x5a\x5e-\x7e]+)\]$/;
// RFC 5321 §4.1.3 General-address-literal: Standardized-tag ":" 1*dcontent.
const GENERAL_LITERAL = /^[A-Za-z0-9-]*[A-Za-z0-9]:[\x21-\x5a\x5e-\x7e]+$/;
// Source route, to be ignored (RFC 5321 §4.1.2 A-d-l, Appendix C).
const SOURCE_ROUTE = /^@[^,:]+(?:,@[^,:]+)*:/;
// esmtp-keyword and esmtp-value (RFC 5321 §4.1.2), values widened to UTF-8 by RFC 6531 §3.3.
const PARAM_KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
const PARAM_VALUE = /^[\x21-\x3c\x3e-\x7e\u0080-\u{10FFFF}]+$/u;

const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Whether an address (or any text) has a character outside ASCII: it needs SMTPUTF8. */
export function isNonAscii(text: string): boolean {
  return /[^\x00-\x7f]/.test(text);
}

/** Parses `FROM:<path> params` (prefix `FROM`) or `TO:<path> params` (prefix `TO`). */
export function parsePathArgument(args: string, prefix: 'FROM' | 'TO'): PathResult {
  const head = `${prefix}:`;
  if (args.slice(0, head.length).toUpperCase() !== head) {
    return { ok: false, problem: 'syntax', detail: `expected ${head}<address>` };
  }
  // Postfix and most servers accept a space after the colon; RFC 5321 does not, but senders do it.
  const rest = args.slice(head.length).trimStart();
  const split = splitPath(rest);
  if (split === null) return { ok: false, problem: 'syntax', detail: 'unbalanced <address>' };
  const params = parseParams(split.tail);
  if (!params.ok) return params;
  const address = parseMailbox(split.path, prefix === 'FROM');
  if (typeof address !== 'string') return { ok: false, ...address };
  return { ok: true, path: { address, params: params.params, utf8: isNonAscii(address) } };
}

/** Separates `<path>` (or a bare path, tolerated like Postfix) from the parameters after it. */
function splitPath(text: string): { path: string; tail: string } | null {
  if (!text.startsWith('<')) {
    const space = text.indexOf(' ');
    return space === -1
      ? { path: text, tail: '' }
      : { path: text.slice(0, space), tail: text.slice(space + 1) };
  }
  // Find the closing '>' outside a quoted local part.
  let quoted = false;
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === '>' && !quoted) {
      const tail = text.slice(i + 1);
      if (tail !== '' && !tail.startsWith(' ')) return null;
      return { path: text.slice(1, i), tail: tail.trimStart() };
    }
  }
  return null;
}

function parseParams(
  tail: string,
):
  | { ok: true; params: MailParams }
  | { ok: false; problem: 'syntax' | 'duplicate-param'; detail: string } {
  const params: Record<string, string | true> = {};
  if (tail === '') return { ok: true, params };
  for (const word of tail.split(/ +/)) {
    if (word === '') continue;
    const eq = word.indexOf('=');
    const key = (eq === -1 ? word : word.slice(0, eq)).toUpperCase();
    const value = eq === -1 ? true : word.slice(eq + 1);
    if (!PARAM_KEYWORD.test(key) || (value !== true && !PARAM_VALUE.test(value))) {
      return { ok: false, problem: 'syntax', detail: `malformed parameter ${word.slice(0, 40)}` };
    }
    if (Object.hasOwn(params, key))
      return { ok: false, problem: 'duplicate-param', detail: `duplicate parameter ${key}` };
    params[key] = value;
  }
  return { ok: true, params };
}

type MailboxProblem = { problem: 'address' | 'address-literal'; detail: string };

function parseMailbox(path: string, allowNull: boolean): string | MailboxProblem {
  const refused = (detail: string): MailboxProblem => ({ problem: 'address', detail });
  if (path === '') return allowNull ? '' : refused('empty address');
  const mailbox = path.replace(SOURCE_ROUTE, '');
  // RFC 5321 §4.1.1.3: <postmaster> without a domain must be accepted as a recipient.
  if (!allowNull && mailbox.toLowerCase() === 'postmaster') return 'postmaster';
  const at = mailbox.lastIndexOf('@');
  if (at <= 0) return refused('missing @domain');
  const local = mailbox.slice(0, at);
  const domain = mailbox.slice(at + 1);
  if (!DOTTED_LOCAL.test(local) && !QUOTED_STRING.test(local)) return refused('invalid local part');
  if (domain.startsWith('[')) {
    if (!isAddressLiteral(domain))
      return { problem: 'address-literal', detail: 'invalid address literal' };
  } else if (!isDomain(domain)) return refused('invalid domain');
  return mailbox;
}

function isDomain(domain: string): boolean {
  if (domain === '' || byteLength(domain) > MAX_DOMAIN_BYTES) return false;
  return domain.split('.').every((label) => SUB_DOMAIN.test(label));
}

/** `[192.0.2.1]`, `[IPv6:2001:db8::1]` or a general literal, with valid addresses (RFC 5321 §4.1.3). */
function isAddressLiteral(domain: string): boolean {
  if (!domain.endsWith(']')) return false;
  const inner = domain.slice(1, -1);
  if (/^IPv6:/i.test(inner)) return isIPv6Address(inner.slice(5));
  if (/^[\d.]+$/.test(inner)) return isIPv4Address(inner);
  return GENERAL_LITERAL.test(inner);
}

/** Whether a HELO/EHLO argument is acceptable: a domain or address literal, leniently (RFC 5321 §4.1.1.1). */
export function isHeloName(name: string): boolean {
  if (name === '' || byteLength(name) > MAX_DOMAIN_BYTES) return false;
  if (name.startsWith('[')) return ADDRESS_LITERAL.test(name);
  // Real senders use underscores and trailing dots; refuse only what cannot be a host name.
  return /^[A-Za-z0-9_\u0080-\u{10FFFF}.-]+$/u.test(name);
}
