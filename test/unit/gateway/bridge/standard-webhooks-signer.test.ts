// The Standard Webhooks signer: v1 exactly as the standardwebhooks library computes it, v1a an
// Ed25519 signature node:crypto verifies, over `<id>.<timestamp>.<body>`, whole or streamed.
import { generateKeyPairSync, verify } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { splicedBody, wholeBody } from '../../../../gateway/bridge/request-body.ts';
import { createStandardWebhooksSigner } from '../../../../gateway/bridge/standard-webhooks-signer.ts';
import { loadConfig } from '../../../../gateway/config/load-config.ts';
import { importConfiguredKeys, importGatewayKey } from '../../../../gateway/signing-keys.ts';
import { bodyBytes } from './body-bytes.ts';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const stamp = {
  id: '0b7c5e2a-2f3e-4c1a-9d3b-6a1f5e9c0d11',
  timestamp: Math.floor(Date.now() / 1000),
};
const head = `{"v":1,"id":"${stamp.id}","step":"data","timestamp":${stamp.timestamp},"message":{"raw":"`;

async function hs256Key() {
  const config = loadConfig({
    env: {
      MXHOOK_FUNCTION_URL: 'https://fn.example/',
      MXHOOK_SIGNATURE_FORMAT: 'standard-webhooks',
      MXHOOK_SIGNING_SECRET: SECRET,
    },
  });
  const [key] = await importConfiguredKeys(config);
  return key!;
}

async function ed25519Key() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = String(privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return { key: await importGatewayKey({ privateKey: pem }), publicKey };
}

/** A body over 256 KiB, so it is streamed in pieces, with a non-ASCII tail. */
function largeBody() {
  const raw = Array.from({ length: 5 }, (_, i) => Buffer.alloc(100_003, 0x41 + i));
  return splicedBody([
    head,
    { base64Of: raw, byteLength: 500_015 },
    `","subject":"${'é€😀'.repeat(20_000)}"}}`,
  ]);
}

describe('createStandardWebhooksSigner', () => {
  it('signs v1 exactly as the standardwebhooks library does, keyed by the decoded secret', async () => {
    const bytes = Buffer.from(`${head}aGk="}}`);
    const signature = await createStandardWebhooksSigner(await hs256Key())(wholeBody(bytes), stamp);
    const webhook = new Webhook(SECRET);
    expect(signature).toBe(webhook.sign(stamp.id, new Date(stamp.timestamp * 1000), bytes));
    const headers = {
      'webhook-id': stamp.id,
      'webhook-timestamp': String(stamp.timestamp),
      'webhook-signature': signature,
    };
    expect(webhook.verify(bytes.toString('utf8'), headers)).toMatchObject({ step: 'data' });
  });

  it('signs a streamed large body exactly as the library signs its bytes', async () => {
    const body = largeBody();
    expect(body.whole).toBeNull();
    const bytes = bodyBytes(body);
    expect(bytes.length).toBe(body.byteLength);
    const signature = await createStandardWebhooksSigner(await hs256Key())(body, stamp);
    expect(signature).toBe(
      new Webhook(SECRET).sign(stamp.id, new Date(stamp.timestamp * 1000), bytes),
    );
  });

  it('signs v1a with Ed25519 over `<id>.<timestamp>.<body>`, whole and streamed', async () => {
    const { key, publicKey } = await ed25519Key();
    const sign = createStandardWebhooksSigner(key);
    for (const body of [wholeBody(Buffer.from(`${head}aGk="}}`)), largeBody()]) {
      const bytes = bodyBytes(body);
      const signature = await sign(body, stamp);
      expect(signature).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
      const content = Buffer.concat([Buffer.from(`${stamp.id}.${stamp.timestamp}.`), bytes]);
      const value = Buffer.from(signature.slice('v1a,'.length), 'base64');
      expect(verify(null, content, publicKey, value)).toBe(true);
      expect(verify(null, Buffer.concat([content, Buffer.from(' ')]), publicKey, value)).toBe(
        false,
      );
    }
  });

  it('covers the id and timestamp: another of either gives another signature', async () => {
    const sign = createStandardWebhooksSigner(await hs256Key());
    const body = wholeBody(Buffer.from(`${head}aGk="}}`));
    const base = await sign(body, stamp);
    expect(await sign(body, { ...stamp, id: `${stamp.id}x` })).not.toBe(base);
    expect(await sign(body, { ...stamp, timestamp: stamp.timestamp + 1 })).not.toBe(base);
  });
});
