// verify / verifyBody: round trips for both algorithms, every key form, and every refusal code.
import { exportJWK, FlattenedSign, generateKeyPair, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { MxhookError, MxhookVerifyError } from '../../../../functions/sdk/errors.ts';
import { MemorySeenIdStore } from '../../../../functions/sdk/replay.ts';
import {
  importEd25519PrivateKey,
  importHmacSecret,
  publicJwks,
  type SigningKey,
  signBody,
} from '../../../../functions/sdk/sign.ts';
import { verify, verifyBody } from '../../../../functions/sdk/verify.ts';
import { SIGNATURE_HEADER } from '../../../../functions/sdk/wire.ts';
import {
  encode,
  FUNCTION_URL,
  NOW,
  now,
  OTHER_SECRET,
  payloadFor,
  SECRET,
  signedRequest,
} from './helpers.ts';

async function newEdKey(kid?: string): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  return importEd25519PrivateKey(await exportJWK(privateKey), kid === undefined ? {} : { kid });
}

async function refusal(promise: Promise<unknown>): Promise<MxhookError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(MxhookError);
  return error as MxhookError;
}

async function signed(
  value: unknown,
  key: SigningKey,
): Promise<{ body: Uint8Array; signature: string }> {
  const body = encode(value);
  return { body, signature: await signBody(body, key) };
}

describe('verify round trips', () => {
  it('accepts an HS256-signed request and returns its typed payload', async () => {
    const key = await importHmacSecret(SECRET);
    const payload = payloadFor('rcpt');
    const result = await verify(await signedRequest(payload, key), SECRET, { now });
    expect(result).toEqual(payload);
    if (result.step === 'rcpt') expect(result.rcpt.address).toBe('bob@example.com');
  });

  it('accepts an EdDSA-signed request with the public JWK, the CryptoKey, or a JWKS', async () => {
    const key = await newEdKey();
    const payload = payloadFor('data');
    const publicKey = await importJWK(key.publicJwk!, 'EdDSA');
    for (const keys of [key.publicJwk!, publicKey, publicJwks([key])]) {
      expect(await verify(await signedRequest(payload, key), keys as never, { now })).toEqual(
        payload,
      );
    }
  });

  it('accepts a public JWK without a kid whatever kid the signature names', async () => {
    const key = await newEdKey();
    const { kid: _kid, ...anonymous } = key.publicJwk!;
    const { body, signature } = await signed(payloadFor('mail'), key);
    expect((await verifyBody(body, signature, anonymous, { now })).step).toBe('mail');
  });

  it('types the payload by the expected step', async () => {
    const key = await importHmacSecret(SECRET);
    const { body, signature } = await signed(payloadFor('helo'), key);
    const result = await verifyBody(body, signature, SECRET, { now, step: 'helo' });
    expect(result.helo.hostname).toBe('mail.sender.example');
  });

  it('verifies a body given as ArrayBuffer or as UTF-8 text', async () => {
    const key = await importHmacSecret(SECRET);
    const { body, signature } = await signed(payloadFor('connect'), key);
    const buffer = body.slice().buffer as ArrayBuffer;
    expect((await verifyBody(buffer, signature, SECRET, { now })).step).toBe('connect');
    const text = new TextDecoder().decode(body);
    expect((await verifyBody(text, signature, SECRET, { now })).step).toBe('connect');
  });

  it('accepts a signature header with surrounding whitespace', async () => {
    const key = await importHmacSecret(SECRET);
    const { body, signature } = await signed(payloadFor('connect'), key);
    expect((await verifyBody(body, ` ${signature} `, SECRET, { now })).step).toBe('connect');
  });
});

