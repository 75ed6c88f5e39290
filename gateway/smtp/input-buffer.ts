// Holds received bytes between commands: splits command lines and hands out exact byte counts for BDAT.
// Bytes stay in the Buffers the socket delivered; lines are found with indexOf, never byte by byte,
// and every byte is searched once however finely the line was split: a sender trickling a line
// one byte per TCP segment must cost work proportional to its bytes, not to their square.

export type LineResult =
  | { readonly kind: 'line'; readonly line: Buffer }
  | { readonly kind: 'too-long' };

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);
/** Consumed slots at the front of #chunks are cut off in one go once there are this many. */
const COMPACT_AT = 64;

export class InputBuffer {
  /**
   * The held bytes are #chunks[#head..], in order. Consumed slots stay before #head and are cut
   * off in batches: `shift()` on a long array moves every element each time.
   */
  #chunks: Buffer[] = [];
  #head = 0;
  #length = 0;
  /** Where the search for the next LF resumes: the held bytes before it hold none. */
  #scanChunk = 0;
  #scanOffset = 0;
  #scannedBytes = 0;
  /** Inside an over-long line that was already answered: drop bytes up to its LF. */
  #skippingLine = false;

  /** Bytes held, waiting to be read. */
  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** Puts bytes back in front (what a decoder read past its end marker). */
  unshift(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.#head > 0) this.#chunks[--this.#head] = chunk;
    else this.#chunks.unshift(chunk);
    this.#length += chunk.length;
    this.#rescan();
  }

  /**
   * The next line without its ending. Commands end with CRLF (RFC 5321 §2.3.8); a bare LF is
   * accepted as well, as by Postfix, since in command mode it cannot smuggle anything.
   * A line longer than `maxBytes` is reported once as soon as it is known to be too long, and the
   * rest of it is dropped unread.
   */
  nextLine(maxBytes: number): LineResult | null {
    while (this.#length > 0) {
      const end = this.#indexOfLf();
      if (this.#skippingLine) {
        if (end === -1) {
          this.clear();
          return null;
        }
        this.#drop(end + 1);
        this.#skippingLine = false;
        continue;
      }
      if (end === -1) {
        if (this.#length <= maxBytes) return null;
        this.clear();
        this.#skippingLine = true;
        return { kind: 'too-long' };
      }
      if (end > maxBytes) {
        this.#drop(end + 1);
        return { kind: 'too-long' };
      }
      const raw = this.#take(end + 1);
      const cut = raw.length >= 2 && raw[raw.length - 2] === CR ? 2 : 1;
      return { kind: 'line', line: raw.subarray(0, raw.length - cut) };
    }
    return null;
  }

  /** Exactly `count` bytes as the list of pieces they arrived in, or null until that many are held. */
  takeBytes(count: number): Buffer[] | null {
    if (this.#length < count) return null;
    const chunks = this.#chunks;
    const out: Buffer[] = [];
    let head = this.#head;
    let need = count;
    while (need > 0) {
      const first = chunks[head]!;
      if (first.length <= need) {
        out.push(first);
        chunks[head] = EMPTY;
        head += 1;
        need -= first.length;
      } else {
        out.push(first.subarray(0, need));
        chunks[head] = first.subarray(need);
        need = 0;
      }
    }
    this.#length -= count;
    if (head === chunks.length) {
      this.#chunks = [];
      head = 0;
    } else if (head >= COMPACT_AT && 2 * head >= chunks.length) {
      this.#chunks = chunks.slice(head);
      head = 0;
    }
    this.#head = head;
    this.#rescan();
    return out;
  }

  /** Everything held, emptying the buffer. */
  takeAll(): Buffer[] {
    const out = this.#head === 0 ? this.#chunks : this.#chunks.slice(this.#head);
    this.clear();
    return out;
  }

  /** Drops everything held; returns how many bytes were dropped. */
  clear(): number {
    const dropped = this.#length;
    this.#chunks = [];
    this.#head = 0;
    this.#length = 0;
    this.#rescan();
    return dropped;
  }

  /** Offset of the first LF in the held bytes, or -1; resumes where the last search stopped. */
  #indexOfLf(): number {
    const chunks = this.#chunks;
    while (this.#scanChunk < chunks.length) {
      const chunk = chunks[this.#scanChunk]!;
      const at = chunk.indexOf(LF, this.#scanOffset);
      if (at !== -1) return this.#scannedBytes + at - this.#scanOffset;
      this.#scannedBytes += chunk.length - this.#scanOffset;
      this.#scanChunk += 1;
      this.#scanOffset = 0;
    }
    return -1;
  }

  /**
   * The front of the held bytes changed: search from it again. Bytes are only taken up to a found
   * LF or as a counted BDAT chunk, so nothing searched before is searched again in a line.
   */
  #rescan(): void {
    this.#scanChunk = this.#head;
    this.#scanOffset = 0;
    this.#scannedBytes = 0;
  }

  #take(count: number): Buffer {
    const parts = this.takeBytes(count)!;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, count);
  }

  #drop(count: number): void {
    this.takeBytes(count);
  }
}
