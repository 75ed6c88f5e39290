// Incremental base64 / base64url (RFC 4648 §4, §5): bytes arrive in pieces of any length, text comes
// out in whole 4-character groups, so a message is encoded without ever being concatenated.

export type Base64Alphabet = 'base64' | 'base64url';

export class Base64Encoder {
  readonly #alphabet: Base64Alphabet;
  /** Up to 2 bytes that did not complete a 3-byte group yet. */
  readonly #carry = Buffer.alloc(3);
  #carried = 0;

  constructor(alphabet: Base64Alphabet) {
    this.#alphabet = alphabet;
  }

  /**
   * Hands `emit` the text of every complete 3-byte group so far, in order; the 0–2 bytes left over
   * wait for more. A group completed across two pieces is emitted on its own rather than joined to
   * the rest: joining would make V8 copy the whole text again when it is used.
   */
  push(bytes: Uint8Array, emit: (text: string) => void): void {
    const input = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let start = 0;
    if (this.#carried > 0) {
      start = Math.min(3 - this.#carried, input.length);
      input.copy(this.#carry, this.#carried, 0, start);
      this.#carried += start;
      if (this.#carried < 3) return;
      emit(this.#carry.toString(this.#alphabet, 0, 3));
      this.#carried = 0;
    }
    const end = start + Math.floor((input.length - start) / 3) * 3;
    this.#carried = input.copy(this.#carry, 0, end);
    if (end > start) emit(input.toString(this.#alphabet, start, end));
  }

  /** The last group: padded with `=` in base64, unpadded in base64url (as Node and JWS write it). */
  end(): string {
    const rest = this.#carry.toString(this.#alphabet, 0, this.#carried);
    this.#carried = 0;
    return rest;
  }
}

/** Length of the base64 text (with padding) of `byteLength` bytes. */
export function base64Length(byteLength: number): number {
  return Math.ceil(byteLength / 3) * 4;
}
