// The archive in S3-compatible object storage (AWS S3, Cloudflare R2, MinIO): one object per message,
// `<prefix><YYYYMMDD>-<id>`, its recipients' hashes in the object's metadata. For a fleet: every
// gateway writes to one bucket, and the URL a function fetches a large message from is the store's
// own presigned GET, so no gateway has to serve it.
//
// Requests are signed with aws4fetch (AWS Signature Version 4 over Web Crypto, one small module) and
// sent with undici, which the gateway already uses: the AWS SDK would bring some hundred packages
// for the five calls made here. The body goes out as the message's pieces with its SHA-256 as
// `x-amz-content-sha256`, so the store checks the bytes it got and nothing is copied first.
import { Readable } from 'node:stream';
import { AwsV4Signer } from 'aws4fetch';
import { request } from 'undici';
import type { S3Location } from '../config/parse-archive.ts';
import { sha256Of, sizeOf } from '../pieces.ts';
import {
  type Archive,
  type ArchivedMessage,
  dayOf,
  keyOf,
  parseKey,
  recipientHashes,
} from './archive.ts';

/** How long one request may wait for the store's answer to begin. */
const HEADERS_TIMEOUT_MS = 30_000;
/** S3 refuses a presigned URL valid for longer (SigV4: 7 days). */
const MAX_PRESIGN_SECONDS = 604_800;

export class S3Archive implements Archive {
  readonly #location: S3Location;

  constructor(location: S3Location) {
    this.#location = location;
  }

  async put(
    id: string,
    recipients: readonly string[],
    pieces: readonly Buffer[],
    receivedAt: Date,
  ): Promise<ArchivedMessage> {
    const key = keyOf(id, receivedAt);
    const sizeBytes = sizeOf(pieces);
    const sha256 = sha256Of(pieces);
    const response = await this.#send('PUT', this.#objectUrl(key), {
      headers: {
        'content-length': String(sizeBytes),
        'content-type': 'message/rfc822',
        'x-amz-content-sha256': sha256,
        'x-amz-meta-recipients': recipientHashes(recipients).join(','),
      },
      body: Readable.from(pieces),
    });
    await expectOk(response, `PUT ${key}`);
    return { key, sizeBytes, sha256 };
  }

  async get(key: string): Promise<{ sizeBytes: number; stream: Readable } | null> {
    if (parseKey(key) === null) return null;
    const response = await this.#send('GET', this.#objectUrl(key));
    if (response.statusCode === 404) {
      await response.body.dump();
      return null;
    }
    await expectOk(response, `GET ${key}`, false);
    return { sizeBytes: Number(response.headers['content-length']), stream: response.body };
  }

  async remove(key: string): Promise<void> {
    if (parseKey(key) === null) return;
    // S3 answers 204 whether or not the object existed.
    await expectOk(await this.#send('DELETE', this.#objectUrl(key)), `DELETE ${key}`);
  }

  async sweep(cutoff: Date, limit: number): Promise<number> {
    const { prefix } = this.#location;
    const before = dayOf(cutoff);
    // ListObjects (version 1): one page is all a run reads, so V2's continuation tokens are not
    // needed, and every S3-compatible store answers it.
    const list = this.#bucketUrl();
    list.searchParams.set('prefix', prefix);
    list.searchParams.set('max-keys', String(limit));
    const response = await this.#send('GET', list);
    await expectOk(response, 'list', false);
    let removed = 0;
    // Keys sort by name, and a name starts with its day: the oldest come first.
    for (const name of listedKeys(await response.body.text())) {
      const key = name.slice(prefix.length);
      const parsed = parseKey(key);
      if (parsed === null) continue;
      if (parsed.day >= before) break;
      await this.remove(key);
      removed++;
    }
    return removed;
  }

  async referenceUrl(key: string, expires: Date): Promise<string> {
    const url = this.#objectUrl(key);
    const seconds = Math.ceil((expires.getTime() - Date.now()) / 1000);
    url.searchParams.set(
      'X-Amz-Expires',
      String(Math.min(MAX_PRESIGN_SECONDS, Math.max(1, seconds))),
    );
    const signed = await this.#signer('GET', url, {}, true).sign();
    return signed.url.href;
  }

  async writable(): Promise<boolean> {
    try {
      const response = await this.#send('HEAD', this.#bucketUrl());
      await response.body.dump();
      return response.statusCode === 200;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {}

  /** With an endpoint, path-style (R2, MinIO and others); on AWS, virtual-hosted style. */
  #bucketUrl(): URL {
    const { endpoint, bucket, region } = this.#location;
    if (endpoint !== null) return new URL(`${endpoint.replace(/\/+$/, '')}/${bucket}`);
    return new URL(`https://${bucket}.s3.${region}.amazonaws.com/`);
  }

  #objectUrl(key: string): URL {
    const bucket = this.#bucketUrl();
    const path = bucket.pathname.endsWith('/') ? bucket.pathname : `${bucket.pathname}/`;
    // Keys and the prefix are URL-safe (archive.ts, parse-archive.ts): no escaping needed.
    return new URL(`${path}${this.#location.prefix}${key}`, bucket);
  }

  #signer(
    method: string,
    url: URL,
    headers: Record<string, string>,
    signQuery = false,
  ): AwsV4Signer {
    const { accessKeyId, secretAccessKey, region } = this.#location;
    return new AwsV4Signer({
      method,
      url: url.href,
      headers,
      accessKeyId,
      secretAccessKey,
      region,
      service: 's3',
      signQuery,
    });
  }

  async #send(
    method: 'GET' | 'PUT' | 'DELETE' | 'HEAD',
    url: URL,
    options: { readonly headers?: Record<string, string>; readonly body?: Readable } = {},
  ) {
    const signed = await this.#signer(method, url, options.headers ?? {}).sign();
    return request(signed.url, {
      method,
      headers: Object.fromEntries(signed.headers),
      body: options.body ?? null,
      headersTimeout: HEADERS_TIMEOUT_MS,
    });
  }
}

type Response = Awaited<ReturnType<typeof request>>;

async function expectOk(response: Response, what: string, drain = true): Promise<void> {
  if (response.statusCode >= 200 && response.statusCode < 300) {
    if (drain) await response.body.dump();
    return;
  }
  const text = (await response.body.text()).slice(0, 300);
  throw new Error(`object storage ${what}: HTTP ${response.statusCode} ${text}`);
}

/**
 * The keys of a ListObjectsV2 answer. Read with a pattern, not an XML parser: the archive's own keys
 * are URL-safe characters only (no entities to decode), and a key with anything else is not one of
 * them and is skipped by the caller.
 */
function listedKeys(xml: string): string[] {
  return [...xml.matchAll(/<Key>([A-Za-z0-9._\-/]+)<\/Key>/g)].map((match) => match[1]!);
}
