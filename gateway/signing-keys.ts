// Imports the configured signing keys: Ed25519 keys (publishable) sign before shared secrets.
import { createPrivateKey, createSecretKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { secretBytes } from '../functions/sdk/secret.ts';
import { importSigningKey, type SigningKey, type SigningKeyInput } from '../functions/sdk/sign.ts';
import type { GatewayConfig } from './config/types.ts';
import { ConfigError } from './errors.ts';
import { standardWebhooksKey } from './standard-webhooks-secret.ts';

/** A signing key together with the same key material as a node:crypto KeyObject. */
export interface GatewaySigningKey extends SigningKey {
  /**
   * For the streaming signer, which needs node:crypto. Made from the configured text, never from
   * `cryptoKey`: converting a non-extractable CryptoKey (`KeyObject.from`) is deprecated (DEP0204).
   * Like a CryptoKey, a KeyObject prints no key material when logged.
   */
  readonly keyObject: KeyObject;
}

/**
 * Imports a key as the SDK does (which validates it and derives its kid), plus its KeyObject.
 *
 * @example
 * const key = await importGatewayKey({ secret: process.env.MXHOOK_SIGNING_SECRET });
 * createBodySigner(key);
 */
export async function importGatewayKey(input: SigningKeyInput): Promise<GatewaySigningKey> {
  const key = await importSigningKey(input);
  const keyObject =
    'secret' in input
      ? createSecretKey(secretBytes(input.secret))
      : ed25519KeyObject(input.privateKey);
  return Object.freeze({ ...key, keyObject });
}

/** The input was already accepted by importSigningKey, so only its form is told apart here. */
function ed25519KeyObject(privateKey: string | JWK): KeyObject {
  if (typeof privateKey === 'string' && privateKey.trimStart().startsWith('-----BEGIN')) {
    return createPrivateKey(privateKey.trim());
  }
  const jwk = (typeof privateKey === 'string' ? JSON.parse(privateKey) : privateKey) as JWK;
  return createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d },
    format: 'jwk',
  });
}

/**
 * All configured keys, the signing one first. With both kinds configured the Ed25519 key signs,
 * because anyone can verify it from the JWKS without sharing a secret.
 */
export async function importConfiguredKeys(config: GatewayConfig): Promise<GatewaySigningKey[]> {
  const keys: GatewaySigningKey[] = [];
  // A key id names one key: the same key (or secret) given twice would make the JWKS ambiguous.
  const add = (key: GatewaySigningKey, variable: string, what: string): void => {
    if (keys.some((other) => other.kid === key.kid)) {
      throw new ConfigError(
        variable,
        `${what} repeats a key already configured (kid "${key.kid}")`,
      );
    }
    keys.push(key);
  };
  for (const file of config.signingKeys) {
    let key: GatewaySigningKey;
    try {
      key = await importGatewayKey({ privateKey: file.text });
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
    let key: GatewaySigningKey;
    try {
      key = await importGatewayKey({ secret });
    } catch (cause) {
      throw new ConfigError('MXHOOK_SIGNING_SECRET', `not usable: ${(cause as Error).message}`, {
        cause,
      });
    }
    // Never the secret itself in a message: which one it was is enough.
    const which = `secret ${index + 1} of ${config.signingSecrets.length}`;
    add(
      config.signatureFormat === 'standard-webhooks'
        ? standardWebhooksSecretKey(key, secret, which)
        : key,
      'MXHOOK_SIGNING_SECRET',
      which,
    );
  }
  return keys;
}

/**
 * The same secret keyed as Standard Webhooks libraries key it: HMAC over the bytes its base64 stands
 * for, not over its text as JWS does. The kid stays the text's, as it only names the secret.
 */
function standardWebhooksSecretKey(
  key: GatewaySigningKey,
  secret: string,
  which: string,
): GatewaySigningKey {
  const bytes = standardWebhooksKey(secret);
  // loadConfig already refused such a secret; this guards a config built another way.
  if (typeof bytes === 'string')
    throw new ConfigError('MXHOOK_SIGNING_SECRET', `${which} ${bytes}`);
  return Object.freeze({ ...key, keyObject: createSecretKey(bytes) });
}
