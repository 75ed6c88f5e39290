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
  for (const file of config.signingKeys) {
    try {
      keys.push(await importSigningKey({ privateKey: file.text }));
    } catch (cause) {
      throw new ConfigError(
        'MXHOOK_SIGNING_KEY',
        `${file.path} is not a usable Ed25519 private key`,
        { cause },
      );
    }
  }
  for (const secret of config.signingSecrets) {
    try {
      keys.push(await importSigningKey({ secret }));
    } catch (cause) {
      throw new ConfigError('MXHOOK_SIGNING_SECRET', `not usable: ${(cause as Error).message}`, {
        cause,
      });
    }
  }
  return keys;
}
