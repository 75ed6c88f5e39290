// Kinds of the archive settings: where messages are kept (MXHOOK_ARCHIVE with its S3 companions),
// and the public URL functions reach the gateway's HTTP listener at.
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { Kind, ParseContext } from './kind.ts';

/** An S3-compatible bucket and what reaches it. */
export interface S3Location {
  readonly bucket: string;
  /** Prepended to every key: empty, or ending in `/`. */
  readonly prefix: string;
  /** `https://<account>.r2.cloudflarestorage.com`, MinIO's URL, …; null for AWS S3 itself. */
  readonly endpoint: string | null;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** MXHOOK_ARCHIVE: a directory or an s3:// bucket; null when no archive is kept. */
export type ArchiveLocation =
  | { readonly kind: 'directory'; readonly path: string }
  | ({ readonly kind: 's3' } & S3Location);

/** Bucket names as S3 allows them for path-style and virtual-hosted URLs alike. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** A prefix made of what archive keys are made of, so no key needs URL escaping. */
const PREFIX = /^(?:[A-Za-z0-9._-]+\/)*$/;

export const ARCHIVE_LOCATION: Kind<ArchiveLocation | null> = {
  parse(raw, context) {
    const text = raw.trim();
    if (text === '') return null;
    if (/^s3:\/\//i.test(text)) return s3Location(text, context);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
      throw new ConfigError(context.variable, 'must be a directory or an s3://bucket/prefix URL');
    }
    return { kind: 'directory', path: isAbsolute(text) ? text : resolve(context.base, text) };
  },
};

function s3Location(text: string, { variable, text: other }: ParseContext): ArchiveLocation {
  const [, bucket = '', rest = ''] = /^s3:\/\/([^/]*)\/?(.*)$/i.exec(text) ?? [];
  if (!BUCKET.test(bucket)) throw new ConfigError(variable, `"${bucket}" is not an S3 bucket name`);
  const prefix = rest === '' || rest.endsWith('/') ? rest : `${rest}/`;
  if (!PREFIX.test(prefix)) {
    throw new ConfigError(
      variable,
      'the key prefix may hold only letters, digits, ".", "_", "-" and "/"',
    );
  }
  const endpointText = other('MXHOOK_ARCHIVE_ENDPOINT').trim();
  let endpoint: string | null = null;
  if (endpointText !== '') {
    const url = URL.parse(endpointText);
    if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      throw new ConfigError('MXHOOK_ARCHIVE_ENDPOINT', 'must be an http(s):// URL');
    }
    endpoint = url.href;
  }
  const accessKeyId = other('MXHOOK_ARCHIVE_ACCESS_KEY_ID').trim();
  const secretAccessKey = other('MXHOOK_ARCHIVE_SECRET_ACCESS_KEY').trim();
  if (accessKeyId === '' || secretAccessKey === '') {
    throw new ConfigError(
      variable,
      'an s3:// archive needs MXHOOK_ARCHIVE_ACCESS_KEY_ID and MXHOOK_ARCHIVE_SECRET_ACCESS_KEY',
    );
  }
  const region = other('MXHOOK_ARCHIVE_REGION').trim();
  return { kind: 's3', bucket, prefix, endpoint, region, accessKeyId, secretAccessKey };
}

/**
 * MXHOOK_PUBLIC_URL: an http(s) base URL without query or fragment; null (unset) means the HTTP
 * listener's own address.
 */
export const PUBLIC_URL: Kind<string | null> = {
  parse(raw, { variable }) {
    const text = raw.trim();
    if (text === '') return null;
    const url = URL.parse(text);
    if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      throw new ConfigError(variable, `${JSON.stringify(raw)} is not an http(s):// URL`);
    }
    if (url.search !== '' || url.hash !== '') {
      throw new ConfigError(variable, 'must have no query or fragment');
    }
    return url.href.replace(/\/+$/, '');
  },
};
