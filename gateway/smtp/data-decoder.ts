// Incremental, pure SMTP DATA decoder: finds <CRLF>.<CRLF>, unstuffs dots, enforces limits.
//
// The I/O shell feeds every chunk received after the `354` reply to `push` until it reports `done`;
// the bytes after the end marker (`rest`) are the client's next, pipelined commands.
//
// Rules, exactly:
//
// - Lines are delimited by CRLF only. A "line start" is the first byte of the data (the CRLF that
//   ended the DATA command line counts as the first CRLF) or the byte right after a CR LF pair in
//   the input. Nothing else starts a line: not a bare LF, not a bare CR, not an LF after a
//   removed dot.
// - End of data is ONLY `.` CR LF at a line start, i.e. <CRLF>.<CRLF> (RFC 5321 §4.1.1.4). The CRLF
//   before the dot is the last line ending of the message. `<LF>.<LF>`, `<LF>.<CRLF>`,
//   `<CRLF>.<LF>`, `<CR>.<CRLF>`, `<CR>.<LF>` are content, never the end: they are the SMTP
//   smuggling sequences (CVE-2023-51764 and relatives) that other servers mistook for it.
// - Dot-unstuffing (RFC 5321 §4.5.2): a `.` at a line start that is not the end marker is removed.
//   That includes `<CRLF>.<LF>`: the line (up to the next CRLF) starts with a period and has
//   other characters, so §4.5.2 deletes the period; the LF after it is then a bare LF.
// - Bare LF (an LF whose preceding input byte is not CR). Policy `normalize`: a CR is inserted
//   before it in the output, so the message keeps the line structure the sender meant, and that is
//   ALL it changes — it still does not start a line, so `a<LF>.<CRLF>` decodes to `a<CRLF>.<CRLF>`
//   and `a<LF>..b` keeps both dots. Where the data ends can never depend on the policy, so a
//   smuggled message cannot appear under one policy and not the other. Policy `reject`: the data is
//   read to its real end and then reported as `bare-lf` (the reply must not come mid-data, or the
//   rest of the message would be read as commands).
// - Bare CR is content and is passed through unchanged under both policies.
// - Size is the number of decoded bytes (after unstuffing, including inserted CRs). Once it exceeds
//   `maxMessageBytes` everything held is freed and the rest is only scanned for the end marker.
// - Line length is measured on the decoded output, up to and including its LF, so the stuffed dot is
//   not counted (RFC 5321 §4.5.3.1.6: 1000 octets including CRLF, not counting the duplicated dot).
// - BDAT (RFC 3030 §2) has no dot-stuffing and no end marker: with `dotStuffing: false` the same
//   line rules apply (bare LF, line length, size) to bytes the caller counted out, and `end` gives
//   the outcome after the LAST chunk; an unterminated last line is measured as if CRLF followed.
// - Every decoded byte is charged to `budget` as it is kept; once the budget has no room the
//   message is read on to its end like an over-size one and reported as `over-budget`.
// - When several problems occur the outcome reports the first of: too-large, bare-lf, long-line,
//   over-budget (a permanent refusal before a temporary one).
//
// Memory: decoded bytes are kept in MessageBlocks (see there), never one Buffer per pushed chunk.

import {
  type ByteBudget,
  MessageBlocks,
  type MessageSink,
  UNLIMITED_BUDGET,
} from './message-blocks.ts';

export type BareLfPolicy = 'normalize' | 'reject';
export type LongLinePolicy = 'accept' | 'reject';

export interface DataDecoderOptions {
  /** Limit on the decoded (unstuffed) message size. */
  readonly maxMessageBytes: number;
  readonly bareLf: BareLfPolicy;
  /** Text lines over 1000 octets including CRLF (RFC 5321 §4.5.3.1.6). */
  readonly longLines: LongLinePolicy;
  /** DATA's dot-stuffing and end marker (default); false for BDAT chunks. */
  readonly dotStuffing?: boolean;
  /** Where kept bytes are charged; unlimited when absent. */
  readonly budget?: ByteBudget;
  /** Told each kept piece of the decoded message as it is kept. */
  readonly sink?: MessageSink | null;
}

export type DataOutcome =
  | { readonly kind: 'complete'; readonly chunks: readonly Buffer[]; readonly sizeBytes: number }
  /** → 552 5.3.4; `sizeBytes` is how many decoded bytes were seen in total. */
  | { readonly kind: 'too-large'; readonly sizeBytes: number }
  /** Only when `bareLf` is `reject`. */
  | { readonly kind: 'bare-lf' }
  /** Only when `longLines` is `reject`. */
  | { readonly kind: 'long-line' }
  /** The shared byte budget had no room for the message → 452 4.3.1. */
  | { readonly kind: 'over-budget' };

