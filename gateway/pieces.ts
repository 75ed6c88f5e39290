// A message as the gateway holds it, in pieces (socket chunks, a spool file, a built MIME message):
// its size, its SHA-256 and whether it has 8-bit bytes, without joining the pieces into one buffer
// first.
import { createHash } from 'node:crypto';

export function sizeOf(pieces: readonly Uint8Array[]): number {
  let size = 0;
  for (const piece of pieces) size += piece.length;
  return size;
}

/** Lower-case hex. */
export function sha256Of(pieces: readonly Uint8Array[]): string {
  const digest = createHash('sha256');
  for (const piece of pieces) digest.update(piece);
  return digest.digest('hex');
}

/** Whether any byte is over 127: content that needs 8BITMIME (RFC 6152) to travel as it is. */
export function hasEightBit(pieces: readonly Uint8Array[]): boolean {
  for (const piece of pieces) for (const byte of piece) if (byte > 0x7f) return true;
  return false;
}