describe('key rotation', () => {
  it('picks the secret by kid, so a request signed with the old or the new secret verifies', async () => {
    for (const secret of [SECRET, OTHER_SECRET]) {
      const key = await importHmacSecret(secret);
      const { body, signature } = await signed(payloadFor('rcpt'), key);
      expect((await verifyBody(body, signature, [OTHER_SECRET, SECRET], { now })).step).toBe(
        'rcpt',
      );
    }
  });

  it('matches secrets given with an explicit kid', async () => {
    const key = await importHmacSecret(SECRET, { kid: 'v2' });
    const { body, signature } = await signed(payloadFor('rcpt'), key);
    const keys = [
      { secret: OTHER_SECRET, kid: 'v1' },
      { secret: SECRET, kid: 'v2' },
    ];
    expect((await verifyBody(body, signature, keys, { now })).step).toBe('rcpt');
  });

  it('verifies with either key while both are published in the JWKS', async () => {
    const newer = await newEdKey();
    const older = await newEdKey();
    const jwks = publicJwks([newer, older]);
    for (const key of [newer, older]) {
      const { body, signature } = await signed(payloadFor('data'), key);
      expect((await verifyBody(body, signature, jwks, { now })).step).toBe('data');
    }
  });

  it('refuses a secret that is no longer configured with ERR_KEY_UNKNOWN', async () => {
    const key = await importHmacSecret(OTHER_SECRET);
    const { body, signature } = await signed(payloadFor('rcpt'), key);
    expect((await refusal(verifyBody(body, signature, [SECRET], { now }))).code).toBe(
      'ERR_KEY_UNKNOWN',
    );
    expect((await refusal(verifyBody(body, signature, SECRET, { now }))).code).toBe(
      'ERR_KEY_UNKNOWN',
    );
  });

  it('refuses a key that was removed from the JWKS with ERR_KEY_UNKNOWN', async () => {
    const removed = await newEdKey();
    const { body, signature } = await signed(payloadFor('rcpt'), removed);
    const jwks = publicJwks([await newEdKey()]);
    const error = await refusal(verifyBody(body, signature, jwks, { now }));
    expect(error).toBeInstanceOf(MxhookVerifyError);
    expect(error.code).toBe('ERR_KEY_UNKNOWN');
  });

  it('refuses a signature without kid when several keys could match, with ERR_KEY_UNKNOWN', async () => {
    const key = await newEdKey();
    const body = encode(payloadFor('rcpt'));
    const jws = await new FlattenedSign(body)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'mxhook+jws' })
      .sign(key.cryptoKey);
    const jwks = publicJwks([key, await newEdKey()]);
    const error = await refusal(
      verifyBody(body, `${jws.protected}..${jws.signature}`, jwks, { now }),
    );
    expect(error.code).toBe('ERR_KEY_UNKNOWN');
  });
});

