// An attachment's bytes for download: read again from the stored raw message, which holds them.
import PostalMime from 'postal-mime';
import type { StoredAttachment } from './message-record.ts';

/** A stored type that is not a plain `type/subtype` is served as bytes of no particular kind. */
const MIME_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i;

/**
 * The bytes of `wanted`, the attachment at `index` of a record, from the raw message. The record
 * describes attachments without keeping their bytes (KV holds the raw message once, not twice), so
 * a download parses the raw message again with postal-mime: the CPU of one parse, no more storage.
 * The gateway's parser (mailparser) may list attachments in another order than postal-mime, so
 * the one at the same index is taken only if its name and size agree, else the first that does.
 * Null when none does.
 *
 * @example
 * ```ts
 * const bytes = await attachmentBytes(raw, record.attachments[0], 0);
 * ```
 */
export async function attachmentBytes(
  raw: ArrayBuffer,
  wanted: StoredAttachment,
  index: number,
): Promise<Uint8Array<ArrayBuffer> | null> {
  const email = await PostalMime.parse(raw);
  const candidates = email.attachments.map((attachment) => ({
    filename: attachment.filename,
    // With the default `arraybuffer` encoding: an ArrayBuffer, a Uint8Array for a calendar part.
    bytes:
      attachment.content instanceof ArrayBuffer
        ? new Uint8Array(attachment.content)
        : (attachment.content as Uint8Array<ArrayBuffer>),
  }));
  const same = (candidate: (typeof candidates)[number] | undefined) =>
    candidate !== undefined &&
    candidate.filename === wanted.filename &&
    candidate.bytes.byteLength === wanted.size;
  const match = same(candidates[index]) ? candidates[index] : candidates.find(same);
  return match?.bytes ?? null;
}

/** The Content-Type to serve a stored attachment with. */
export function downloadType(attachment: StoredAttachment): string {
  return MIME_TYPE.test(attachment.contentType)
    ? attachment.contentType.toLowerCase()
    : 'application/octet-stream';
}

/**
 * `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266): an ASCII fallback with quotes,
 * backslashes and control or non-ASCII characters replaced, and the exact name percent-encoded.
 *
 * @example
 * ```ts
 * contentDisposition('résumé "v2".pdf'); // `attachment; filename="r_sum_ _v2_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.pdf`
 * ```
 */
export function contentDisposition(filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
