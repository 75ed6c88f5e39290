// Return-Path (RFC 5321 §4.4): the stage that delivers a message records its envelope sender at the
// top, and for a message the function takes that stage is mxhook. Return-Path fields already in the
// header block were put there by someone else; the delivering stage may remove them (§4.4 again),
// so the function sees the one true sender.
import type { HookArgs } from '../handler.ts';
import type { Middleware } from '../middleware.ts';

type DataMessage = HookArgs<'data'>['message'];

/**
 * How far into a message the header block is searched. A 25 MiB message is never scanned whole:
 * past this, a header block is treated as ended, and later Return-Path fields are left in place.
 * Real header blocks are a few KiB; 256 KiB is well beyond one with hundreds of Received fields.
 */
export const HEADER_SCAN_MAX_BYTES = 256 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;
const NAME = Buffer.from('return-path', 'latin1');

/** Adds `Return-Path: <sender>` on top of the data call's message and removes any it carried. */
export function returnPath(): Middleware {
  return (c, next) => {
    if (c.step === 'data') {
      // The data step always has a sender; MAIL FROM:<> is the empty address, the null sender.
      const sender = c.call.envelope.mailFrom?.address ?? '';
      c.call = { ...c.call, message: withReturnPath(c.call.message, sender) };
    }
    return next();
  };
}

/**
 * The message with `Return-Path: <sender>` first and every Return-Path field of its header block
 * left out; the size follows. The chunks are not copied: the result is a new first Buffer, then
 * the same chunks, or views of them around the fields left out.
 */
export function withReturnPath(message: DataMessage, sender: string): DataMessage {
  const header = Buffer.from(`Return-Path: <${sender}>\r\n`, 'utf8');
  const fields = returnPathFields(message.chunks);
  let removedBytes = 0;
  for (const [start, end] of fields) removedBytes += end - start;
  return {
    ...message,
    chunks: [header, ...without(message.chunks, fields)],
    sizeBytes: message.sizeBytes + header.length - removedBytes,
  };
}

type ScanState = 'line-start' | 'line-start-cr' | 'name' | 'rest';

/**
 * The byte ranges [start, end) of the Return-Path fields in the header block of a message in
 * chunks, in order, each with its folded continuation lines. The header block ends at the first
 * empty line; only its first `maxBytes` are read, and a field still open there is left alone.
 * Field names match case-insensitively, with the space the obsolete syntax allows before the
 * colon (RFC 5322 §4.5.7, obs-return).
 */
export function returnPathFields(
  chunks: readonly Buffer[],
  maxBytes = HEADER_SCAN_MAX_BYTES,
): [number, number][] {
  const fields: [number, number][] = [];
  let state: ScanState = 'line-start';
  let offset = 0; // of the chunk being read
  let lineStart = 0;
  let fieldStart = -1; // of the Return-Path field being read, -1 when the field is another
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
function without(chunks: readonly Buffer[], ranges: readonly [number, number][]): Buffer[] {
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
