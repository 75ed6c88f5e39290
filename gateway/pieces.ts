// A message as the gateway holds it, in pieces (socket chunks, a spool file, a built MIME message):
// its size and its SHA-256, without joining the pieces into one buffer first.
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
