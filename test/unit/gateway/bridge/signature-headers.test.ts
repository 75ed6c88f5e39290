// MXHOOK_SIGNATURE_FORMAT picks the headers: Mxhook-Signature alone, or the three Standard Webhooks ones.
import { describe, expect, it } from 'vitest';
import { createBodySigner } from '../../../../gateway/bridge/body-signer.ts';
import { type StampedBody, wholeBody } from '../../../../gateway/bridge/request-body.ts';
import { createSignatureHeaders } from '../../../../gateway/bridge/signature-headers.ts';
import { importGatewayKey } from '../../../../gateway/signing-keys.ts';

const SECRET = 'a-shared-secret-of-at-least-32-bytes-long';
const stamp = { id: 'c9b1a7d2-51f4-4d0e-8f7a-2b3c4d5e6f70', timestamp: 1_800_000_000 };
const body: StampedBody = {
  ...wholeBody(Buffer.from(`{"v":1,"id":"${stamp.id}","timestamp":${stamp.timestamp}}`)),
  ...stamp,
};

describe('createSignatureHeaders', () => {
  it('jws: only mxhook-signature, exactly the JWS signer value', async () => {
    const key = await importGatewayKey({ secret: SECRET });
    expect(await createSignatureHeaders('jws', key)(body)).toEqual({
      'mxhook-signature': await createBodySigner(key)(body),
    });
  });

  it('standard-webhooks: webhook-id and webhook-timestamp from the body, and a v1 signature', async () => {
    const key = await importGatewayKey({ secret: SECRET });
    const headers = await createSignatureHeaders('standard-webhooks', key)(body);
    expect(Object.keys(headers).sort()).toEqual([
      'webhook-id',
      'webhook-signature',
      'webhook-timestamp',
    ]);
    expect(headers['webhook-id']).toBe(stamp.id);
    expect(headers['webhook-timestamp']).toBe('1800000000');
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });
});