export type DataPush =
  /** The whole chunk was consumed; more is needed. */
  | { readonly done: false }
  /** `rest` holds the bytes after <CRLF>.<CRLF>. */
  | { readonly done: true; readonly outcome: DataOutcome; readonly rest: Buffer };

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/** RFC 5321 §4.5.3.1.6: maximum text line length including CRLF. */
const MAX_LINE_BYTES = 1000;
/** Bytes looked at one by one before asking `indexOf` for the next LF (see nextLf). */
const PEEK_BYTES = 8;

// Where the decoder stands between two input bytes. Only these four facts (plus "was the previous
// byte a CR", for classifying an LF) cross chunk boundaries, so a marker split anywhere is found.
/** Inside a line. */
const MID_LINE = 0;
/** At a line start (after CRLF, or at the very start of the data). */
const LINE_START = 1;
/** Saw `.` at a line start; the dot is already dropped (stuffing or end marker, never content). */
const AFTER_DOT = 2;
/** Saw `.` CR at a line start; the CR is held back until we know whether LF (the end) follows. */
const AFTER_DOT_CR = 3;
type Phase = typeof MID_LINE | typeof LINE_START | typeof AFTER_DOT | typeof AFTER_DOT_CR;

const PUSH_AGAIN: DataPush = Object.freeze({ done: false });

export class DataDecoder {
  readonly #maxMessageBytes: number;
  readonly #normalizeBareLf: boolean;
  readonly #rejectLongLines: boolean;
  readonly #dotStuffing: boolean;

  #phase: Phase = LINE_START;
  #prevCr = false;
  /** Decoded bytes of the current output line so far. */
  #lineBytes = 0;
  #sizeBytes = 0;
  #bareLfSeen = false;
  #longLineSeen = false;
  #overBudget = false;
  #finished = false;

  /** The message so far; emptied as soon as the outcome cannot be `complete`. */
  readonly #blocks: MessageBlocks;
  /** Edits (see MessageBlocks) turning the pushed chunk into output, reused across pushes. */
  readonly #edits: number[] = [];

  constructor(options: DataDecoderOptions) {
    const { maxMessageBytes, bareLf, longLines, dotStuffing = true } = options;
    if (!Number.isSafeInteger(maxMessageBytes) || maxMessageBytes < 0) {
      throw new RangeError(
        `DataDecoder: maxMessageBytes must be a non-negative integer, got ${maxMessageBytes}`,
      );
    }
    if (bareLf !== 'normalize' && bareLf !== 'reject') {
      throw new TypeError(`DataDecoder: bareLf must be 'normalize' or 'reject', got ${bareLf}`);
    }
    if (longLines !== 'accept' && longLines !== 'reject') {
      throw new TypeError(`DataDecoder: longLines must be 'accept' or 'reject', got ${longLines}`);
    }
    this.#maxMessageBytes = maxMessageBytes;
    this.#normalizeBareLf = bareLf === 'normalize';
    this.#rejectLongLines = longLines === 'reject';
    this.#dotStuffing = dotStuffing;
    this.#blocks = new MessageBlocks(options.budget ?? UNLIMITED_BUDGET, options.sink ?? null);
  }

  /** Decoded bytes currently held by the decoder; 0 once the outcome is handed over. */
  get bytesHeld(): number {
    return this.#finished || this.#discarding() ? 0 : this.#sizeBytes;
  }

  /** Bytes charged to the budget, including a complete message handed over, until `release`. */
  get bytesReserved(): number {
    return this.#blocks.reservedBytes;
  }

  /** The message is no longer held by anyone: its bytes go back to the budget. */
  release(): void {
    this.#blocks.release();
  }

