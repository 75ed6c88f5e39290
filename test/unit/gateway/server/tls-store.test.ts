// TlsStore: certificates chosen by SNI (exact over wildcard, else the first), replaced all at once.
import type { SecureContext } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { TlsStore } from '../../../../gateway/server/tls-store.ts';
import { certificateFor, type TestCertificate } from '../../../helpers/certs.ts';

let fallback: TestCertificate;
let wildcard: TestCertificate;
let exact: TestCertificate;
let other: TestCertificate;

beforeAll(async () => {
  [fallback, wildcard, exact, other] = await Promise.all([
    certificateFor(['mx.test']),
    certificateFor(['*.example.test', 'example.test']),
    certificateFor(['mail.example.test', 'exact-only.test']),
    certificateFor(['other.test']),
  ]);
});

/** A name only the certificate at the same index covers, to tell the contexts apart. */
const OWN_NAME = ['mx.test', 'www.example.test', 'exact-only.test', 'other.test'];

/** The context a handshake for `servername` gets through the SNI callback. */
function viaCallback(store: TlsStore, servername: string): SecureContext | undefined {
  const options = store.serverOptions();
  if (options?.SNICallback === undefined) return options?.secureContext;
  let context: SecureContext | undefined;
  options.SNICallback(servername, (error, result) => {
    if (error) throw error;
    context = result;
  });
  return context;
}

describe('TlsStore', () => {
  it('offers nothing until a certificate is loaded', () => {
    const store = new TlsStore();
    expect(store.available).toBe(false);
    expect(store.serverOptions()).toBeNull();
    expect(store.contextFor('mx.test')).toBeNull();
  });

  it('needs no SNI callback for a single certificate', () => {
    const store = new TlsStore([fallback]);
    expect(store.available).toBe(true);
    expect(store.serverOptions()?.SNICallback).toBeUndefined();
  });

  it.each([
    ['mail.example.test', 2], // exact beats the wildcard listed before it
    ['MAIL.Example.Test.', 2], // case and a trailing dot do not matter
    ['www.example.test', 1],
    ['example.test', 1],
    ['a.b.example.test', 0], // a wildcard covers one label only (RFC 6125 §6.4.3)
    ['other.test', 3],
    ['unknown.test', 0],
    ['', 0],
    ['not a host name!', 0],
  ])('gives %j certificate #%i', (servername, expected) => {
    const store = new TlsStore([fallback, wildcard, exact, other]);
    const expectedContext = store.contextFor(OWN_NAME[expected]!);
    expect(store.contextFor(servername)).toBe(expectedContext);
    expect(viaCallback(store, servername)).toBe(expectedContext);
  });

  it('keeps the certificates in use when a replacement is unusable', () => {
    const store = new TlsStore([fallback, other]);
    const before = store.contextFor('other.test');
    expect(() => store.replace([fallback, { cert: other.cert, key: 'not a key' }])).toThrow();
    expect(() => store.replace([])).toThrow(RangeError);
    expect(store.contextFor('other.test')).toBe(before);
  });

  it('swaps the whole set on replace; options taken earlier keep their contexts', () => {
    const store = new TlsStore([fallback]);
    const earlier = store.serverOptions();
    store.replace([other, exact]);
    expect(store.serverOptions()?.secureContext).not.toBe(earlier?.secureContext);
    expect(store.contextFor('mail.example.test')).not.toBe(store.contextFor('unknown.test'));
  });
});