describe('refusals', () => {
  it('refuses a request without the Mxhook-Signature header with ERR_SIGNATURE_MISSING', async () => {
    const request = new Request(FUNCTION_URL, { method: 'POST', body: encode(payloadFor('rcpt')) });
    expect((await refusal(verify(request, SECRET, { now }))).code).toBe('ERR_SIGNATURE_MISSING');
    expect((await refusal(verifyBody(encode({}), '', SECRET, { now }))).code).toBe(
      'ERR_SIGNATURE_MISSING',
    );
    expect((await refusal(verifyBody(encode({}), null, SECRET, { now }))).code).toBe(
      'ERR_SIGNATURE_MISSING',
    );
  });

  it('rejects a tampered body with ERR_SIGNATURE_INVALID', async () => {
    const key = await importHmacSecret(SECRET);
    const payload = payloadFor('rcpt');
    const { signature } = await signed(payload, key);
    const tampered = encode({ ...payload, rcpt: { address: 'eve@example.com', params: {} } });
    const error = await refusal(verifyBody(tampered, signature, SECRET, { now }));
    expect(error.code).toBe('ERR_SIGNATURE_INVALID');
  });

  it('rejects a tampered EdDSA body with ERR_SIGNATURE_INVALID', async () => {
    const key = await newEdKey();
    const { body, signature } = await signed(payloadFor('data'), key);
    const tampered = body.slice();
    tampered[10] = (tampered[10]! + 1) % 256;
    const error = await refusal(verifyBody(tampered, signature, key.publicJwk!, { now }));
    expect(error.code).toBe('ERR_SIGNATURE_INVALID');
  });

  it.each([
    ['a compact JWS with the payload attached', 'a.b.c'],
    ['a single segment', 'abc'],
    ['characters outside base64url', 'ab+c..de/f'],
    ['a protected header that is not JSON', 'bm90IGpzb24..c2ln'],
  ])('rejects %s as the signature with ERR_SIGNATURE_INVALID', async (_name, signature) => {
    const error = await refusal(verifyBody(encode(payloadFor('rcpt')), signature, SECRET, { now }));
    expect(error.code).toBe('ERR_SIGNATURE_INVALID');
  });

  it('rejects an HS256 signature when only a public key is configured (no algorithm confusion)', async () => {
    const edKey = await newEdKey();
    const { body, signature } = await signed(payloadFor('rcpt'), await importHmacSecret(SECRET));
    const error = await refusal(verifyBody(body, signature, edKey.publicJwk!, { now }));
    expect(error.code).toBe('ERR_SIGNATURE_INVALID');
  });

  it('rejects an EdDSA signature when only secrets are configured', async () => {
    const { body, signature } = await signed(payloadFor('rcpt'), await newEdKey());
    expect((await refusal(verifyBody(body, signature, SECRET, { now }))).code).toBe(
      'ERR_SIGNATURE_INVALID',
    );
  });

  it('rejects a valid JWS that is not typed mxhook+jws with ERR_SIGNATURE_INVALID', async () => {
    const key = await importHmacSecret(SECRET);
    const body = encode(payloadFor('rcpt'));
    const jws = await new FlattenedSign(body)
      .setProtectedHeader({ alg: 'HS256', kid: key.kid })
      .sign(key.cryptoKey);
    const error = await refusal(
      verifyBody(body, `${jws.protected}..${jws.signature}`, SECRET, { now }),
    );
    expect(error.code).toBe('ERR_SIGNATURE_INVALID');
  });

  it('rejects a request older than the tolerance with ERR_TIMESTAMP_EXPIRED', async () => {
    const key = await importHmacSecret(SECRET);
    const { body, signature } = await signed(payloadFor('rcpt'), key);
    const later = () => NOW + 301;
    expect((await refusal(verifyBody(body, signature, SECRET, { now: later }))).code).toBe(
      'ERR_TIMESTAMP_EXPIRED',
    );
    expect((await verifyBody(body, signature, SECRET, { now: () => NOW + 300 })).step).toBe('rcpt');
  });

  it('rejects a request from further in the future than the tolerance with ERR_TIMESTAMP_EXPIRED', async () => {
    const key = await importHmacSecret(SECRET);
    const { body, signature } = await signed(payloadFor('rcpt'), key);
    const error = await refusal(
      verifyBody(body, signature, SECRET, { now: () => NOW - 61, toleranceSeconds: 60 }),
    );
    expect(error.code).toBe('ERR_TIMESTAMP_EXPIRED');
    expect(error.message).toContain('future');
  });

  it('checks the audience against the function URL, with or without the step and trailing slash', async () => {
    const key = await importHmacSecret(SECRET);
    const { body, signature } = await signed(payloadFor('rcpt'), key);
    for (const audience of [
      FUNCTION_URL,
      `${FUNCTION_URL}/`,
      `${FUNCTION_URL}/rcpt`,
      ['https://x.test', FUNCTION_URL],
    ]) {
      expect((await verifyBody(body, signature, SECRET, { now, audience })).step).toBe('rcpt');
    }
  });

  it('rejects a request made for another function with ERR_AUDIENCE_MISMATCH', async () => {
    const key = await importHmacSecret(SECRET);
    const { body, signature } = await signed(payloadFor('rcpt'), key);
    for (const audience of [
      'https://hooks.example.com/other',
      `${FUNCTION_URL}/data`,
      'https://hooks.example.com',
    ]) {
      const error = await refusal(verifyBody(body, signature, SECRET, { now, audience }));
      expect(error.code).toBe('ERR_AUDIENCE_MISMATCH');
    }
  });

  it.each([
    ['not JSON', '{"v":1,'],
    ['not an object', '[1]'],
    ['wire version 2', JSON.stringify({ ...payloadFor('rcpt'), v: 2 })],
    ['an unknown step', JSON.stringify({ ...payloadFor('rcpt'), step: 'vrfy' })],
    ['no id', JSON.stringify({ ...payloadFor('rcpt'), id: '' })],
    ['a string timestamp', JSON.stringify({ ...payloadFor('rcpt'), timestamp: String(NOW) })],
    ['no audience', JSON.stringify({ ...payloadFor('rcpt'), audience: undefined })],
    ['no session', JSON.stringify({ ...payloadFor('rcpt'), session: null })],
    ['no envelope', JSON.stringify({ ...payloadFor('rcpt'), envelope: 'x' })],
    ['an rcpt step without rcpt', JSON.stringify({ ...payloadFor('rcpt'), rcpt: undefined })],
    ['a data step without message', JSON.stringify({ ...payloadFor('data'), message: undefined })],
  ])('rejects a signed body that is %s with ERR_BODY_MALFORMED', async (_name, text) => {
    const key = await importHmacSecret(SECRET);
    const body = new TextEncoder().encode(text);
    const error = await refusal(verifyBody(body, await signBody(body, key), SECRET, { now }));
    expect(error.code).toBe('ERR_BODY_MALFORMED');
  });

  it('rejects a signed body that is not UTF-8 with ERR_BODY_MALFORMED', async () => {
    const key = await importHmacSecret(SECRET);
    const body = new Uint8Array([0x7b, 0xff, 0x7d]);
    const error = await refusal(verifyBody(body, await signBody(body, key), SECRET, { now }));
    expect(error.code).toBe('ERR_BODY_MALFORMED');
  });

  it('rejects a request for another step than expected with ERR_BODY_MALFORMED', async () => {
    const key = await importHmacSecret(SECRET);
    const { body, signature } = await signed(payloadFor('rcpt'), key);
    const error = await refusal(verifyBody(body, signature, SECRET, { now, step: 'data' }));
    expect(error.code).toBe('ERR_BODY_MALFORMED');
  });

  it('rejects a replayed id with ERR_REPLAYED', async () => {
    const key = await importHmacSecret(SECRET);
    const replay = new MemorySeenIdStore({ now });
    const { body, signature } = await signed(payloadFor('rcpt'), key);
    expect((await verifyBody(body, signature, SECRET, { now, replay })).step).toBe('rcpt');
    expect((await refusal(verifyBody(body, signature, SECRET, { now, replay }))).code).toBe(
      'ERR_REPLAYED',
    );
  });

  it('remembers an id only until its timestamp leaves the tolerance window', async () => {
    const seen: [string, number][] = [];
    const replay = {
      async markSeen(id: string, expiresAtSeconds: number) {
        seen.push([id, expiresAtSeconds]);
        return true;
      },
    };
    const payload = payloadFor('rcpt');
    const { body, signature } = await signed(payload, await importHmacSecret(SECRET));
    await verifyBody(body, signature, SECRET, { now, replay, toleranceSeconds: 120 });
    expect(seen).toEqual([[payload.id, NOW + 120]]);
  });

  it('does not record the id of a request that fails another check', async () => {
    const replay = new MemorySeenIdStore({ now });
    const { body, signature } = await signed(payloadFor('rcpt'), await importHmacSecret(SECRET));
    await refusal(verifyBody(body, signature, SECRET, { now: () => NOW + 1000, replay }));
    expect(replay.size).toBe(0);
  });
});

