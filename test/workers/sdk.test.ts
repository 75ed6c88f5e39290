// The SDK inside workerd: signing and verifying with the Workers runtime's Web Crypto, key rotation
// through a JWKS, the checked-in vectors, and every refusal code.
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  accept,
  MemorySeenIdStore,
  MIN_JWKS_COOLDOWN_MS,
  MxhookError,
  mxhook,
  publicJwks,
  reject,
  SIGNATURE_HEADER,
  type VerifyErrorCode,
  verify,
  verifyBody,
} from '../../functions/sdk/index.ts';
import { KvSeenIdStore } from '../../functions/worker/kv-seen-id-store.ts';
import eddsaVector from '../vectors/signature-eddsa.json' with { type: 'json' };
import hs256Vector from '../vectors/signature-hs256.json' with { type: 'json' };
import {
  encode,
  FUNCTION_URL,
  hmacKey,
  newEd25519Key,
  OTHER_SECRET,
  rcptPayload,
  SECRET,
  signedRequest,
} from './helpers.ts';
import { BROKEN_JWKS_URL, JWKS_ORIGIN } from './outbound.ts';

afterEach(() => {
  vi.useRealTimers();
});

// Every code a refusal can carry; the compiler keeps this list complete, and the last test
// checks that each one was produced by some test below.
const ALL_CODES: Record<VerifyErrorCode, true> = {
  ERR_SIGNATURE_MISSING: true,
  ERR_SIGNATURE_INVALID: true,
  ERR_KEY_UNKNOWN: true,
  ERR_KEYS_UNAVAILABLE: true,
  ERR_TIMESTAMP_EXPIRED: true,
  ERR_AUDIENCE_MISMATCH: true,
  ERR_BODY_MALFORMED: true,
  ERR_REPLAYED: true,
  ERR_BODY_TOO_LARGE: true,
};
const seenCodes = new Set<string>();

async function refusalCode(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(MxhookError);
  const code = (error as MxhookError).code;
  seenCodes.add(code);
  return code;
}

async function publish(name: string, jwks: unknown): Promise<string> {
  const url = `${JWKS_ORIGIN}/${name}/jwks.json`;
  const response = await fetch(url, { method: 'PUT', body: JSON.stringify(jwks) });
  expect(response.status).toBe(204);
  return url;
}

describe('runs on the Workers runtime', () => {
  it('has the Workers globals, so these tests are not running in Node', () => {
    expect(navigator.userAgent).toBe('Cloudflare-Workers');
    expect(typeof (globalThis as Record<string, unknown>).HTMLRewriter).toBe('function');
  });
});

describe('signing and verifying in workerd', () => {
  it('verifies an HS256 call signed here', async () => {
    const payload = rcptPayload('bob@inbox.test');
    expect(await verify(await signedRequest(payload, await hmacKey()), SECRET)).toEqual(payload);
  });

  it('verifies an EdDSA call signed here with the public JWK', async () => {
    const key = await newEd25519Key();
    const payload = rcptPayload('bob@inbox.test');
    expect(await verify(await signedRequest(payload, key), key.publicJwk!)).toEqual(payload);
  });

  it.each([
    ['HS256', hs256Vector],
    ['EdDSA', eddsaVector],
  ])('verifies the checked-in %s test vector byte for byte', async (_alg, vector) => {
    const keys = 'jwks' in vector ? vector.jwks : (vector as { secret: string }).secret;
    const now = () => vector.timestamp;
    const body = new TextEncoder().encode(vector.body);
    const result = await verifyBody(body, vector.signature, keys as never, { now });
    expect(result.id).toBe(JSON.parse(vector.body).id);
  });
});

describe('the checked-in vectors that must fail', () => {
  const cases = [hs256Vector, eddsaVector].flatMap((vector) =>
    vector.must_fail.map((failure) => ({ vector, failure })),
  );

  it.each(cases)('$vector.alg: $failure.why → $failure.code', async ({ vector, failure }) => {
    const keys = 'jwks' in vector ? vector.jwks : (vector as { secret: string }).secret;
    const at = 'now' in failure ? (failure as { now: number }).now : vector.timestamp;
    const body = new TextEncoder().encode(failure.body);
    const code = await refusalCode(
      verifyBody(body, failure.signature, keys as never, { now: () => at }),
    );
    expect(code).toBe(failure.code);
  });
});