  push(chunk: Buffer): DataPush {
    if (this.#finished) {
      throw new Error('DataDecoder.push called after the end of data was reported');
    }
    const length = chunk.length;
    if (length === 0) return PUSH_AGAIN;

    const edits = this.#edits;
    edits.length = 0;
    // Once nothing is kept, edits are only counted, not recorded.
    const record = !this.#discarding();
    let inserted = 0;
    let removed = 0;
    let phase = this.#phase;
    let lineBytes = this.#lineBytes;
    let i = 0;
    let restStart = -1;

    while (i < length) {
      if (phase === MID_LINE) {
        const lf = nextLf(chunk, i);
        if (lf === -1) {
          lineBytes += length - i;
          break;
        }
        let lineEndBytes = lf + 1 - i;
        if (lf > 0 ? chunk[lf - 1] === CR : this.#prevCr) {
          phase = LINE_START;
        } else {
          // A bare LF never starts a line (see the header); normalising only adds the CR.
          this.#bareLfSeen = true;
          if (this.#normalizeBareLf) {
            if (record) edits.push(lf);
            inserted += 1;
            lineEndBytes += 1;
          }
        }
        if (lineBytes + lineEndBytes > MAX_LINE_BYTES) this.#longLineSeen = true;
        lineBytes = 0;
        i = lf + 1;
      } else if (phase === LINE_START) {
        if (chunk[i] === DOT && this.#dotStuffing) {
          // RFC 5321 §4.5.2: the dot goes, whether it turns out to be stuffing or the end marker.
          if (record) edits.push(-(i + 1));
          removed += 1;
          phase = AFTER_DOT;
          i += 1;
        } else {
          phase = MID_LINE;
        }
      } else if (phase === AFTER_DOT) {
        if (chunk[i] === CR) {
          phase = AFTER_DOT_CR;
          i += 1;
        } else {
          phase = MID_LINE;
        }
      } else if (chunk[i] === LF) {
        // RFC 5321 §4.1.1.4: <CRLF>.<CRLF> ends the mail data.
        restStart = i + 1;
        break;
      } else {
        // The dot was stuffing, so the CR after it is content (a bare CR, as no LF follows).
        // It is still in this chunk unless it was the last byte of the previous one.
        if (i === 0) {
          if (record) edits.push(0);
          inserted += 1;
        }
        lineBytes += 1;
        phase = MID_LINE;
      }
    }

    if (restStart === -1) {
      // A held-back CR is the last byte of this chunk; it is emitted once the next byte is known.
      const outputEnd = phase === AFTER_DOT_CR ? length - 1 : length;
      this.#store(chunk, outputEnd, outputEnd + inserted - removed);
      this.#phase = phase;
      this.#lineBytes = lineBytes;
      this.#prevCr = chunk[length - 1] === CR;
      return PUSH_AGAIN;
    }

    // The output stops at the terminator's dot. When that dot is in this chunk (the LF is at
    // restStart - 1, the CR before it, the dot before that), its removal is the last edit.
    let outputEnd = 0;
    if (restStart >= 3) {
      outputEnd = restStart - 3;
      if (record) edits.pop();
      removed -= 1;
    }
    this.#store(chunk, outputEnd, outputEnd + inserted - removed);
    return { done: true, outcome: this.#finish(), rest: chunk.subarray(restStart) };
  }

  /** The outcome once the caller has pushed all of a message that has no end marker (BDAT LAST). */
  end(): DataOutcome {
    if (this.#finished || this.#dotStuffing) {
      throw new Error('DataDecoder.end is only for BDAT content, once');
    }
    // The last line has no line ending of its own: measure it as if CRLF followed.
    const endingBytes = this.#prevCr ? 1 : 2;
    if (this.#lineBytes > 0 && this.#lineBytes + endingBytes > MAX_LINE_BYTES) {
      this.#longLineSeen = true;
    }
    return this.#finish();
  }

  /** True once the outcome can no longer be `complete`, so nothing more needs to be kept. */
  #discarding(): boolean {
    return (
      this.#sizeBytes > this.#maxMessageBytes ||
      (this.#bareLfSeen && !this.#normalizeBareLf) ||
      (this.#longLineSeen && this.#rejectLongLines) ||
      this.#overBudget
    );
  }

  /** Keeps chunk[0, end) with the recorded edits applied, which is `total` bytes long. */
  #store(chunk: Buffer, end: number, total: number): void {
    this.#sizeBytes += total;
    // Discarding never stops once started, so edits skipped by `push` are never needed here.
    if (this.#discarding()) {
      this.#blocks.release();
      return;
    }
    if (!this.#blocks.append(chunk, end, this.#edits, total)) this.#overBudget = true;
  }

  #finish(): DataOutcome {
    this.#finished = true;
    this.#edits.length = 0;
    let outcome: DataOutcome;
    if (this.#sizeBytes > this.#maxMessageBytes) {
      outcome = { kind: 'too-large', sizeBytes: this.#sizeBytes };
    } else if (this.#bareLfSeen && !this.#normalizeBareLf) {
      outcome = { kind: 'bare-lf' };
    } else if (this.#longLineSeen && this.#rejectLongLines) {
      outcome = { kind: 'long-line' };
    } else if (this.#overBudget) {
      outcome = { kind: 'over-budget' };
    } else {
      // The bytes stay charged to the budget until `release`: the message is held until answered.
      return { kind: 'complete', chunks: this.#blocks.take(), sizeBytes: this.#sizeBytes };
    }
    this.#blocks.release();
    return outcome;
  }
}

/**
 * `chunk.indexOf(LF, from)`, but the first few bytes are looked at directly: every indexOf call
 * pays a fixed cost through the native binding that dwarfs the scan itself on very short lines,
 * which is exactly what a flood of empty lines, bare LFs or stuffed dots consists of.
 */
function nextLf(chunk: Buffer, from: number): number {
  const peekEnd = Math.min(from + PEEK_BYTES, chunk.length);
  for (let k = from; k < peekEnd; k += 1) {
    if (chunk[k] === LF) return k;
  }
  return peekEnd === chunk.length ? -1 : chunk.indexOf(LF, peekEnd);
}
