// Signing keys, the detached JWS format and the published JWKS.
import {
  base64url,
  compactVerify,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  importJWK,
  type JWK,
} from 'jose';
import { describe, expect, it } from 'vitest';
import { MxhookError } from '../../../../functions/sdk/errors.ts';
import { secretKid } from '../../../../functions/sdk/secret.ts';
import {
  importEd25519PrivateKey,
  importHmacSecret,
  importSigningKey,
  publicJwks,
  SIGNATURE_TYPE,
  signBody,
} from '../../../../functions/sdk/sign.ts';
import { SECRET } from './helpers.ts';

const body = new TextEncoder().encode('{"v":1}');

async function newEd25519Pem(): Promise<string> {
  const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  return exportPKCS8(privateKey);
}

async function newEd25519(): Promise<{ pem: string; jwk: JWK }> {
  const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  return { pem: await exportPKCS8(privateKey), jwk: await exportJWK(privateKey) };
}

function decodeHeader(signature: string): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(base64url.decode(signature.split('.')[0]!)));
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(MxhookError);
  expect((error as MxhookError).code).toBe(code);
}

describe('importHmacSecret', () => {
  it('derives the kid from the secret, so every signer and verifier agrees on it', async () => {
    const key = await importHmacSecret(SECRET);
    expect(key.alg).toBe('HS256');
    expect(key.kid).toBe(await secretKid(SECRET));
    expect(key.kid).toMatch(/^[A-Za-z0-9_-]{11}$/);
    expect((await importHmacSecret(SECRET)).kid).toBe(key.kid);
    expect(key.publicJwk).toBeNull();
  });

  it('uses an explicit kid when given', async () => {
    expect((await importHmacSecret(SECRET, { kid: '2026-01' })).kid).toBe('2026-01');
  });

  it('refuses a secret shorter than 32 bytes with ERR_KEY_INVALID (RFC 7518 §3.2)', async () => {
    await expectCode(importHmacSecret('too-short'), 'ERR_KEY_INVALID');
  });

  it('refuses a kid with spaces or control characters with ERR_KEY_INVALID', async () => {
    await expectCode(importHmacSecret(SECRET, { kid: 'a b' }), 'ERR_KEY_INVALID');
    await expectCode(importHmacSecret(SECRET, { kid: '' }), 'ERR_KEY_INVALID');
  });

  it('keeps the secret out of the key object, so logging it leaks nothing', async () => {
    const key = await importHmacSecret(SECRET);
    expect(JSON.stringify(key)).not.toContain(SECRET);
    expect(key.cryptoKey.extractable).toBe(false);
    expect(Object.isFrozen(key)).toBe(true);
  });
});

describe('importEd25519PrivateKey', () => {
  it('imports PKCS#8 PEM and names the key by its RFC 7638 thumbprint', async () => {
    const pem = await newEd25519Pem();
    const key = await importEd25519PrivateKey(pem);
    expect(key.alg).toBe('EdDSA');
    expect(key.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(key.publicJwk).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: expect.any(String),
      kid: key.kid,
      alg: 'EdDSA',
      use: 'sig',
    });
    expect(key.cryptoKey.extractable).toBe(false);
  });

  it('gives the same kid to the same key whether it comes as PEM, JWK or JWK JSON text', async () => {
    const { pem, jwk } = await newEd25519();
    const fromPem = await importEd25519PrivateKey(pem);
    expect((await importEd25519PrivateKey(jwk)).kid).toBe(fromPem.kid);
    expect((await importEd25519PrivateKey(JSON.stringify(jwk))).kid).toBe(fromPem.kid);
    expect((await importEd25519PrivateKey(jwk)).publicJwk).toEqual(fromPem.publicJwk);
  });

  it("uses the JWK's own kid, and an explicit kid over both", async () => {
    const { jwk } = await newEd25519();
    expect((await importEd25519PrivateKey({ ...jwk, kid: 'from-jwk' })).kid).toBe('from-jwk');
    expect(
      (await importEd25519PrivateKey({ ...jwk, kid: 'from-jwk' }, { kid: 'explicit' })).kid,
    ).toBe('explicit');
  });

  it.each([
    ['text that is neither PEM nor JSON', 'not a key'],
    [
      'a PEM that is not PKCS#8 Ed25519',
      '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----',
    ],
    [
      'a public JWK',
      { kty: 'OKP', crv: 'Ed25519', x: 'NZf8hQ0MVCLe2q3T5_fvhxOXf6MTljrlu4Q4ajn9X10' },
    ],
    ['an EC JWK', { kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'c' }],
    ['a JWK for another algorithm', { kty: 'OKP', crv: 'Ed25519', x: 'a', d: 'b', alg: 'RS256' }],
    ['a JWK with a broken private key', { kty: 'OKP', crv: 'Ed25519', x: 'AA', d: 'AA' }],
    [
      'a JWK whose x belongs to another key',
      {
        kty: 'OKP',
        crv: 'Ed25519',
        x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
        d: 'fqbsgZ6NLzFXD1dfRLNd-bZCtxBL49KmygJ4dOrqamo',
      },
    ],
  ])('refuses %s with ERR_KEY_INVALID', async (_name, input) => {
    await expectCode(importEd25519PrivateKey(input as string), 'ERR_KEY_INVALID');
  });
});

