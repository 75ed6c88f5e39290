// JSON written as UTF-8 pieces of about 64 Ki characters, each in its own ArrayBuffer (so it can be
// transferred to another thread), with long strings escaped a slice at a time: the whole text is
// never one string, which for a message with a 7 MiB HTML body would be a 14 MiB two-byte string.

/** Characters gathered before they are encoded into one piece. */
const PIECE_CHARS = 64 * 1024;

export class JsonPieces {
  readonly #pieces: Uint8Array<ArrayBuffer>[] = [];
  readonly #encoder = new TextEncoder();
  #pending: string[] = [];
  #pendingChars = 0;

  /** JSON text written as it is (punctuation, or a small value already stringified). */
  raw(text: string): this {
    this.#pending.push(text);
    this.#pendingChars += text.length;
    if (this.#pendingChars >= PIECE_CHARS) this.#flush();
    return this;
  }

  /** A small value, stringified whole. */
  value(value: unknown): this {
    return this.raw(JSON.stringify(value));
  }

  /** A string value of any length, escaped exactly as JSON.stringify escapes it. */
  string(value: string | null): this {
    if (value === null || value.length <= PIECE_CHARS) return this.value(value);
    this.raw('"');
    for (let start = 0; start < value.length; ) {
      let end = Math.min(start + PIECE_CHARS, value.length);
      // A surrogate pair cut in two would be escaped as two lone surrogates (\ud83d\ude00).
      if (end < value.length && isHighSurrogate(value.charCodeAt(end - 1))) end--;
      this.raw(JSON.stringify(value.slice(start, end)).slice(1, -1));
      start = end;
    }
    return this.raw('"');
  }

  /** The pieces, in order. */
  end(): Uint8Array<ArrayBuffer>[] {
    this.#flush();
    return this.#pieces;
  }

  #flush(): void {
    if (this.#pendingChars === 0) return;
    this.#pieces.push(this.#encoder.encode(this.#pending.join('')));
    this.#pending = [];
    this.#pendingChars = 0;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
