// Standard Webhooks secrets: `whsec_` (optional) then base64 of the key bytes, as its libraries read them.
import { randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';
/** The spec's "Symmetric" section: a secret is between 24 and 64 random bytes. */
const MIN_BYTES = 24;
const MAX_BYTES = 64;

/**
 * The HMAC key a Standard Webhooks secret stands for, or a reason it is not one. Standard base64
 * (RFC 4648 §4) with padding, nothing else, so that a verifying library decodes the same bytes.
 *
 * @example
 * standardWebhooksKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'); // 24 bytes
 */
export function standardWebhooksKey(secret: string): Buffer | string {
  const text = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
  const bytes = Buffer.from(text, 'base64');
  // Node's decoder skips what is not base64; re-encoding tells whether anything was skipped.
  if (bytes.toString('base64') !== text) {
    return 'is not a Standard Webhooks secret: base64 (RFC 4648 §4, padded), optionally prefixed whsec_ (try: npx mxhook secret)';
  }
  if (bytes.length < MIN_BYTES || bytes.length > MAX_BYTES) {
    return `decodes to ${bytes.length} bytes; Standard Webhooks secrets are ${MIN_BYTES} to ${MAX_BYTES} (try: npx mxhook secret)`;
  }
  return bytes;
}

/**
 * A new secret for MXHOOK_SIGNING_SECRET that serves both formats: JWS keys HS256 with its text
 * (50 characters), Standard Webhooks with the 32 random bytes its base64 stands for.
 */
export function newSigningSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}
