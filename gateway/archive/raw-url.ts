// Signed, short-lived URLs for archived messages that the gateway serves itself (the directory
// engine): `<MXHOOK_PUBLIC_URL>/v1/messages/<key>/raw?expires=<unix s>&signature=<HMAC>`.
//
// The HMAC key is derived (HKDF-SHA256) from the gateway's signing key material, so gateways that
// share a signing secret or key also share valid URLs, a restart does not break a URL handed out
// before it, and no further secret needs configuring; the derivation keeps the signing key itself
// out of this use.
import { createHmac, hkdfSync, type KeyObject, timingSafeEqual } from 'node:crypto';

/** The route's path; the key is URL-safe by construction (archive.ts), so it needs no escaping. */
const RAW_PATH = /^\/v1\/messages\/([^/]+)\/raw$/;

/** The archive key a path names, or null when the path is not the raw message route. */
export function rawMessagePathKey(pathname: string): string | null {
  return RAW_PATH.exec(pathname)?.[1] ?? null;
}

/** The URL-signing key for a gateway signing key (secret or Ed25519 private key). */
export function rawUrlKeyOf(signingKey: KeyObject): Buffer {
  const material =
    signingKey.type === 'secret'
      ? signingKey.export()
      : signingKey.export({ format: 'der', type: 'pkcs8' });
  return Buffer.from(hkdfSync('sha256', material, '', 'mxhook raw message url v1', 32));
}

export class RawUrlSigner {
  readonly #key: Buffer;
  readonly #base: () => string;

  /** `base`: where functions reach the gateway's HTTP listener, asked at each signing (known once it listens). */
  constructor(key: Buffer, base: () => string) {
    this.#key = key;
    this.#base = base;
  }

  url(key: string, expires: Date): string {
    const seconds = Math.floor(expires.getTime() / 1000);
    const base = this.#base().replace(/\/+$/, '');
    return `${base}/v1/messages/${key}/raw?expires=${seconds}&signature=${this.#sign(key, seconds)}`;
  }

  /** Whether the query signs `key` and has not expired at `now`; compares in constant time. */
  verify(key: string, query: URLSearchParams, now: Date): boolean {
    const expires = query.get('expires') ?? '';
    const signature = Buffer.from(query.get('signature') ?? '', 'utf8');
    if (!/^\d{1,12}$/.test(expires) || Number(expires) * 1000 < now.getTime()) return false;
    const expected = Buffer.from(this.#sign(key, Number(expires)), 'utf8');
    return signature.length === expected.length && timingSafeEqual(signature, expected);
  }

  #sign(key: string, expires: number): string {
    return createHmac('sha256', this.#key).update(`${key}\n${expires}`).digest('base64url');
  }
}
