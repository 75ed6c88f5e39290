// Signs request bodies in the Standard Webhooks format (standardwebhooks.com, spec "Signature
// scheme"): `v1,<base64 HMAC-SHA256>` or `v1a,<base64 Ed25519>` over `<id>.<timestamp>.<body>`,
// the body's exact bytes streamed as body-signer.ts streams them for the JWS format.
import type { GatewaySigningKey } from '../signing-keys.ts';
import type { RequestBody } from './request-body.ts';
import { eachBodyByte, ed25519, hmacSha256 } from './signing-input.ts';

/** What a signature covers besides the body: the `webhook-id` and `webhook-timestamp` values. */
export interface WebhookStamp {
  readonly id: string;
  /** Unix seconds. */
  readonly timestamp: number;
}

/**
 * Returns the `webhook-signature` value maker for `key`: HS256 keys (whose KeyObject holds the
 * secret's decoded bytes, see standard-webhooks-secret.ts) sign `v1`, Ed25519 keys `v1a`.
 */
export function createStandardWebhooksSigner(
  key: GatewaySigningKey,
): (body: RequestBody, stamp: WebhookStamp) => Promise<string> {
  const { keyObject } = key;
  if (key.alg === 'HS256') {
    return async function signV1(body, stamp) {
      const mac = await hmacSha256(keyObject, prefixOf(stamp), (use) => eachBodyByte(body, use));
      return `v1,${mac.toString('base64')}`;
    };
  }
  return async function signV1a(body, stamp) {
    const signature = await ed25519(keyObject, prefixOf(stamp), body.byteLength, (use) =>
      eachBodyByte(body, use),
    );
    return `v1a,${signature.toString('base64')}`;
  };
}

/**
 * The signed content before the body. The spec forbids `.` in the id; ours are UUIDs, and the
 * timestamp is an integer, so both are ASCII.
 */
function prefixOf(stamp: WebhookStamp): string {
  return `${stamp.id}.${stamp.timestamp}.`;
}
