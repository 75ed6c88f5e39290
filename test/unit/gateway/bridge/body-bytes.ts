// The bytes a request body sends: its pieces, text UTF-8 encoded, one after another.
import type { RequestBody } from '../../../../gateway/bridge/request-body.ts';

export function bodyBytes(body: RequestBody): Buffer {
  return Buffer.concat(
    [...body.pieces()].map((piece) =>
      typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece,
    ),
  );
}
