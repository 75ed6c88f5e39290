// Chooses the signature format (MXHOOK_SIGNATURE_FORMAT) and makes each call's signature headers.
import { SIGNATURE_HEADER } from '../../functions/sdk/wire.ts';
import type { SignatureFormat } from '../config/setting.ts';
import type { GatewaySigningKey } from '../signing-keys.ts';
import { createBodySigner } from './body-signer.ts';
import type { StampedBody } from './request-body.ts';
import { createStandardWebhooksSigner } from './standard-webhooks-signer.ts';

/** Makes the headers that sign one call's body (lower-case names, as undici sends them). */
export type SignatureHeaders = (body: StampedBody) => Promise<Record<string, string>>;

/**
 * @example
 * const headersFor = createSignatureHeaders('standard-webhooks', key);
 * await headersFor(body); // { 'webhook-id': …, 'webhook-timestamp': …, 'webhook-signature': 'v1,…' }
 */
export function createSignatureHeaders(
  format: SignatureFormat,
  key: GatewaySigningKey,
): SignatureHeaders {
  switch (format) {
    case 'jws': {
      const sign = createBodySigner(key);
      const name = SIGNATURE_HEADER.toLowerCase();
      return async function jwsHeaders(body) {
        return { [name]: await sign(body) };
      };
    }
    case 'standard-webhooks': {
      const sign = createStandardWebhooksSigner(key);
      // The spec's headers carry the body's own id and timestamp, so the two never disagree.
      return async function standardWebhooksHeaders(body) {
        return {
          'webhook-id': body.id,
          'webhook-timestamp': String(body.timestamp),
          'webhook-signature': await sign(body, body),
        };
      };
    }
  }
}
