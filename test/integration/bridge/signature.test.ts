// Every call carries a detached JWS over the exact body bytes, checked here with jose alone (not the SDK's verify).
import { createHash, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  base64url,
  createLocalJWKSet,
  errors,
  type FlattenedJWSInput,
  flattenedVerify,
  type JSONWebKeySet,
} from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { type RecordedRequest, startFunctionServer } from '../../helpers/function-server.ts';
import { newSecret, startBridge } from '../../helpers/start-bridge.ts';
import { ALL_STEPS, cleanUp, expectNormalTransaction } from './steps.ts';

afterEach(cleanUp);

const DETACHED_JWS = /^([A-Za-z0-9_-]+)\.\.([A-Za-z0-9_-]+)$/;

/** RFC 7515 appendix F: the detached payload goes back in as base64url of the exact body bytes. */
function reattach(request: RecordedRequest, body: Uint8Array = request.raw): FlattenedJWSInput {
  const header = request.headers['mxhook-signature'];
  expect(typeof header).toBe('string');
  const match = DETACHED_JWS.exec(header as string);
  expect(match, `not a detached JWS: ${String(header)}`).not.toBeNull();
  return { protected: match![1]!, payload: base64url.encode(body), signature: match![2]! };
}

/** One byte of the body changed. */
function tampered(raw: Buffer): Buffer {
  const copy = Buffer.from(raw);
  const at = copy.indexOf('"step"') + 2; // inside a field name, so the JSON stays JSON
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}

/** The kid of a shared secret, computed independently of the SDK: first 8 bytes of SHA-256, base64url. */
function secretKid(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest().subarray(0, 8).toString('base64url');
}

describe('HS256 with MXHOOK_SIGNING_SECRET', () => {
  it('signs every call of a session over its exact body, with alg, kid and typ in the protected header', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url, env: { MXHOOK_STEPS: ALL_STEPS } });
    await expectNormalTransaction(bridge.port);
    expect(fn.requests.map((r) => r.step)).toEqual(['connect', 'helo', 'mail', 'rcpt', 'data']);

    const key = new TextEncoder().encode(bridge.secret!);
    for (const request of fn.requests) {
      expect(request.headers['content-type']).toBe('application/json');
      const verified = await flattenedVerify(reattach(request), key, { algorithms: ['HS256'] });
      expect(verified.protectedHeader).toEqual({
        alg: 'HS256',
        kid: secretKid(bridge.secret!),
        typ: 'mxhook+jws',
      });
      expect(Buffer.from(verified.payload).equals(request.raw)).toBe(true);
    }
  });

  it('a body with one byte changed, or the wrong secret, fails verification', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url });
    await expectNormalTransaction(bridge.port);
    const request = fn.requestsFor('data')[0]!;
    const key = new TextEncoder().encode(bridge.secret!);

    await expect(
      flattenedVerify(reattach(request, tampered(request.raw)), key, { algorithms: ['HS256'] }),
    ).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
    await expect(
      flattenedVerify(reattach(request), new TextEncoder().encode(newSecret()), {
        algorithms: ['HS256'],
      }),
    ).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
    // An HS256 secret is never published.
    const jwks = (await (
      await fetch(`${bridge.adminUrl}/.well-known/jwks.json`)
    ).json()) as JSONWebKeySet;
    expect(jwks).toEqual({ keys: [] });
  });

  it('with two secrets (rotation) the first one signs', async () => {
    const fn = await startFunctionServer();
    const [next, previous] = [newSecret(), newSecret()];
    const bridge = await startBridge({
      functionUrl: fn.url,
      env: { MXHOOK_SIGNING_SECRET: `${next},${previous}` },
    });
    await expectNormalTransaction(bridge.port);
    const request = fn.requestsFor('data')[0]!;
    const verified = await flattenedVerify(reattach(request), new TextEncoder().encode(next), {
      algorithms: ['HS256'],
    });
    expect(verified.protectedHeader?.kid).toBe(secretKid(next));
  });
});

describe('EdDSA with MXHOOK_SIGNING_KEY', () => {
  it('signs every call; the public key comes from the admin JWKS and the kid names it', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({
      functionUrl: fn.url,
      signing: 'EdDSA',
      env: { MXHOOK_STEPS: ALL_STEPS },
    });
    await expectNormalTransaction(bridge.port);

    const response = await fetch(`${bridge.adminUrl}/.well-known/jwks.json`);
    expect(response.status).toBe(200);
    const jwks = (await response.json()) as JSONWebKeySet;
    expect(jwks.keys).toHaveLength(1);
    const [published] = jwks.keys;
    // The published key is the public half of the key file, derived here without the SDK.
    const expected = createPublicKey(await readFile(bridge.keyFile!, 'utf8')).export({
      format: 'jwk',
    });
    expect(published).toMatchObject({
      kty: 'OKP',
      crv: 'Ed25519',
      x: expected.x,
      alg: 'EdDSA',
      use: 'sig',
    });
    expect(published).not.toHaveProperty('d');
    expect(typeof published!.kid).toBe('string');

    const keySet = createLocalJWKSet(jwks);
    expect(fn.requests).toHaveLength(5);
    for (const request of fn.requests) {
      const verified = await flattenedVerify(reattach(request), keySet, { algorithms: ['EdDSA'] });
      expect(verified.protectedHeader).toEqual({
        alg: 'EdDSA',
        kid: published!.kid,
        typ: 'mxhook+jws',
      });
      expect(Buffer.from(verified.payload).equals(request.raw)).toBe(true);
    }
  });

  it('a body with one byte changed fails verification', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url, signing: 'EdDSA' });
    await expectNormalTransaction(bridge.port);
    const jwks = (await (
      await fetch(`${bridge.adminUrl}/.well-known/jwks.json`)
    ).json()) as JSONWebKeySet;
    const request = fn.requestsFor('data')[0]!;
    await expect(
      flattenedVerify(reattach(request, tampered(request.raw)), createLocalJWKSet(jwks), {
        algorithms: ['EdDSA'],
      }),
    ).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
  });

  it('with both a key file and a secret, the Ed25519 key signs', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({
      functionUrl: fn.url,
      signing: 'EdDSA',
      env: { MXHOOK_SIGNING_SECRET: newSecret() },
    });
    await expectNormalTransaction(bridge.port);
    const jwks = (await (
      await fetch(`${bridge.adminUrl}/.well-known/jwks.json`)
    ).json()) as JSONWebKeySet;
    const request = fn.requestsFor('data')[0]!;
    const verified = await flattenedVerify(reattach(request), createLocalJWKSet(jwks), {
      algorithms: ['EdDSA'],
    });
    expect(verified.protectedHeader?.alg).toBe('EdDSA');
  });
});
