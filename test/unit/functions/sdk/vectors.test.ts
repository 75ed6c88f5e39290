// The cross-language test vectors in test/vectors/: the SDK must reproduce each signature exactly and verify it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MxhookError } from '../../../../functions/sdk/errors.ts';
import { secretKid } from '../../../../functions/sdk/secret.ts';
import {
  type Ed25519PublicJwk,
  importEd25519PrivateKey,
  importHmacSecret,
  publicJwks,
  signBody,
} from '../../../../functions/sdk/sign.ts';
import { verifyBody } from '../../../../functions/sdk/verify.ts';

interface Vector {
  readonly kid: string;
  readonly body: string;
  readonly body_base64url: string;
  readonly timestamp: number;
  readonly protected_b64: string;
  readonly protected_header: Record<string, string>;
  readonly signing_input: string;
  readonly signature: string;
  readonly must_fail: readonly {
    readonly code: string;
    readonly body: string;
    readonly signature: string;
    readonly now?: number;
  }[];
}

interface HmacVector extends Vector {
  readonly secret: string;
}

interface EdVector extends Vector {
  readonly private_jwk: Record<string, string>;
  readonly private_pem: string;
  readonly public_jwk: Ed25519PublicJwk;
  readonly jwks: { readonly keys: readonly Ed25519PublicJwk[] };
}

function load<T>(name: string): T {
  return JSON.parse(
    readFileSync(new URL(`../../../vectors/${name}`, import.meta.url), 'utf8'),
  ) as T;
}

const hs256 = load<HmacVector>('signature-hs256.json');
const eddsa = load<EdVector>('signature-eddsa.json');

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function checkLayout(vector: Vector): void {
  expect(Buffer.from(vector.body, 'utf8').toString('base64url')).toBe(vector.body_base64url);
  expect(JSON.parse(Buffer.from(vector.protected_b64, 'base64url').toString('utf8'))).toEqual(
    vector.protected_header,
  );
  expect(vector.signing_input).toBe(`${vector.protected_b64}.${vector.body_base64url}`);
  expect(vector.signature.startsWith(`${vector.protected_b64}..`)).toBe(true);
  expect(vector.protected_header.kid).toBe(vector.kid);
}

async function expectRefused(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(MxhookError);
  await expect(promise).rejects.toMatchObject({ code });
}

describe('signature-hs256.json', () => {
  it('is laid out as documented', () => {
    checkLayout(hs256);
    expect(hs256.protected_header).toEqual({ alg: 'HS256', kid: hs256.kid, typ: 'mxhook+jws' });
  });

  it('derives the documented kid from the secret', async () => {
    expect(await secretKid(hs256.secret)).toBe(hs256.kid);
  });

  it('reproduces the exact Mxhook-Signature value with signBody', async () => {
    expect(await signBody(bytes(hs256.body), await importHmacSecret(hs256.secret))).toBe(
      hs256.signature,
    );
  });

  it('verifies with verifyBody at the vector timestamp', async () => {
    const request = await verifyBody(hs256.body, hs256.signature, hs256.secret, {
      now: () => hs256.timestamp,
    });
    expect(request).toEqual(JSON.parse(hs256.body));
  });

  it('refuses every must_fail case with its code', async () => {
    for (const bad of hs256.must_fail) {
      const now = () => bad.now ?? hs256.timestamp;
      await expectRefused(verifyBody(bad.body, bad.signature, hs256.secret, { now }), bad.code);
    }
  });
});

describe('signature-eddsa.json', () => {
  it('is laid out as documented', () => {
    checkLayout(eddsa);
    expect(eddsa.protected_header).toEqual({ alg: 'EdDSA', kid: eddsa.kid, typ: 'mxhook+jws' });
    expect(eddsa.jwks).toEqual({ keys: [eddsa.public_jwk] });
  });

  it('reproduces the exact Mxhook-Signature value from the JWK and from the PEM', async () => {
    for (const privateKey of [eddsa.private_jwk, eddsa.private_pem]) {
      const key = await importEd25519PrivateKey(privateKey);
      expect(key.kid).toBe(eddsa.kid);
      expect(key.publicJwk).toEqual(eddsa.public_jwk);
      expect(publicJwks([key])).toEqual(eddsa.jwks);
      expect(await signBody(bytes(eddsa.body), key)).toBe(eddsa.signature);
    }
  });

  it('verifies with verifyBody at the vector timestamp, with the public JWK or the JWKS', async () => {
    for (const keys of [eddsa.public_jwk, eddsa.jwks]) {
      const request = await verifyBody(eddsa.body, eddsa.signature, keys, {
        now: () => eddsa.timestamp,
      });
      expect(request).toEqual(JSON.parse(eddsa.body));
    }
  });

  it('refuses every must_fail case with its code', async () => {
    for (const bad of eddsa.must_fail) {
      const now = () => bad.now ?? eddsa.timestamp;
      await expectRefused(verifyBody(bad.body, bad.signature, eddsa.jwks, { now }), bad.code);
    }
  });
});
