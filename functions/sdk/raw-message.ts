// The raw message of a data call, inline or by reference alike (Web APIs only: Workers, Node, Deno, Bun).
import { MxhookError } from './errors.ts';
import type { DataRequest } from './wire.ts';

export interface RawMessageOptions {
  /** The fetch to use (a service binding's, a test's); the global one by default. */
  readonly fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** Aborts the fetch of a by-reference message. */
  readonly signal?: AbortSignal;
}

/**
 * The exact message bytes of a data call: decoded from `message.raw`, or, for a message over the
 * gateway's MXHOOK_INLINE_MAX, fetched from `message.rawRef` (a short-lived signed URL) and checked
 * against its size and SHA-256. The fetched bytes go straight into one buffer of the message's
 * size, so a 25 MiB message costs 25 MiB here, not the 60 MB a base64 JSON body would.
 *
 * @throws MxhookError ERR_RAW_UNAVAILABLE (no raw message: MXHOOK_PAYLOAD=parsed; or the URL did
 *   not answer 200, e.g. it expired), ERR_RAW_MISMATCH (the bytes are not the message's).
 * @example
 * ```ts
 * data: async (call, c) => {
 *   await c.env.BUCKET.put(call.id, await rawMessage(call));
 *   return accept();
 * },
 * ```
 */
export async function rawMessage(
  call: Pick<DataRequest, 'message'>,
  options: RawMessageOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const { raw, rawRef, size } = call.message;
  if (raw !== undefined) return decodeBase64(raw);
  if (rawRef === undefined) {
    throw new MxhookError(
      'ERR_RAW_UNAVAILABLE',
      'the call carries no raw message (the gateway runs with MXHOOK_PAYLOAD=parsed)',
    );
  }
  const get = options.fetch ?? ((url: string, init: RequestInit) => fetch(url, init));
  let response: Response;
  try {
    response = await get(rawRef.url, {
      method: 'GET',
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (cause) {
    throw new MxhookError('ERR_RAW_UNAVAILABLE', 'the raw message could not be fetched', { cause });
  }
  if (response.status !== 200 || response.body === null) {
    await response.body?.cancel().catch(() => {});
    throw new MxhookError(
      'ERR_RAW_UNAVAILABLE',
      `fetching the raw message answered HTTP ${response.status}`,
    );
  }
  const bytes = await readExactly(response.body, size);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  if (hex(digest) !== rawRef.sha256.toLowerCase()) {
    throw new MxhookError('ERR_RAW_MISMATCH', 'the raw message fetched does not match its SHA-256');
  }
  return bytes;
}

/** Reads the stream into one buffer of `size` bytes; more or fewer is a mismatch. */
async function readExactly(
  body: ReadableStream<Uint8Array>,
  size: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = new Uint8Array(size);
  const reader = body.getReader();
  let at = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (at + value.byteLength > size) {
      await reader.cancel().catch(() => {});
      throw new MxhookError('ERR_RAW_MISMATCH', `the raw message fetched is over ${size} bytes`);
    }
    bytes.set(value, at);
    at += value.byteLength;
  }
  if (at !== size) {
    throw new MxhookError('ERR_RAW_MISMATCH', `the raw message fetched is ${at} of ${size} bytes`);
  }
  return bytes;
}

function decodeBase64(base64: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

function hex(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += byte.toString(16).padStart(2, '0');
  return text;
}
