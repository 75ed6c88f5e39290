// Reads the header fields of a raw message that the Worker could not MIME-parse (parse-raw.ts).

/** A header field as the wire's `parsed.headers` has it: lower-case name, unfolded value. */
export interface HeaderField {
  readonly name: string;
  readonly value: string;
}

/** Headers longer than this are not read further: enough for any real header block. */
const MAX_HEADER_BYTES = 256 * 1024;

/**
 * The header section of `raw` (RFC 5322 §2.2): fields up to the first empty line, unfolded.
 * Encoded words (RFC 2047) are left as they are.
 *
 * @example
 * ```ts
 * rawHeaderFields(new TextEncoder().encode('Subject: hi\r\n there\r\n\r\nbody'));
 * // [{ name: 'subject', value: 'hi there' }]
 * ```
 */
export function rawHeaderFields(raw: Uint8Array): HeaderField[] {
  const text = new TextDecoder('utf-8').decode(raw.subarray(0, MAX_HEADER_BYTES));
  const end = text.search(/\r?\n\r?\n/);
  const section = end === -1 ? text : text.slice(0, end);
  const fields: HeaderField[] = [];
  for (const line of section.replace(/\r?\n(?=[ \t])/g, '').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push({
      name: line.slice(0, colon).trim().toLowerCase(),
      value: line.slice(colon + 1).trim(),
    });
  }
  return fields;
}
