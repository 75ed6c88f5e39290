// MXHOOK_SIGNATURE_FORMAT=standard-webhooks: a consumer verifies real calls with the standardwebhooks
// library (v1, HMAC) and with node:crypto (v1a, Ed25519, which that library does not check).
import { createPublicKey, verify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { DataRequest } from '../../../functions/sdk/wire.ts';
import { sendMail } from '../../e2e/helpers/mail.ts';
import { type RecordedRequest, startFunctionServer } from '../../helpers/function-server.ts';
import { inTransaction, sendData } from '../../helpers/smtp-client.ts';
import { startBridge } from '../../helpers/start-bridge.ts';
import { ALL_STEPS, cleanUp, expectNormalTransaction } from './steps.ts';

afterEach(cleanUp);

const FORMAT = { MXHOOK_SIGNATURE_FORMAT: 'standard-webhooks' };
/** As `npx mxhook secret` prints one: whsec_ and the base64 of 32 bytes. */
const SECRET = `whsec_${Buffer.from('mxhook standard webhooks secret!').toString('base64')}`;

interface WebhookHeaders {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

/** The three headers as a consumer hands them to `Webhook.verify`. */
function webhookHeaders(request: RecordedRequest): WebhookHeaders {
  const value = (name: keyof WebhookHeaders): string => {
    const header = request.headers[name];
    expect(typeof header, name).toBe('string');
    return header as string;
  };
  return {
    'webhook-id': value('webhook-id'),
    'webhook-timestamp': value('webhook-timestamp'),
    'webhook-signature': value('webhook-signature'),
  };
}

/** The headers repeat the body's own id and timestamp, and the JWS header is gone. */
function expectStampedLikeBody(request: RecordedRequest): void {
  expect(request.headers['webhook-id']).toBe(request.body.id);
  expect(request.headers['webhook-timestamp']).toBe(String(request.body.timestamp));
  expect(request.headers['mxhook-signature']).toBeUndefined();
}

describe('standard-webhooks with an HMAC secret (v1)', () => {
  it('signs every call so that new Webhook(secret).verify accepts the raw body', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({
      functionUrl: fn.url,
      env: { ...FORMAT, MXHOOK_SIGNING_SECRET: SECRET, MXHOOK_STEPS: ALL_STEPS },
    });
    const info = await sendMail(bridge.port, {
      from: 'a@client.test',
      to: 'b@mx.test',
      subject: 'Grüße, standard webhooks',
      text: 'Hello from nodemailer.',
    });
    expect(info.response).toBe('250 2.0.0 Message accepted');
    expect(fn.requests.map((r) => r.step)).toEqual(['connect', 'helo', 'mail', 'rcpt', 'data']);
    const webhook = new Webhook(SECRET);
    for (const request of fn.requests) {
      expectStampedLikeBody(request);
      expect(request.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
      const payload = webhook.verify(request.raw.toString('utf8'), webhookHeaders(request));
      expect(payload).toEqual(request.body);
    }
  });

  it('a body with one byte changed, or another secret, fails verification', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({
      functionUrl: fn.url,
      env: { ...FORMAT, MXHOOK_SIGNING_SECRET: SECRET },
    });
    await expectNormalTransaction(bridge.port);
    const request = fn.requestsFor('data')[0]!;
    const headers = webhookHeaders(request);
    const body = request.raw.toString('utf8');
    expect(() => new Webhook(SECRET).verify(body.replace('"step"', '"Step"'), headers)).toThrow(
      WebhookVerificationError,
    );
    const other = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
    expect(() => new Webhook(other).verify(body, headers)).toThrow(WebhookVerificationError);
  });

  it('signs a message over 256 KiB, whose body is streamed, so the library verifies it', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({
      functionUrl: fn.url,
      env: { ...FORMAT, MXHOOK_SIGNING_SECRET: SECRET, MXHOOK_PAYLOAD: 'raw' },
    });
    const line = `${'x'.repeat(76)}\r\n`;
    const message = `Subject: large\r\n\r\n${line.repeat(Math.ceil((300 * 1024) / line.length))}`;
    const client = await inTransaction(bridge.port, { from: 'a@client.test', to: ['b@mx.test'] });
    expect((await sendData(client, message)).raw).toBe('250 2.0.0 Message accepted\r\n');
    const request = fn.requestsFor('data')[0]!;
    expect(request.raw.length).toBeGreaterThan(400 * 1024);
    expectStampedLikeBody(request);
    const payload = new Webhook(SECRET).verify(
      request.raw.toString('utf8'),
      webhookHeaders(request),
    );
    expect((payload as DataRequest).message.size).toBeGreaterThan(300 * 1024);
  });
});

describe('standard-webhooks with an Ed25519 key (v1a)', () => {
  it('signs `<id>.<timestamp>.<body>` of small and streamed bodies with the configured key', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url, signing: 'EdDSA', env: FORMAT });
    await expectNormalTransaction(bridge.port);
    const line = `${'y'.repeat(76)}\r\n`;
    const client = await inTransaction(bridge.port, { from: 'a@client.test', to: ['b@mx.test'] });
    const large = `Subject: large\r\n\r\n${line.repeat(4000)}`;
    expect((await sendData(client, large)).code).toBe(250);
    const publicKey = createPublicKey(await readFile(bridge.keyFile!));
    const calls = fn.requestsFor('data');
    expect(calls).toHaveLength(2);
    for (const request of fn.requests) {
      expectStampedLikeBody(request);
      const {
        'webhook-id': id,
        'webhook-timestamp': timestamp,
        'webhook-signature': signature,
      } = webhookHeaders(request);
      expect(signature).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
      const content = Buffer.concat([Buffer.from(`${id}.${timestamp}.`), request.raw]);
      const value = Buffer.from(signature.slice('v1a,'.length), 'base64');
      expect(verify(null, content, publicKey, value)).toBe(true);
    }
    // The HMAC-only library finds no v1 signature here: v1a needs an asymmetric verifier.
    expect(() =>
      new Webhook(SECRET).verify(calls[0]!.raw.toString('utf8'), webhookHeaders(calls[0]!)),
    ).toThrow('No matching signature found');
  });
});
