// The streaming signer produces exactly the SDK's signBody value, and verify() accepts it.
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { signBody } from '../../../../functions/sdk/sign.ts';
import { verifyBody } from '../../../../functions/sdk/verify.ts';
import { createBodySigner } from '../../../../gateway/bridge/body-signer.ts';
import { splicedBody, wholeBody } from '../../../../gateway/bridge/request-body.ts';
import { type GatewaySigningKey, importGatewayKey } from '../../../../gateway/signing-keys.ts';
import { bodyBytes } from './body-bytes.ts';

const run = promisify(execFile);
const NODE = fileURLToPath(new URL('../../../../node_modules/.bin/node', import.meta.url));
const SECRET = 'a-shared-secret-of-at-least-32-bytes-long';
const now = Math.floor(Date.now() / 1000);
const head = `{"v":1,"id":"x","step":"data","timestamp":${now},"audience":"http://fn/data","session":{},"envelope":{"mailFrom":null,"rcptTo":[]},"message":{"size":0,"raw":"`;

/** An HS256 key, and the same Ed25519 key given as PEM and as a JWK. */
async function keys(): Promise<GatewaySigningKey[]> {
  const { privateKey } = generateKeyPairSync('ed25519');
  return [
    await importGatewayKey({ secret: SECRET }),
    await importGatewayKey({
      privateKey: String(privateKey.export({ type: 'pkcs8', format: 'pem' })),
    }),
    await importGatewayKey({ privateKey: JSON.stringify(privateKey.export({ format: 'jwk' })) }),
  ];
}

describe('createBodySigner', () => {
  it('signs a small body exactly as signBody does, for HS256 and EdDSA', async () => {
    for (const key of await keys()) {
      const bytes = Buffer.from(`${head}aGk="}}`);
      expect(await createBodySigner(key)(wholeBody(bytes))).toBe(await signBody(bytes, key));
    }
  });

  it('signs a streamed large body exactly as signBody signs its bytes', async () => {
    const raw = Array.from({ length: 7 }, (_, i) => Buffer.alloc(100_003, 0x41 + i));
    const body = splicedBody([head, { base64Of: raw, byteLength: 700_021 }, '"}}']);
    expect(body.whole).toBeNull();
    const bytes = bodyBytes(body);
    for (const key of await keys())
      expect(await createBodySigner(key)(body)).toBe(await signBody(bytes, key));
  });

  it('signs the UTF-8 bytes of a long non-ASCII tail (a parsed message) as signBody does', async () => {
    const raw = [Buffer.alloc(300_000, 0x61)];
    const tail = `","parsed":{"text":"${'é€😀'.repeat(40_000)}"}}}`;
    const body = splicedBody([head, { base64Of: raw, byteLength: 300_000 }, tail]);
    const bytes = bodyBytes(body);
    expect(bytes.length).toBe(body.byteLength);
    for (const key of await keys())
      expect(await createBodySigner(key)(body)).toBe(await signBody(bytes, key));
  });

  it('makes signatures the SDK verifies', async () => {
    const [hs256] = await keys();
    const bytes = Buffer.from(`${head}aGk="}}`);
    const signature = await createBodySigner(hs256!)(wholeBody(bytes));
    await expect(verifyBody(bytes, signature, SECRET)).resolves.toMatchObject({ step: 'data' });
  });
});

describe('createBodySigner on Node', () => {
  // Starts a Node process, so it gets more than the unit layer's 5 s on a loaded machine.
  it('signs with secrets, PEM and JWK keys without a deprecation (run with --throw-deprecation)', {
    timeout: 30_000,
  }, async () => {
    const fixture = fileURLToPath(new URL('./fixtures/sign-every-key.ts', import.meta.url));
    const { stdout, stderr } = await run(NODE, ['--throw-deprecation', fixture], {
      timeout: 60_000,
    });
    expect(stderr).toBe('');
    expect(JSON.parse(stdout)).toEqual({ signatures: 6, warnings: [] });
  });
});
