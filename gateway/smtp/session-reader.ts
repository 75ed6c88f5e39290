// Turns received bytes into the session's next event for the phase it is in: a command line, the
// end of DATA through the DataDecoder, or a BDAT chunk of exactly its announced size. Pure: the
// I/O shell pushes what the socket delivered and dispatches what comes out.
import { MAX_LINE_BYTES } from './command.ts';
import { DataDecoder, type DataDecoderOptions } from './data-decoder.ts';
import { InputBuffer } from './input-buffer.ts';
import type { SessionEvent, SessionState } from './session-state.ts';

export class SessionReader {
  readonly #input = new InputBuffer();
  #decoder: DataDecoder | null = null;
  #bdat: { remaining: number; keep: boolean; parts: Buffer[] } | null = null;
  /** Message bytes this session holds: DATA being decoded or decoded, or BDAT chunks kept. */
  #heldBytes = 0;
  #messageBytesRead = 0;

  /** Bytes received and not yet read. */
  get bufferedBytes(): number {
    return this.#input.length;
  }

  /** Message bytes held until `releaseMessage`, for the shared memory budget. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  push(chunk: Buffer): void {
    this.#input.push(chunk);
  }

  /** Drops everything received and not yet read; returns how many bytes (STARTTLS, RFC 3207 §4.2). */
  discardBuffered(): number {
    return this.#input.clear();
  }

  /** After 354: the next bytes are message data, up to `<CRLF>.<CRLF>`. */
  expectData(options: DataDecoderOptions): void {
    this.#decoder = new DataDecoder(options);
  }

  /** After BDAT: the next `sizeBytes` bytes are the chunk, kept or read only to be discarded (RFC 3030 §2). */
  expectBdat(sizeBytes: number, keep: boolean): void {
    this.#bdat = { remaining: sizeBytes, keep, parts: [] };
  }

  /** The transaction is over (answered, refused or reset): its message bytes are no longer held. */
  releaseMessage(): void {
    this.#heldBytes = 0;
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
          ? { type: 'line', line: result.line }
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
    this.#decoder = null;
    this.#bdat = null;
    this.#heldBytes = 0;
  }

  #nextFromData(now: () => Date): SessionEvent | null {
    const decoder = this.#decoder;
    if (decoder === null) return null;
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
      this.#decoder = null;
      this.#heldBytes = result.outcome.kind === 'complete' ? result.outcome.sizeBytes : 0;
      return { type: 'data-end', outcome: result.outcome, now: now() };
    }
    this.#heldBytes = decoder.bytesHeld;
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
      if (bdat.keep) {
        bdat.parts.push(...parts);
        this.#heldBytes += count;
      }
    }
    if (bdat.remaining > 0) return null;
    this.#bdat = null;
    return { type: 'bdat-chunk', chunks: bdat.parts, now: now() };
  }
}