describe('key rotation through a JWKS', () => {
  it('accepts calls signed by either of two Ed25519 keys in the JWKS', async () => {
    const newer = await newEd25519Key('2026-11');
    const older = await newEd25519Key('2026-05');
    const jwks = publicJwks([newer, older]);
    for (const key of [newer, older]) {
      const payload = rcptPayload('bob@inbox.test');
      expect((await verify(await signedRequest(payload, key), jwks)).id).toBe(payload.id);
    }
  });

  it('fetches the JWKS by URL and picks up a newly published key after a rotation', async () => {
    const older = await newEd25519Key();
    const newer = await newEd25519Key();
    const url = await publish(`rotation-${crypto.randomUUID()}`, publicJwks([older]));
    const options = { remoteJwks: { cooldownMs: MIN_JWKS_COOLDOWN_MS } };
    const first = rcptPayload('bob@inbox.test');
    expect((await verify(await signedRequest(first, older), url, options)).id).toBe(first.id);
    // The gateway starts signing with a new key and publishes both; once the cooldown has passed
    // (only Date is moved), the unknown kid triggers a refetch.
    await publish(new URL(url).pathname.split('/')[1]!, publicJwks([newer, older]));
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + MIN_JWKS_COOLDOWN_MS);
    for (const key of [newer, older]) {
      const payload = rcptPayload('bob@inbox.test');
      expect((await verify(await signedRequest(payload, key), url, options)).id).toBe(payload.id);
    }
  });

  it('refuses a key that is not in the JWKS with ERR_KEY_UNKNOWN', async () => {
    const jwks = publicJwks([await newEd25519Key(), await newEd25519Key()]);
    const request = await signedRequest(rcptPayload('bob@inbox.test'), await newEd25519Key());
    expect(await refusalCode(verify(request, jwks))).toBe('ERR_KEY_UNKNOWN');
  });

  it('picks the HS256 secret by kid, so old and new secrets both verify during a rotation', async () => {
    for (const secret of [SECRET, OTHER_SECRET]) {
      const request = await signedRequest(rcptPayload('bob@inbox.test'), await hmacKey(secret));
      expect((await verify(request, [OTHER_SECRET, SECRET])).step).toBe('rcpt');
    }
  });
});

