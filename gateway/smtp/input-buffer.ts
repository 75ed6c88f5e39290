// Holds received bytes between commands: splits command lines and hands out exact byte counts for BDAT.
// Bytes stay in the Buffers the socket delivered; lines are found with indexOf, never byte by byte.

export type LineResult =
  | { readonly kind: 'line'; readonly line: Buffer }
  | { readonly kind: 'too-long' };

const LF = 0x0a;
const CR = 0x0d;

export class InputBuffer {
  #chunks: Buffer[] = [];
  #length = 0;
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
    this.#chunks.unshift(chunk);
    this.#length += chunk.length;
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
    const out: Buffer[] = [];
    let need = count;
    while (need > 0) {
      const head = this.#chunks[0]!;
      if (head.length <= need) {
        out.push(head);
        this.#chunks.shift();
        need -= head.length;
      } else {
        out.push(head.subarray(0, need));
        this.#chunks[0] = head.subarray(need);
        need = 0;
      }
    }
    this.#length -= count;
    return out;
  }

  /** Everything held, emptying the buffer. */
  takeAll(): Buffer[] {
    const out = this.#chunks;
    this.#chunks = [];
    this.#length = 0;
    return out;
  }

  /** Drops everything held; returns how many bytes were dropped. */
  clear(): number {
    const dropped = this.#length;
    this.#chunks = [];
    this.#length = 0;
    return dropped;
  }

  #indexOfLf(): number {
    let offset = 0;
    for (const chunk of this.#chunks) {
      const at = chunk.indexOf(LF);
      if (at !== -1) return offset + at;
      offset += chunk.length;
    }
    return -1;
  }

  #take(count: number): Buffer {
    const parts = this.takeBytes(count)!;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, count);
  }

  #drop(count: number): void {
    this.takeBytes(count);
  }
}
