// Turns received bytes into the session's next event for the phase it is in: a command line, the
// end of DATA through the DataDecoder, or a BDAT chunk of exactly its announced size (its bytes
// through a DataDecoder too, without dot-stuffing, so both get the same line rules and storage).
// SmtpSession owns one and tells it what to read from the state it enters.
import { MAX_LINE_BYTES } from './command.ts';
import { DataDecoder, type DataDecoderOptions } from './data-decoder.ts';
import { InputBuffer } from './input-buffer.ts';
import { type ByteBudget, type MessageSink, UNLIMITED_BUDGET } from './message-blocks.ts';
import type { SessionEvent, SessionState } from './session-state.ts';

/**
 * A BDAT chunk to read (RFC 3030): exactly `sizeBytes` bytes, kept or read only to be discarded;
 * `first` starts a new message, `last` ends it.
 */
export interface BdatChunk {
  readonly sizeBytes: number;
  readonly keep: boolean;
  readonly first: boolean;
  readonly last: boolean;
}

/** The decoder options without the budget and the sink, which the reader brings. */
export type MessageOptions = Omit<DataDecoderOptions, 'budget' | 'dotStuffing' | 'sink'>;

export class SessionReader {
  readonly #input = new InputBuffer();
  readonly #budget: ByteBudget;
  /** Asked for a sink at the start of each message; null when nobody reads messages as they arrive. */
  readonly #newSink: (() => MessageSink | null) | null;
  /** The transaction's message, being read or read and waiting for its answer; its bytes are charged. */
  #message: DataDecoder | null = null;
  #readingData = false;
  #bdat: { remaining: number; keep: boolean; last: boolean } | null = null;
  #messageBytesRead = 0;

  /**
   * Message bytes are charged to `budget` as they are kept, and given back by `releaseMessage`;
   * `newSink` gives each new message a reader of its bytes as they are kept.
   */
  constructor(
    budget: ByteBudget = UNLIMITED_BUDGET,
    newSink: (() => MessageSink | null) | null = null,
  ) {
    this.#budget = budget;
    this.#newSink = newSink;
  }

  /** Bytes received and not yet read. */
  get bufferedBytes(): number {
    return this.#input.length;
  }

  /** Message bytes held (and charged to the budget) until `releaseMessage`. */
  get heldBytes(): number {
    return this.#message?.bytesReserved ?? 0;
  }

  push(chunk: Buffer): void {
    this.#input.push(chunk);
  }

  /** Drops everything received and not yet read; returns how many bytes (STARTTLS, RFC 3207 §4.2). */
  discardBuffered(): number {
    return this.#input.clear();
  }

  /** After 354: the next bytes are message data, up to `<CRLF>.<CRLF>`. */
  expectData(options: MessageOptions): void {
    this.#startMessage({ ...options, dotStuffing: true });
    this.#readingData = true;
  }

  /**
   * After BDAT: the next `sizeBytes` bytes are the chunk, kept or read only to be discarded
   * (RFC 3030 §2). Kept chunks of one message go through one decoder, so a CR LF pair split
   * between two chunks is still one line ending.
   */
  expectBdat(chunk: BdatChunk, options: MessageOptions): void {
    if (chunk.keep && (chunk.first || this.#message === null)) {
      this.#startMessage({ ...options, dotStuffing: false });
    }
    this.#bdat = { remaining: chunk.sizeBytes, keep: chunk.keep, last: chunk.last };
  }

  /** The transaction is over (answered, refused or reset): its message bytes are no longer held. */
  releaseMessage(): void {
    this.#message?.release();
    this.#message = null;
  }

  /** Message bytes read since the last call: a sender earns time on its data deadline with them. */
  takeMessageBytesRead(): number {
    const read = this.#messageBytesRead;
    this.#messageBytesRead = 0;
    return read;
  }

  /** The next event the buffered bytes make in `phase`, or null until more bytes arrive. */
  next(phase: SessionState['phase'], now: () => Date): SessionEvent | null {
    switch (phase) {
      case 'command':
      case 'auth': {
        const result = this.#input.nextLine(MAX_LINE_BYTES);
        if (result === null) return null;
        return result.kind === 'line'
          ? { type: 'line', line: result.line, pipelined: this.#input.length > 0 }
          : { type: 'line-too-long' };
      }
      case 'data':
        return this.#nextFromData(now);
      case 'bdat':
        return this.#nextFromBdat(now);
      default:
        return null;
    }
  }

  clear(): void {
    this.#input.clear();
    this.#readingData = false;
    this.#bdat = null;
    this.releaseMessage();
  }

  #startMessage(options: DataDecoderOptions): void {
    this.releaseMessage();
    const sink = this.#newSink?.() ?? null;
    this.#message = new DataDecoder({ ...options, budget: this.#budget, sink });
  }

  #nextFromData(now: () => Date): SessionEvent | null {
    const decoder = this.#message;
    if (decoder === null || !this.#readingData) return null;
    const chunks = this.#input.takeAll();
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i]!;
      const result = decoder.push(chunk);
      if (!result.done) {
        this.#messageBytesRead += chunk.length;
        continue;
      }
      // What followed the end marker is the next pipelined command: it goes back, in order.
      this.#messageBytesRead += chunk.length - result.rest.length;
      for (let j = chunks.length - 1; j > i; j--) this.#input.unshift(chunks[j]!);
      this.#input.unshift(result.rest);
      this.#readingData = false;
      return { type: 'data-end', outcome: result.outcome, now: now() };
    }
    return null;
  }

  #nextFromBdat(now: () => Date): SessionEvent | null {
    const bdat = this.#bdat;
    if (bdat === null) return null;
    const count = Math.min(bdat.remaining, this.#input.length);
    if (count > 0) {
      const parts = this.#input.takeBytes(count)!;
      bdat.remaining -= count;
      this.#messageBytesRead += count;
      if (bdat.keep) for (const part of parts) this.#message!.push(part);
    }
    if (bdat.remaining > 0) return null;
    this.#bdat = null;
    const outcome = bdat.keep && bdat.last ? this.#message!.end() : null;
    return { type: 'bdat-chunk', outcome, now: now() };
  }
}
