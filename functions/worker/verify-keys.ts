// The keys the Worker checks gateway signatures with: the shared secret(s), or the gateway's JWKS.
import type { VerifyKeys } from '../sdk/index.ts';

/** Thrown when neither key setting is present, so every call fails loudly until it is fixed. */
export class MissingKeysError extends Error {
  constructor() {
    super(
      'MXHOOK_SIGNING_SECRET is not set: run `npx wrangler secret put MXHOOK_SIGNING_SECRET` ' +
        'with the gateway’s secret (or set MXHOOK_JWKS_URL to verify EdDSA signatures)',
    );
    this.name = 'MissingKeysError';
  }
}

// The SDK prepares a key object once per object identity, so hand it the same array every time.
let cached: { readonly source: string; readonly keys: VerifyKeys } | null = null;

/**
 * `MXHOOK_JWKS_URL` when set (EdDSA), else `MXHOOK_SIGNING_SECRET`: comma-separated secrets,
 * newest first, so a rotation is "prepend the new secret, deploy, switch the gateway, drop the
 * old one" (the SDK picks a secret by the signature's kid).
 *
 * @example
 * ```ts
 * verifyKeysFrom({ MXHOOK_SIGNING_SECRET: 'new-secret…,old-secret…' }); // ['new-secret…', 'old-secret…']
 * ```
 */
export function verifyKeysFrom(env: {
  readonly MXHOOK_SIGNING_SECRET?: string | undefined;
  readonly MXHOOK_JWKS_URL?: string | undefined;
}): VerifyKeys {
  const jwksUrl = env.MXHOOK_JWKS_URL?.trim() ?? '';
  const source = jwksUrl !== '' ? `jwks:${jwksUrl}` : `secrets:${env.MXHOOK_SIGNING_SECRET ?? ''}`;
  if (cached?.source === source) return cached.keys;
  let keys: VerifyKeys;
  if (jwksUrl !== '') {
    keys = new URL(jwksUrl);
  } else {
    const secrets = (env.MXHOOK_SIGNING_SECRET ?? '')
      .split(',')
      .map((secret) => secret.trim())
      .filter((secret) => secret !== '');
    if (secrets.length === 0) throw new MissingKeysError();
    keys = secrets;
  }
  cached = { source, keys };
  return keys;
}
