// Key lookup, above all a remote JWKS served by a real loopback HTTP server: caching, rotation and refetch on an unknown kid.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MxhookError } from '../../../../functions/sdk/errors.ts';
import { MIN_JWKS_COOLDOWN_MS, resolveKeys } from '../../../../functions/sdk/keys.ts';
import {
  importEd25519PrivateKey,
  type PublicJwks,
  publicJwks,
  type SigningKey,
  signBody,
} from '../../../../functions/sdk/sign.ts';
import { verifyBody } from '../../../../functions/sdk/verify.ts';
import { encode, now, payloadFor, SECRET } from './helpers.ts';

async function newEdKey(): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  return importEd25519PrivateKey(await exportJWK(privateKey));
}

/** What the JWKS server answers on each path, and how often each path was fetched. */
const served = new Map<string, { status: number; body: string }>();
const fetches = new Map<string, number>();
let server: Server;
let origin: string;
let pathCounter = 0;

function publish(path: string, jwks: PublicJwks | string, status = 200): void {
  served.set(path, { status, body: typeof jwks === 'string' ? jwks : JSON.stringify(jwks) });
}

/** A path of its own per test, since remote key sets are cached per URL for the module's life. */
function freshPath(): string {
  pathCounter += 1;
  return `/jwks-${pathCounter}.json`;
}

/** Moves the clock the JWKS cache reads (Date) past the refetch cooldown; nothing else is faked. */
function afterCooldown(): void {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Date.now() + MIN_JWKS_COOLDOWN_MS);
}

afterEach(() => {
  vi.useRealTimers();
});

beforeAll(async () => {
  server = createServer((request, response) => {
    const path = request.url ?? '/';
    fetches.set(path, (fetches.get(path) ?? 0) + 1);
    const answer = served.get(path) ?? { status: 404, body: 'not found' };
    response.writeHead(answer.status, { 'content-type': 'application/json' });
    response.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  );
});

async function signedPayload(key: SigningKey): Promise<{ body: Uint8Array; signature: string }> {
  const body = encode(payloadFor('rcpt'));
  return { body, signature: await signBody(body, key) };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  return error instanceof MxhookError ? error.code : undefined;
}

describe('remote JWKS', () => {
  it('fetches the JWKS by URL string or URL object, once, and reuses it', async () => {
    const key = await newEdKey();
    const path = freshPath();
    publish(path, publicJwks([key]));
    for (const keys of [`${origin}${path}`, new URL(path, origin), `${origin}${path}`]) {
      const { body, signature } = await signedPayload(key);
      expect((await verifyBody(body, signature, keys, { now })).step).toBe('rcpt');
    }
    expect(fetches.get(path)).toBe(1);
  });

  it('refetches on an unknown kid, so a key added to the JWKS verifies without a restart', async () => {
    const older = await newEdKey();
    const newer = await newEdKey();
    const path = freshPath();
    const url = `${origin}${path}`;
    const options = { now, remoteJwks: { cooldownMs: MIN_JWKS_COOLDOWN_MS } };
    publish(path, publicJwks([older]));
    const first = await signedPayload(older);
    expect((await verifyBody(first.body, first.signature, url, options)).step).toBe('rcpt');

    // The gateway rotates: the new key signs, both are published; the cooldown has passed.
    publish(path, publicJwks([newer, older]));
    afterCooldown();
    const second = await signedPayload(newer);
    expect((await verifyBody(second.body, second.signature, url, options)).step).toBe('rcpt');
    expect(fetches.get(path)).toBe(2);
    const third = await signedPayload(older);
    expect((await verifyBody(third.body, third.signature, url, options)).step).toBe('rcpt');
    expect(fetches.get(path)).toBe(2);
  });

  it('refuses a kid that is still unknown after the refetch with ERR_KEY_UNKNOWN', async () => {
    const path = freshPath();
    const known = await newEdKey();
    publish(path, publicJwks([known]));
    const url = `${origin}${path}`;
    const options = { now, remoteJwks: { cooldownMs: MIN_JWKS_COOLDOWN_MS } };
    const first = await signedPayload(known);
    expect((await verifyBody(first.body, first.signature, url, options)).step).toBe('rcpt');
    afterCooldown();
    const { body, signature } = await signedPayload(await newEdKey());
    expect(await codeOf(verifyBody(body, signature, url, options))).toBe('ERR_KEY_UNKNOWN');
    expect(fetches.get(path)).toBe(2);
  });

  it('refetches at most once per cooldown, so unknown kids cannot make it hammer the JWKS URL', async () => {
    const path = freshPath();
    publish(path, publicJwks([await newEdKey()]));
    const url = `${origin}${path}`;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const { body, signature } = await signedPayload(await newEdKey());
      expect(await codeOf(verifyBody(body, signature, url, { now }))).toBe('ERR_KEY_UNKNOWN');
    }
    expect(fetches.get(path)).toBe(1);
  });

  it.each([
    ['answers 500', 'x', 500],
    ['answers something other than JSON', 'not json', 200],
    ['answers JSON that is not a JWKS', '{"keys":"none"}', 200],
  ])('fails with ERR_KEYS_UNAVAILABLE when the JWKS URL %s', async (_name, body, status) => {
    const path = freshPath();
    publish(path, body, status);
    const signed = await signedPayload(await newEdKey());
    expect(
      await codeOf(verifyBody(signed.body, signed.signature, `${origin}${path}`, { now })),
    ).toBe('ERR_KEYS_UNAVAILABLE');
  });

  it('fails with ERR_KEYS_UNAVAILABLE when nothing listens at the JWKS URL', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const signed = await signedPayload(await newEdKey());
    const url = `http://127.0.0.1:${port}/jwks.json`;
    expect(await codeOf(verifyBody(signed.body, signed.signature, url, { now }))).toBe(
      'ERR_KEYS_UNAVAILABLE',
    );
  });

  it.each([
    ['cooldownMs', { cooldownMs: -1 }],
    ['cooldownMs', { cooldownMs: 0 }],
    ['cooldownMs', { cooldownMs: MIN_JWKS_COOLDOWN_MS - 1 }],
    ['cacheMaxAgeMs', { cacheMaxAgeMs: 1.5 }],
    ['timeoutMs', { timeoutMs: Number.NaN }],
  ])('names a bad remoteJwks.%s with ERR_OPTION_INVALID', (name, remoteJwks) => {
    expect(() => resolveKeys(`${origin}/jwks.json`, remoteJwks)).toThrow(
      expect.objectContaining({
        code: 'ERR_OPTION_INVALID',
        message: expect.stringContaining(name),
      }),
    );
  });
});

describe('resolveKeys', () => {
  it('classifies secrets as HS256 and public keys, JWKS and URLs as EdDSA', async () => {
    const key = await newEdKey();
    expect(resolveKeys(SECRET).algorithm).toBe('HS256');
    expect(resolveKeys([SECRET]).algorithm).toBe('HS256');
    expect(resolveKeys(key.publicJwk!).algorithm).toBe('EdDSA');
    expect(resolveKeys(publicJwks([key])).algorithm).toBe('EdDSA');
    expect(resolveKeys('https://gateway.example.com/.well-known/jwks.json').algorithm).toBe(
      'EdDSA',
    );
  });

  it('prepares an object of keys once and reuses it', async () => {
    const jwks = publicJwks([await newEdKey()]);
    expect(resolveKeys(jwks)).toBe(resolveKeys(jwks));
  });
});