describe('importSigningKey', () => {
  it('imports { secret } as HS256 and { privateKey } as EdDSA, with an optional kid', async () => {
    expect((await importSigningKey({ secret: SECRET })).alg).toBe('HS256');
    const ed = await importSigningKey({ privateKey: await newEd25519Pem(), kid: 'k1' });
    expect(ed.alg).toBe('EdDSA');
    expect(ed.kid).toBe('k1');
  });

  it('refuses anything else with ERR_KEY_INVALID', async () => {
    await expectCode(importSigningKey({} as never), 'ERR_KEY_INVALID');
    await expectCode(importSigningKey(null as never), 'ERR_KEY_INVALID');
  });
});

describe('signBody', () => {
  it('returns a detached JWS <protected>..<signature> with alg, kid and typ', async () => {
    const key = await importHmacSecret(SECRET);
    const signature = await signBody(body, key);
    expect(signature).toMatch(/^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$/);
    expect(decodeHeader(signature)).toEqual({ alg: 'HS256', kid: key.kid, typ: SIGNATURE_TYPE });
  });

  it('signs BASE64URL(protected) + "." + BASE64URL(body), so reattaching the body gives a standard compact JWS', async () => {
    const pem = await newEd25519Pem();
    const key = await importEd25519PrivateKey(pem);
    const [protectedHeader, , signature] = (await signBody(body, key)).split('.');
    const compact = `${protectedHeader}.${base64url.encode(body)}.${signature}`;
    const publicKey = await importJWK(key.publicJwk!, 'EdDSA');
    const { payload } = await compactVerify(compact, publicKey);
    expect(payload).toEqual(body);
  });

  it('makes the same EdDSA signature for the same key and body (RFC 8032 is deterministic)', async () => {
    const key = await importEd25519PrivateKey(await newEd25519Pem());
    expect(await signBody(body, key)).toBe(await signBody(body, key));
  });
});

describe('publicJwks', () => {
  it('publishes every EdDSA public key in order and never an HS256 secret', async () => {
    const newer = await importEd25519PrivateKey(await newEd25519Pem());
    const older = await importEd25519PrivateKey(await newEd25519Pem());
    const secret = await importHmacSecret(SECRET);
    const jwks = publicJwks([newer, secret, older]);
    expect(jwks.keys.map((jwk) => jwk.kid)).toEqual([newer.kid, older.kid]);
    expect(JSON.stringify(jwks)).not.toContain('"d"');
  });

  it('refuses two keys with the same kid with ERR_KEY_INVALID', async () => {
    const a = await importEd25519PrivateKey(await newEd25519Pem(), { kid: 'same' });
    const b = await importEd25519PrivateKey(await newEd25519Pem(), { kid: 'same' });
    expect(() => publicJwks([a, b])).toThrow(expect.objectContaining({ code: 'ERR_KEY_INVALID' }));
  });
});
