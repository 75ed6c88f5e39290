// Return-Path (RFC 5321 §4.4): the stage that delivers a message records its envelope sender at the
// top, and for a message the function takes that stage is mxhook. Return-Path fields already in the
// header block were put there by someone else; the delivering stage may remove them (§4.4 again),
// so the function sees the one true sender.
import type { HookArgs } from '../handler.ts';
import type { Middleware } from '../middleware.ts';
import { headerFieldRanges, withoutRanges } from '../smtp/header-fields.ts';

type DataMessage = HookArgs<'data'>['message'];

/**
 * How far into a message the header block is searched. A 25 MiB message is never scanned whole:
 * past this, a header block is treated as ended, and later Return-Path fields are left in place.
 * Real header blocks are a few KiB; 256 KiB is well beyond one with hundreds of Received fields.
 */
export const HEADER_SCAN_MAX_BYTES = 256 * 1024;

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
    chunks: [header, ...withoutRanges(message.chunks, fields)],
    sizeBytes: message.sizeBytes + header.length - removedBytes,
  };
}

/**
 * The byte ranges [start, end) of the Return-Path fields in the header block (see
 * headerFieldRanges), reading its first `maxBytes` only.
 */
export function returnPathFields(
  chunks: readonly Buffer[],
  maxBytes = HEADER_SCAN_MAX_BYTES,
): [number, number][] {
  return headerFieldRanges(chunks, 'return-path', maxBytes);
}
