// The fields of a message's header block, found in the chunks it arrived in without copying
// them, and the message without some of them: for the fields a stage must replace or remove
// (Return-Path, RFC 5321 §4.4; forged Authentication-Results, RFC 8601 §5).

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;

type ScanState = 'line-start' | 'line-start-cr' | 'name' | 'rest';

/**
 * The byte ranges [start, end) of the fields called `name` (lower case) in the header block of a
 * message in chunks, in order, each with its folded continuation lines. The header block ends at
 * the first empty line; only its first `maxBytes` are read, and a field still open there is left
 * alone. Field names match case-insensitively, with the space the obsolete syntax allows before
 * the colon (RFC 5322 §4.5.7).
 */
export function headerFieldRanges(
  chunks: readonly Buffer[],
  name: string,
  maxBytes: number,
): [number, number][] {
  const NAME = Buffer.from(name, 'latin1');
  const fields: [number, number][] = [];
  let state: ScanState = 'line-start';
  let offset = 0; // of the chunk being read
  let lineStart = 0;
  let fieldStart = -1; // of the wanted field being read, -1 when the field is another
  let matched = 0; // bytes of the name matched at the start of this line
  for (const chunk of chunks) {
    const room = maxBytes - offset;
    const view = chunk.length <= room ? chunk : chunk.subarray(0, Math.max(room, 0));
    let i = 0;
    while (i < view.length) {
      const byte = view[i]!;
      if (state === 'rest') {
        // Nothing more to learn from this line: skip to its end without a byte-at-a-time loop.
        const lf = view.indexOf(LF, i);
        if (lf === -1) break;
        i = lf + 1;
        lineStart = offset + i;
        state = 'line-start';
      } else if (state === 'line-start') {
        if (byte === SP || byte === HT) {
          state = 'rest'; // a folded line belongs to the field before it
          continue;
        }
        if (fieldStart !== -1) fields.push([fieldStart, lineStart]);
        fieldStart = -1;
        if (byte === LF) return fields; // the empty line ending the header block
        matched = 0;
        state = byte === CR ? 'line-start-cr' : 'name';
        if (byte === CR) i++;
      } else if (state === 'line-start-cr') {
        if (byte === LF) return fields;
        state = 'rest';
      } else if (matched < NAME.length) {
        // state 'name': the line so far is a prefix of the field name
        const lower = byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte;
        if (lower !== NAME[matched]) state = 'rest';
        else {
          matched++;
          i++;
        }
      } else if (byte === SP || byte === HT) i++;
      else {
        if (byte === COLON) fieldStart = lineStart;
        state = 'rest';
      }
    }
    if (view.length < chunk.length) return fields;
    offset += chunk.length;
  }
  // A message that is all header block: its last field runs to the end.
  if (fieldStart !== -1) fields.push([fieldStart, offset]);
  return fields;
}

/** The chunks without the byte ranges (in order, apart), as the same Buffers or views of them. */
export function withoutRanges(
  chunks: readonly Buffer[],
  ranges: readonly [number, number][],
): Buffer[] {
  if (ranges.length === 0) return [...chunks];
  const kept: Buffer[] = [];
  let next = 0;
  let offset = 0;
  for (const chunk of chunks) {
    const end = offset + chunk.length;
    let at = offset; // what of this chunk is not yet kept or left out
    while (next < ranges.length && ranges[next]![0] < end) {
      const [start, stop] = ranges[next]!;
      if (start > at) kept.push(chunk.subarray(at - offset, start - offset));
      if (stop > end) {
        at = end; // the range goes on into the next chunk
        break;
      }
      at = stop;
      next++;
    }
    if (at === offset) kept.push(chunk);
    else if (at < end) kept.push(chunk.subarray(at - offset));
    offset = end;
  }
  return kept;
}

/** The bytes of `range` [start, end) of the chunks, as one Buffer. */
export function bytesAt(
  chunks: readonly Buffer[],
  [start, end]: readonly [number, number],
): Buffer {
  const pieces: Buffer[] = [];
  let offset = 0;
  for (const chunk of chunks) {
    const chunkEnd = offset + chunk.length;
    if (chunkEnd > start && offset < end) {
      pieces.push(chunk.subarray(Math.max(start - offset, 0), Math.min(end, chunkEnd) - offset));
    }
    offset = chunkEnd;
    if (offset >= end) break;
  }
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
}
