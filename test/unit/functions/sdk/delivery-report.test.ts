// The `delivery` call in the SDK: verifyDeliveryBody, and mxhook() routing it to its handler.
import { describe, expect, it } from 'vitest';
import { verifyDeliveryBody } from '../../../../functions/sdk/delivery-report.ts';
import { mxhook } from '../../../../functions/sdk/hono.ts';
import { MemorySeenIdStore } from '../../../../functions/sdk/replay.ts';
import { importHmacSecret, signBody } from '../../../../functions/sdk/sign.ts';
import { type DeliveryReportRequest, SIGNATURE_HEADER } from '../../../../functions/sdk/wire.ts';
import { FUNCTION_URL, NOW, now, OTHER_SECRET, SECRET } from './helpers.ts';

function report(overrides: Partial<DeliveryReportRequest> = {}): DeliveryReportRequest {
  return {
    v: 1,
    id: `delivery-${Math.random()}`,
    step: 'delivery',
    timestamp: NOW,
    audience: `${FUNCTION_URL}/delivery`,
    delivery: {
      queueId: '1767225600000abcdef0123456789',
      origin: 'send-api',
      messageId: '<m1@mx.example.com>',
      sender: 'support@example.com',
      recipient: 'alice@example.org',
      outcome: 'failed',
      reply: '550 5.1.1 no such user',
      attempts: 1,
      nextAttemptAt: null,
      remote: { host: 'mx.example.org', address: '198.51.100.7', tls: null },
    },
    ...overrides,
  };
}

async function signed(body: unknown, secret = SECRET) {
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  return { bytes, signature: await signBody(bytes, await importHmacSecret(secret)) };
}

describe('verifyDeliveryBody', () => {
  it('returns the report of a signed, fresh delivery call for this function', async () => {
    const { bytes, signature } = await signed(report());
    const verified = await verifyDeliveryBody(bytes, signature, SECRET, {
      now,
      audience: FUNCTION_URL,
    });
    expect(verified.delivery).toMatchObject({ outcome: 'failed', recipient: 'alice@example.org' });
  });

  it.each([
    ['a wrong key', () => signed(report(), OTHER_SECRET), 'ERR_KEY_UNKNOWN'],
    ['a stale call', () => signed(report({ timestamp: NOW - 3600 })), 'ERR_TIMESTAMP_EXPIRED'],
    ['a step call', () => signed({ ...report(), step: 'rcpt' }), 'ERR_BODY_MALFORMED'],
    [
      'an unknown outcome',
      () => signed({ ...report(), delivery: { ...report().delivery, outcome: 'lost' } }),
      'ERR_BODY_MALFORMED',
    ],
  ] as const)('refuses %s', async (_what, make, code) => {
    const { bytes, signature } = await make();
    await expect(verifyDeliveryBody(bytes, signature, SECRET, { now })).rejects.toMatchObject({
      code,
    });
  });

  it('refuses a replayed call with a replay store', async () => {
    const replay = new MemorySeenIdStore({ now });
    const { bytes, signature } = await signed(report());
    await verifyDeliveryBody(bytes, signature, SECRET, { now, replay });
    await expect(
      verifyDeliveryBody(bytes, signature, SECRET, { now, replay }),
    ).rejects.toMatchObject({ code: 'ERR_REPLAYED' });
  });
});

describe('mxhook() and delivery calls', () => {
  async function post(app: ReturnType<typeof mxhook>, body: unknown, secret = SECRET) {
    const { bytes, signature } = await signed(body, secret);
    return app.request('/delivery', {
      method: 'POST',
      body: bytes,
      headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signature },
    });
  }

  it('hands a verified report to the delivery handler and answers 200', async () => {
    const seen: DeliveryReportRequest[] = [];
    const app = mxhook(
      { delivery: (request) => void seen.push(request) },
      { keys: SECRET, now, audience: FUNCTION_URL },
    );
    const response = await post(app, report());
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    expect(seen.map((request) => request.delivery.outcome)).toEqual(['failed']);
  });

  it('answers 200 without a delivery handler, and 401 with the code for a bad signature', async () => {
    const app = mxhook({}, { keys: SECRET, now });
    expect((await post(app, report())).status).toBe(200);
    const refused = await post(app, report(), OTHER_SECRET);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: 'ERR_KEY_UNKNOWN' });
  });
});
