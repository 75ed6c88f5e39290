// The header fields of a received message that an automatic reply is decided and threaded by, read
// from its raw bytes (the gateway's hooks get no parsed message): unfolded (RFC 5322 §2.2.3) and
// with encoded-words decoded (RFC 2047), as the wire's `parsed.headers` has them.
import libmime from 'libmime';
import type { AutoReplyHeader } from '../../functions/sdk/auto-reply.ts';

/** Header blocks longer than this are read this far: the fields replies look at come early. */
const MAX_HEADER_BYTES = 256 * 1024;

export function headerFields(chunks: readonly Buffer[]): readonly AutoReplyHeader[] {
  const fields: AutoReplyHeader[] = [];
  for (const line of headerBlock(chunks).split(/\r?\n(?![ \t])/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push({
      name: line.slice(0, colon).trim().toLowerCase(),
      value: decoded(
        line
          .slice(colon + 1)
          .replace(/\r?\n(?=[ \t])/g, '')
          .trim(),
      ),
    });
  }
  return fields;
}

/** The value of the first field called `name` (lower case); null when there is none. */
export function fieldValue(fields: readonly AutoReplyHeader[], name: string): string | null {
  return fields.find((field) => field.name === name)?.value ?? null;
}

function headerBlock(chunks: readonly Buffer[]): string {
  const pieces: Buffer[] = [];
  let length = 0;
  for (const chunk of chunks) {
    pieces.push(chunk);
    length += chunk.length;
    if (length >= MAX_HEADER_BYTES) break;
  }
  const text = Buffer.concat(pieces).subarray(0, MAX_HEADER_BYTES).toString('utf8');
  const end = text.search(/\r?\n\r?\n/);
  return end === -1 ? text : text.slice(0, end);
}

function decoded(value: string): string {
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}