describe('usage errors', () => {
  it('refuses to verify a request whose body was already read with ERR_BODY_USED', async () => {
    const request = await signedRequest(payloadFor('rcpt'), await importHmacSecret(SECRET));
    await request.text();
    expect((await refusal(verify(request, SECRET, { now }))).code).toBe('ERR_BODY_USED');
  });

  it.each([
    ['toleranceSeconds', { toleranceSeconds: -1 }],
    ['toleranceSeconds', { toleranceSeconds: Number.NaN }],
    ['audience', { audience: [] }],
    ['audience', { audience: [''] }],
    ['replay', { replay: {} }],
    ['step', { step: 'vrfy' }],
    ['now', { now: 5 }],
    ['remoteJwks', { remoteJwks: 'fast' }],
  ])('names the bad option %s with ERR_OPTION_INVALID', async (name, options) => {
    const { body, signature } = await signed(payloadFor('rcpt'), await importHmacSecret(SECRET));
    const error = await refusal(verifyBody(body, signature, SECRET, options as never));
    expect(error.code).toBe('ERR_OPTION_INVALID');
    expect(error.message).toContain(`"${name}"`);
  });

  it.each([
    ['an empty secret', ''],
    ['an empty list of secrets', []],
    ['a list with a non-string', [SECRET, 5]],
    ['a secret object without kid', [{ secret: SECRET }]],
    ['a private JWK', { kty: 'OKP', crv: 'Ed25519', x: 'a', d: 'b' }],
    ['an RSA JWK', { kty: 'RSA', n: 'a', e: 'AQAB' }],
    ['a JWKS without a keys array', { keys: 'none' }],
    ['a number', 42],
    ['an ftp URL', new URL('ftp://example.com/jwks.json')],
  ])('refuses %s as keys with ERR_KEY_INVALID', async (_name, keys) => {
    const { body, signature } = await signed(payloadFor('rcpt'), await importHmacSecret(SECRET));
    const error = await refusal(verifyBody(body, signature, keys as never, { now }));
    expect(error.code).toBe('ERR_KEY_INVALID');
    expect(error).not.toBeInstanceOf(MxhookVerifyError);
  });

  it('refuses a private CryptoKey as verification key with ERR_KEY_INVALID', async () => {
    const key = await newEdKey();
    const error = await refusal(verifyBody(encode({}), 'a..b', key.cryptoKey, { now }));
    expect(error.code).toBe('ERR_KEY_INVALID');
  });

  it('accepts the request when the header is read case-insensitively', async () => {
    const key = await importHmacSecret(SECRET);
    const body = encode(payloadFor('rcpt'));
    const request = new Request(FUNCTION_URL, {
      method: 'POST',
      body,
      headers: { [SIGNATURE_HEADER.toLowerCase()]: await signBody(body, key) },
    });
    expect((await verify(request, SECRET, { now })).step).toBe('rcpt');
  });
});
