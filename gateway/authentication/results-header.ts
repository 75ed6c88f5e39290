// The Authentication-Results header (RFC 8601) the gateway puts on top of each message, and the
// removal of incoming ones that claim to be ours (§5): a sender must not be able to forge a verdict
// that a reader of the message would take for the gateway's.
import { bytesAt, headerFieldRanges, withoutRanges } from '../smtp/header-fields.ts';

const HEADER_NAME = 'Authentication-Results';
const NAME = HEADER_NAME.toLowerCase();

/**
 * The header's value: the authserv-id, then one result per check, each on its own folded line.
 * `none` when no check has a result (RFC 8601 §2.2).
 */
export function resultsValue(authservId: string, rows: readonly string[]): string {
  // A row carries names the sender chose (its domain, its From): never a line break.
  const clean = rows.map((row) => row.replace(/[\r\n]+[ \t]*/g, ' '));
  return clean.length === 0
    ? `${authservId}; none`
    : `${authservId};\r\n\t${clean.join(';\r\n\t')}`;
}

/** The whole header line, CRLF-terminated, ready to go on top of the message. */
export function resultsHeader(value: string): Buffer {
  return Buffer.from(`${HEADER_NAME}: ${value}\r\n`, 'utf8');
}

/**
 * The message without the Authentication-Results fields whose authserv-id is `authservId`
 * (compared case-insensitively); the same array when it has none, the usual case. The whole header
 * block is read, however long: a sender must not be able to push a forged field past the point
 * where we stop looking. The same text in the body is content.
 */
export function withoutForgedResults(
  chunks: readonly Buffer[],
  authservId: string,
): readonly Buffer[] {
  const id = authservId.toLowerCase();
  const forged = headerFieldRanges(chunks, NAME, Number.POSITIVE_INFINITY).filter((range) =>
    claimsId(bytesAt(chunks, range), id),
  );
  return forged.length === 0 ? chunks : withoutRanges(chunks, forged);
}

/** Whether the field's authserv-id (after any comment) is `id`. */
function claimsId(field: Buffer, id: string): boolean {
  const text = field.toString('latin1');
  const value = withoutComments(text.slice(text.indexOf(':') + 1)).trim();
  const claimed = value.split(/[;\s]/, 1)[0] ?? '';
  return claimed.replace(/^"|"$/g, '').toLowerCase() === id;
}

/** CFWS comments `( … )`, nested, dropped (RFC 5322 §3.2.2). */
function withoutComments(value: string): string {
  let depth = 0;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && depth > 0) i++;
    else if (c === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (depth === 0) out += c;
  }
  return out;
}
