// The Authentication-Results header (RFC 8601) the gateway puts on top of each message, and the
// removal of incoming ones that claim to be ours (§5): a sender must not be able to forge a verdict
// that a reader of the message would take for the gateway's.

const HEADER_NAME = 'Authentication-Results';
const NAME_BYTES = Buffer.from(HEADER_NAME.toLowerCase(), 'latin1');
const CRLF_CRLF = Buffer.from('\r\n\r\n', 'latin1');

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
 * (compared case-insensitively); the same array when it has none, which is the usual case and
 * costs one scan of the header section. Only the header section (up to the first empty line) is
 * looked at: the same text in the body is content.
 */
export function withoutForgedResults(
  chunks: readonly Buffer[],
  authservId: string,
): readonly Buffer[] {
  const { header, rest } = splitHeader(chunks);
  if (!mentionsResults(header)) return chunks;
  const id = authservId.toLowerCase();
  const kept: Buffer[] = [];
  let removed = false;
  for (const field of fieldsOf(Buffer.concat(header))) {
    if (isResultsFrom(field, id)) removed = true;
    else kept.push(field);
  }
  return removed ? [Buffer.concat(kept), ...rest] : chunks;
}

/**
 * The header section's pieces (with the empty line ending it) and the chunks after it. Each chunk
 * is searched once, with the three bytes before it for a boundary split between two chunks, and
 * nothing is copied: a message with no body is all header, and may be 25 MiB.
 */
function splitHeader(chunks: readonly Buffer[]): { header: Buffer[]; rest: readonly Buffer[] } {
  const first = chunks[0];
  // A message that starts with its empty line has no header section at all.
  if (first !== undefined && first[0] === 0x0d && first[1] === 0x0a) {
    return { header: [], rest: chunks };
  }
  let carry: Buffer = Buffer.alloc(0);
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i]!;
    const window = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
    const end = window.indexOf(CRLF_CRLF);
    if (end !== -1) {
      const cut = end + CRLF_CRLF.length - carry.length;
      const tail = chunk.subarray(cut);
      return {
        header: [...chunks.slice(0, i), chunk.subarray(0, cut)],
        rest: tail.length === 0 ? chunks.slice(i + 1) : [tail, ...chunks.slice(i + 1)],
      };
    }
    carry = window.subarray(Math.max(0, window.length - 3));
  }
  return { header: [...chunks], rest: [] };
}

/** Whether the header pieces contain the field name at all, in any case; one piece at a time. */
function mentionsResults(pieces: readonly Buffer[]): boolean {
  const name = NAME_BYTES.toString('latin1');
  let carry = '';
  for (const piece of pieces) {
    const text = carry + piece.toString('latin1').toLowerCase();
    if (text.includes(name)) return true;
    carry = text.slice(-(name.length - 1));
  }
  return false;
}

/** Each field with its folded continuation lines, as a view; the empty line ends the last. */
function* fieldsOf(header: Buffer): Generator<Buffer> {
  let start = 0;
  let at = 0;
  while (at < header.length) {
    const lf = header.indexOf(0x0a, at);
    const next = lf === -1 ? header.length : lf + 1;
    const continues = next < header.length && (header[next] === 0x20 || header[next] === 0x09);
    if (!continues) {
      yield header.subarray(start, next);
      start = next;
    }
    at = next;
  }
}

/** An Authentication-Results field whose authserv-id (after any comment) is `id`. */
function isResultsFrom(field: Buffer, id: string): boolean {
  const text = field.toString('latin1');
  const colon = text.indexOf(':');
  if (colon === -1 || text.slice(0, colon).trim().toLowerCase() !== HEADER_NAME.toLowerCase()) {
    return false;
  }
  const value = withoutComments(text.slice(colon + 1)).trim();
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
