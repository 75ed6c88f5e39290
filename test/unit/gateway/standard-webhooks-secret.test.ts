// Standard Webhooks secrets: the bytes they stand for, and the ones refused.
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  newSigningSecret,
  standardWebhooksKey,
} from '../../../gateway/standard-webhooks-secret.ts';

describe('standardWebhooksKey', () => {
  it('decodes base64 with or without the whsec_ prefix', () => {
    const bytes = Buffer.alloc(24, 0xfb);
    expect(standardWebhooksKey(`whsec_${bytes.toString('base64')}`)).toEqual(bytes);
    expect(standardWebhooksKey(bytes.toString('base64'))).toEqual(bytes);
  });

  it.each([
    ['base64url', Buffer.alloc(24, 0xfb).toString('base64url')],
    ['unpadded', Buffer.alloc(25, 1).toString('base64').replace(/=+$/, '')],
    ['not base64 at all', 'a-development-secret-of-32-chars!'],
  ])('refuses %s text', (_name, secret) => {
    expect(standardWebhooksKey(secret)).toMatch(/^is not a Standard Webhooks secret/);
  });

  it('refuses fewer than 24 or more than 64 bytes', () => {
    expect(standardWebhooksKey(Buffer.alloc(23).toString('base64'))).toMatch(/23 bytes/);
    expect(standardWebhooksKey(Buffer.alloc(65).toString('base64'))).toMatch(/65 bytes/);
  });
});

describe('newSigningSecret', () => {
  it('is a 32-byte Standard Webhooks secret the library accepts, long enough for HS256 JWS', () => {
    const secret = newSigningSecret();
    expect(standardWebhooksKey(secret)).toHaveLength(32);
    expect(() => new Webhook(secret)).not.toThrow();
    expect(secret.length).toBeGreaterThanOrEqual(32);
  });
});
