// Finds a message's Message-ID in its header block, cheaply, for the transaction log line.

/**
 * How far into the message the header block is searched. Header blocks are a few kilobytes; a
 * long Received or DKIM chain can reach tens. A Message-ID beyond this is not looked for.
 */
export const MESSAGE_ID_SCAN_BYTES = 64 * 1024;

/** RFC 5322 §2.1.1: a line is at most 998 characters, so no real Message-ID is longer. */
const MAX_MESSAGE_ID_CHARACTERS = 998;

/** A header line `Message-ID:` and its folded continuation lines (RFC 5322 §2.2.3, §3.6.4). */
const MESSAGE_ID_FIELD = /^message-id[ \t]*:([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)/im;

/**
 * The Message-ID of the message whose bytes (after dot-unstuffing) are `chunks`: the `<…>` of the
 * first Message-ID field in the header block, or its whole value when it has no angle brackets;
 * null when the header block has none. Only the first `MESSAGE_ID_SCAN_BYTES` are read, and only
 * up to the empty line that ends the header block, so the body is never searched.
 *
 * @example
 * findMessageId([Buffer.from('Message-ID: <1@a.example>\r\n\r\nbody')]); // '<1@a.example>'
 */
export function findMessageId(chunks: readonly Buffer[]): string | null {
  const head = headText(chunks, MESSAGE_ID_SCAN_BYTES);
  const blank = /(?:^|\n)\r?\n/.exec(head);
  const block = blank === null ? head : head.slice(0, blank.index);
  const value = MESSAGE_ID_FIELD.exec(block)?.[1]?.replace(/\r?\n/g, '').trim();
  if (value === undefined || value === '') return null;
  const id = /<[^<>]*>/.exec(value)?.[0] ?? value;
  return id.slice(0, MAX_MESSAGE_ID_CHARACTERS);
}

/** The first `limitBytes` of the message as text, copying no more than that. */
function headText(chunks: readonly Buffer[], limitBytes: number): string {
  const parts: Buffer[] = [];
  let total = 0;
  for (const chunk of chunks) {
    if (total >= limitBytes) break;
    const part = chunk.subarray(0, limitBytes - total);
    parts.push(part);
    total += part.length;
  }
  return Buffer.concat(parts, total).toString('utf8');
}
