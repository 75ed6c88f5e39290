// The archive (MXHOOK_ARCHIVE): every accepted message kept, behind one interface with two engines, a
// directory (directory-archive.ts) and S3-compatible object storage (s3-archive.ts).
//
// A message is kept under a key `<YYYYMMDD>-<id>`: the UTC day it was received, then its id. The day
// is what retention reads (a sweep removes whole days, oldest first, without reading each message),
// and it groups messages in a day's directory or under a day's key prefix.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

/** What `put` kept. */
export interface ArchivedMessage {
  /** Names the message in `get`, `remove` and `referenceUrl`; URL-safe. */
  readonly key: string;
  readonly sizeBytes: number;
  /** Lower-case hex SHA-256 of the bytes. */
  readonly sha256: string;
}

export interface Archive {
  /**
   * Keeps the message; resolves only once it is durable (fsynced, or stored by the object
   * store). `id` must be URL-safe ({@link isArchiveId}) and unique; `receivedAt` chooses its day.
   * The recipients are kept as hashes only ({@link recipientHash}), never as addresses.
   */
  put(
    id: string,
    recipients: readonly string[],
    pieces: readonly Buffer[],
    receivedAt: Date,
  ): Promise<ArchivedMessage>;
  /** The bytes as a stream with their size, or null when there is no such message. */
  get(key: string): Promise<{ readonly sizeBytes: number; readonly stream: Readable } | null>;
  /** Removes the message; one already gone is not an error. */
  remove(key: string, recipients: readonly string[]): Promise<void>;
  /**
   * Removes messages received on UTC days before `cutoff`'s, oldest first, removing at most
   * `limit` entries (files, recipient links, objects); resolves with how many went. A result of
   * `limit` means there may be more.
   */
  sweep(cutoff: Date, limit: number): Promise<number>;
  /** A URL that GETs the message's bytes until `expires` and no later. */
  referenceUrl(key: string, expires: Date): Promise<string>;
  /** Whether a message could be kept now (for /readyz). */
  writable(): Promise<boolean>;
  close(): Promise<void>;
}

/** Ids the archive takes: what goes into a file name and a URL path unescaped. */
const ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
const KEY = /^(\d{8})-([A-Za-z0-9_-][A-Za-z0-9._-]{0,127})$/;

export function isArchiveId(id: string): boolean {
  return ID.test(id);
}

/** `20261206`: the UTC day of `time`, as keys and day directories carry it. */
export function dayOf(time: Date): string {
  return time.toISOString().slice(0, 10).replaceAll('-', '');
}

export function keyOf(id: string, receivedAt: Date): string {
  if (!isArchiveId(id)) throw new RangeError(`archive id ${JSON.stringify(id)} is not URL-safe`);
  return `${dayOf(receivedAt)}-${id}`;
}

/** The day and id of a key, or null when it is not one (a URL's key is untrusted). */
export function parseKey(key: string): { readonly day: string; readonly id: string } | null {
  const match = KEY.exec(key);
  return match === null ? null : { day: match[1]!, id: match[2]! };
}

/**
 * The first 16 hex digits of the SHA-256 of the address, lower-cased: a name for a recipient's
 * copy that does not leak the address into file names or listings, as gopherpost names its
 * files. Whoever knows an address can compute its hash and find its mail; nobody can list who
 * received mail.
 */
export function recipientHash(address: string): string {
  return createHash('sha256').update(address.toLowerCase(), 'utf8').digest('hex').slice(0, 16);
}

/** The distinct recipient hashes of a message, in order. */
export function recipientHashes(recipients: readonly string[]): string[] {
  return [...new Set(recipients.map(recipientHash))];
}
