// Reads a request body up to a limit, refusing it before buffering past the limit (Web streams only).
import { MxhookVerifyError } from './errors.ts';

function tooLarge(maxBodyBytes: number): MxhookVerifyError {
  return new MxhookVerifyError(
    'ERR_BODY_TOO_LARGE',
    `the body is larger than ${maxBodyBytes} bytes (option "maxBodyBytes")`,
  );
}

/** Refuses a body that is already in memory when it is over the limit. */
export function checkBodySize(sizeBytes: number, maxBodyBytes: number): void {
  if (sizeBytes > maxBodyBytes) throw tooLarge(maxBodyBytes);
}

/**
 * The body's bytes, read only while they stay within `maxBodyBytes`. A declared Content-Length
 * over the limit is refused before anything is read; otherwise the stream is counted as it
 * arrives and cancelled at the first chunk that passes the limit, so an unauthenticated sender
 * can make us hold at most `maxBodyBytes` plus one chunk.
 *
 * @throws MxhookVerifyError ERR_BODY_TOO_LARGE
 */
export async function readBody(request: Request, maxBodyBytes: number): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared.trim()))
    checkBodySize(Number(declared), maxBodyBytes);
  if (request.body === null) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let sizeBytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    sizeBytes += value.byteLength;
    if (sizeBytes > maxBodyBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBodyBytes);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const body = new Uint8Array(sizeBytes);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
