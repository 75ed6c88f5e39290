// The gateway's signed URLs for archived messages: what they sign, when they stop working, and the key.
import { createPrivateKey, createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  RawUrlSigner,
  rawMessagePathKey,
  rawUrlKeyOf,
} from '../../../../gateway/archive/raw-url.ts';

const KEY = '20261206-0123456789abcdef.1';
const NOW = new Date('2026-12-06T12:00:00Z');

describe('RawUrlSigner', () => {
  const signer = new RawUrlSigner(randomBytes(32), () => 'https://mx.example.com/base/');

  it('makes a URL under the public base that verifies until it expires, and not after', () => {
    const url = new URL(signer.url(KEY, new Date(NOW.getTime() + 60_000)));
    expect(url.origin + url.pathname).toBe(`https://mx.example.com/base/v1/messages/${KEY}/raw`);
    expect(rawMessagePathKey(url.pathname.replace('/base', ''))).toBe(KEY);
    expect(signer.verify(KEY, url.searchParams, NOW)).toBe(true);
    expect(signer.verify(KEY, url.searchParams, new Date(NOW.getTime() + 61_000))).toBe(false);
  });

  it('refuses another key, another expiry, another signer and a missing signature', () => {
    const url = new URL(signer.url(KEY, new Date(NOW.getTime() + 60_000)));
    expect(signer.verify(KEY.replace('.1', '.2'), url.searchParams, NOW)).toBe(false);
    const later = new URLSearchParams(url.searchParams);
    later.set('expires', String(Number(later.get('expires')) + 1));
    expect(signer.verify(KEY, later, NOW)).toBe(false);
    const other = new RawUrlSigner(randomBytes(32), () => 'https://mx.example.com');
    expect(other.verify(KEY, url.searchParams, NOW)).toBe(false);
    const unsigned = new URLSearchParams(url.searchParams);
    unsigned.delete('signature');
    expect(signer.verify(KEY, unsigned, NOW)).toBe(false);
  });

  it('derives one key per signing key, so gateways sharing a secret share valid URLs', () => {
    const secret = randomBytes(32);
    const one = rawUrlKeyOf(createSecretKey(secret));
    expect(rawUrlKeyOf(createSecretKey(Buffer.from(secret)))).toEqual(one);
    expect(one).not.toEqual(secret);
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
    expect(rawUrlKeyOf(createPrivateKey(pem))).toEqual(rawUrlKeyOf(privateKey));
    expect(rawUrlKeyOf(privateKey)).toHaveLength(32);
  });
});
