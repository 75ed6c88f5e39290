// Imports the configured signing keys: Ed25519 keys (publishable) sign before shared secrets.
import { importSigningKey, type SigningKey } from '../functions/sdk/sign.ts';
import type { GatewayConfig } from './config/types.ts';
import { ConfigError } from './errors.ts';

/**
 * All configured keys, the signing one first. With both kinds configured the Ed25519 key signs,
 * because anyone can verify it from the JWKS without sharing a secret.
 */
export async function importConfiguredKeys(config: GatewayConfig): Promise<SigningKey[]> {
  const keys: SigningKey[] = [];
  // A key id names one key: the same key (or secret) given twice would make the JWKS ambiguous.
  const add = (key: SigningKey, variable: string, what: string): void => {
    if (keys.some((other) => other.kid === key.kid)) {
      throw new ConfigError(
        variable,
        `${what} repeats a key already configured (kid "${key.kid}")`,
      );
    }
    keys.push(key);
  };
  for (const file of config.signingKeys) {
    let key: SigningKey;
    try {
      key = await importSigningKey({ privateKey: file.text });
    } catch (cause) {
      throw new ConfigError(
        'MXHOOK_SIGNING_KEY',
        `${file.path} is not a usable Ed25519 private key`,
        { cause },
      );
    }
    add(key, 'MXHOOK_SIGNING_KEY', file.path);
  }
  for (const [index, secret] of config.signingSecrets.entries()) {
    let key: SigningKey;
    try {
      key = await importSigningKey({ secret });
    } catch (cause) {
      throw new ConfigError('MXHOOK_SIGNING_SECRET', `not usable: ${(cause as Error).message}`, {
        cause,
      });
    }
    // Never the secret itself in a message: which one it was is enough.
    add(key, 'MXHOOK_SIGNING_SECRET', `secret ${index + 1} of ${config.signingSecrets.length}`);
  }
  return keys;
}