describe('every refusal', () => {
  it('ERR_SIGNATURE_MISSING: no Mxhook-Signature header', async () => {
    const request = new Request(FUNCTION_URL, {
      method: 'POST',
      body: encode(rcptPayload('bob@inbox.test')),
    });
    expect(await refusalCode(verify(request, SECRET))).toBe('ERR_SIGNATURE_MISSING');
  });

  it('ERR_SIGNATURE_INVALID: the body was changed after signing', async () => {
    const payload = rcptPayload('bob@inbox.test');
    const signed = await signedRequest(payload, await hmacKey());
    const tampered = encode({ ...payload, rcpt: { address: 'eve@inbox.test', params: {} } });
    const signature = signed.headers.get(SIGNATURE_HEADER);
    expect(await refusalCode(verifyBody(tampered, signature, SECRET))).toBe(
      'ERR_SIGNATURE_INVALID',
    );
  });

  it('ERR_SIGNATURE_INVALID: an HS256 signature where EdDSA keys are configured', async () => {
    const request = await signedRequest(rcptPayload('bob@inbox.test'), await hmacKey());
    const jwks = publicJwks([await newEd25519Key()]);
    expect(await refusalCode(verify(request, jwks))).toBe('ERR_SIGNATURE_INVALID');
  });

  it('ERR_KEY_UNKNOWN: signed with a secret that is not configured', async () => {
    const request = await signedRequest(rcptPayload('bob@inbox.test'), await hmacKey(OTHER_SECRET));
    expect(await refusalCode(verify(request, SECRET))).toBe('ERR_KEY_UNKNOWN');
  });

  it('ERR_KEYS_UNAVAILABLE: the JWKS URL cannot be fetched', async () => {
    const request = await signedRequest(rcptPayload('bob@inbox.test'), await newEd25519Key());
    expect(await refusalCode(verify(request, BROKEN_JWKS_URL))).toBe('ERR_KEYS_UNAVAILABLE');
  });

  it('ERR_TIMESTAMP_EXPIRED: older, or further ahead, than the tolerance', async () => {
    for (const skew of [-301, 301]) {
      const payload = {
        ...rcptPayload('bob@inbox.test'),
        timestamp: Math.floor(Date.now() / 1000) + skew,
      };
      const request = await signedRequest(payload, await hmacKey());
      expect(await refusalCode(verify(request, SECRET))).toBe('ERR_TIMESTAMP_EXPIRED');
    }
  });

  it('ERR_AUDIENCE_MISMATCH: the call was made to another function', async () => {
    const request = await signedRequest(rcptPayload('bob@inbox.test'), await hmacKey());
    const options = { audience: 'https://other.example.workers.dev/mxhook/' };
    expect(await refusalCode(verify(request, SECRET, options))).toBe('ERR_AUDIENCE_MISMATCH');
  });

  it('ERR_BODY_MALFORMED: a signed body that is not a v1 request, or is for another step', async () => {
    const key = await hmacKey();
    const notJson = new TextEncoder().encode('not json');
    const { signBody } = await import('../../functions/sdk/index.ts');
    expect(await refusalCode(verifyBody(notJson, await signBody(notJson, key), SECRET))).toBe(
      'ERR_BODY_MALFORMED',
    );
    const request = await signedRequest(rcptPayload('bob@inbox.test'), key);
    expect(await refusalCode(verify(request, SECRET, { step: 'data' }))).toBe('ERR_BODY_MALFORMED');
  });

  it('ERR_REPLAYED: the same call twice, with the in-memory and the KV-backed store', async () => {
    const key = await hmacKey();
    for (const replay of [new MemorySeenIdStore(), new KvSeenIdStore(env.SEEN)]) {
      const payload = rcptPayload('bob@inbox.test');
      expect((await verify(await signedRequest(payload, key), SECRET, { replay })).id).toBe(
        payload.id,
      );
      expect(await refusalCode(verify(await signedRequest(payload, key), SECRET, { replay }))).toBe(
        'ERR_REPLAYED',
      );
    }
  });

  it('ERR_BODY_TOO_LARGE: a streamed body past maxBodyBytes, not read to its end', async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          pulled += 1;
          controller.enqueue(new Uint8Array(16 * 1024));
        },
      },
      { highWaterMark: 0 },
    );
    const request = new Request(FUNCTION_URL, {
      method: 'POST',
      body,
      headers: { [SIGNATURE_HEADER]: 'eyJhbGciOiJIUzI1NiJ9..c2lnbmF0dXJl' },
    });
    expect(await refusalCode(verify(request, SECRET, { maxBodyBytes: 64 * 1024 }))).toBe(
      'ERR_BODY_TOO_LARGE',
    );
    expect(pulled).toBeLessThanOrEqual(6);
  });

  it('produced every refusal code', () => {
    expect([...seenCodes].sort()).toEqual(Object.keys(ALL_CODES).sort());
  });
});

describe('the mxhook() Hono helper in workerd', () => {
  const app = mxhook(
    {
      rcpt: (call) =>
        call.rcpt.address.endsWith('@inbox.test') ? accept() : reject('No such user'),
    },
    { keys: SECRET },
  );

  it('routes a verified call to its step handler', async () => {
    const response = await app.fetch(
      await signedRequest(rcptPayload('bob@inbox.test'), await hmacKey(), '/rcpt'),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ action: 'accept' });
    const refused = await app.fetch(
      await signedRequest(rcptPayload('eve@elsewhere.test'), await hmacKey(), '/rcpt'),
    );
    expect(await refused.json()).toEqual({ action: 'reject', message: 'No such user' });
  });

  it('answers 401 with the refusal code when the signature does not verify', async () => {
    const response = await app.fetch(
      await signedRequest(rcptPayload('bob@inbox.test'), await hmacKey(OTHER_SECRET), '/rcpt'),
    );
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'ERR_KEY_UNKNOWN' });
  });

  it('answers 413 to a body whose Content-Length is over maxBodyBytes', async () => {
    const limited = mxhook({}, { keys: SECRET, maxBodyBytes: 1024 });
    const request = await signedRequest(rcptPayload('bob@inbox.test'), await hmacKey(), '/rcpt');
    const padded = new Request(request.url, {
      method: 'POST',
      headers: request.headers,
      body: new Uint8Array(4096),
    });
    const response = await limited.fetch(padded);
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: 'ERR_BODY_TOO_LARGE' });
  });
});
