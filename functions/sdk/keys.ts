// Turns the keys a consumer configures (secrets, public keys, a JWKS or its URL) into the key lookup a verification uses.
import {
  type CryptoKey,
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWSHeaderParameters,
} from 'jose';
import { MxhookError, MxhookVerifyError } from './errors.ts';
import { secretBytes, secretKid } from './secret.ts';

/** A shared secret; give it a `kid` only if the signer was given the same explicit one. */
export type HmacSecret = string | { readonly secret: string; readonly kid: string };

/**
 * The keys a signature may be checked with:
 * - a shared secret (`string`), or several during a rotation (`[newSecret, oldSecret]`), picked by `kid`;
 * - an Ed25519 public key: a `CryptoKey` or a public JWK;
 * - a JWKS `{ keys: [...] }`, picked by `kid`;
 * - the URL of a JWKS (a `URL`, or a string starting with `https://` or `http://`), fetched and
 *   cached per URL; an unknown `kid` makes it refetch (at most once per cooldown).
 */
export type VerifyKeys = string | URL | readonly HmacSecret[] | CryptoKey | JWK | VerifyJwks;

/** A JSON Web Key Set (RFC 7517 §5) to verify with, such as the gateway's `publicJwks()`. */
export interface VerifyJwks {
  readonly keys: readonly JWK[];
}

/** How a remote JWKS is fetched. Units are milliseconds. */
export interface RemoteJwksOptions {
  /**
   * Minimum time between two refetches caused by an unknown kid. Default 30 000; at least
   * {@link MIN_JWKS_COOLDOWN_MS}.
   */
  readonly cooldownMs?: number;
  /** How long a fetched JWKS is used before it is fetched again. Default 600 000. */
  readonly cacheMaxAgeMs?: number;
  /** How long one fetch may take. Default 5 000. */
  readonly timeoutMs?: number;
}

/** The algorithm a key set accepts, and how to find the key for a signature's protected header. */
export interface ResolvedKeys {
  readonly algorithm: 'HS256' | 'EdDSA';
  readonly getKey: (header: JWSHeaderParameters) => Promise<CryptoKey | Uint8Array>;
}

function invalid(message: string, cause?: unknown): MxhookError<'ERR_KEY_INVALID'> {
  return new MxhookError('ERR_KEY_INVALID', message, { cause });
}

function unknownKid(kid: unknown): MxhookVerifyError {
  return new MxhookVerifyError(
    'ERR_KEY_UNKNOWN',
    // JSON.stringify: the kid comes from the request, so keep it from breaking a log line.
    typeof kid === 'string'
      ? `no configured key has kid ${JSON.stringify(kid)}`
      : 'the signature names no kid',
  );
}

function resolveSecrets(secrets: readonly HmacSecret[]): ResolvedKeys {
  const entries = secrets.map((entry, index) => {
    const secret = typeof entry === 'string' ? entry : entry?.secret;
    const kid = typeof entry === 'string' ? undefined : entry?.kid;
    if (typeof secret !== 'string' || secret === '') {
      throw invalid(`secret #${index + 1} must be a non-empty string`);
    }
    if (typeof entry !== 'string' && (typeof kid !== 'string' || kid === '')) {
      throw invalid(`secret #${index + 1} must have a non-empty kid`);
    }
    return { secret, kid };
  });
  if (entries.length === 0) throw invalid('the list of secrets is empty');
  return {
    algorithm: 'HS256',
    async getKey(header) {
      // mxhook always signs with a kid; a single secret also verifies a signer that sends none.
      if (header.kid === undefined && entries.length === 1) return secretBytes(entries[0]!.secret);
      for (const entry of entries) {
        if ((entry.kid ?? (await secretKid(entry.secret))) === header.kid) {
          return secretBytes(entry.secret);
        }
      }
      throw unknownKid(header.kid);
    },
  };
}

function resolveCryptoKey(key: CryptoKey): ResolvedKeys {
  if (!key.usages.includes('verify')) throw invalid('the CryptoKey cannot be used to verify');
  const name = key.algorithm.name;
  if (name === 'Ed25519' && key.type === 'public') {
    return { algorithm: 'EdDSA', getKey: async () => key };
  }
  if (name === 'HMAC' && (key.algorithm as { hash?: { name?: string } }).hash?.name === 'SHA-256') {
    return { algorithm: 'HS256', getKey: async () => key };
  }
  throw invalid(`a ${key.type} ${name} CryptoKey cannot verify mxhook signatures (HS256 or EdDSA)`);
}

function resolvePublicJwk(jwk: JWK): ResolvedKeys {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
    throw invalid('a single JWK must be an Ed25519 public key (kty "OKP", crv "Ed25519", x)');
  }
  if ('d' in jwk) throw invalid('pass the public JWK to verify, not the private one');
  if (jwk.kid !== undefined) return resolveJwks({ keys: [jwk] });
  let imported: Promise<CryptoKey | Uint8Array> | undefined;
  return {
    algorithm: 'EdDSA',
    getKey() {
      imported ??= importJWK(jwk, 'EdDSA').catch((cause: unknown) => {
        imported = undefined;
        throw invalid('the public JWK could not be imported', cause);
      });
      return imported;
    },
  };
}

// Translates jose's key-set lookup failures into ours; anything else means the keys could not be had.
function lookupError(error: unknown, kid: unknown, fetched: boolean): Error {
  if (error instanceof MxhookError) return error;
  if (error instanceof errors.JWKSNoMatchingKey) return unknownKid(kid);
  if (error instanceof errors.JWKSMultipleMatchingKeys) {
    return new MxhookVerifyError(
      'ERR_KEY_UNKNOWN',
      'several keys match; the signature must name one kid',
      {
        cause: error,
      },
    );
  }
  if (fetched) {
    return new MxhookVerifyError('ERR_KEYS_UNAVAILABLE', 'the JWKS could not be fetched or used', {
      cause: error,
    });
  }
  return invalid('the JWKS could not be used', error);
}

function resolveJwks(jwks: VerifyJwks): ResolvedKeys {
  let lookup: ReturnType<typeof createLocalJWKSet>;
  try {
    // jose copies the set (structuredClone), so our readonly view is never written to.
    lookup = createLocalJWKSet(jwks as JSONWebKeySet);
  } catch (cause) {
    throw invalid('the JWKS is malformed', cause);
  }
  return {
    algorithm: 'EdDSA',
    async getKey(header) {
      try {
        return await lookup(header);
      } catch (error) {
        throw lookupError(error, header.kid, false);
      }
    },
  };
}

// One remote key set per URL and fetch policy for the life of the module (a Worker isolate, a
// Node process), so the JWKS is fetched once rather than on every request.
const remoteKeySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/**
 * The shortest refetch cooldown accepted: anyone can send a made-up kid, and with no cooldown
 * every such request would make the function fetch the JWKS again.
 */
export const MIN_JWKS_COOLDOWN_MS = 1_000;

function checkDuration(name: keyof RemoteJwksOptions, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
    throw new MxhookError(
      'ERR_OPTION_INVALID',
      `option "remoteJwks.${name}" must be a non-negative integer of milliseconds`,
    );
  }
}

function resolveRemoteJwks(url: URL, options: RemoteJwksOptions = {}): ResolvedKeys {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalid(`the JWKS URL must be http(s), got ${url.protocol}`);
  }
  checkDuration('cooldownMs', options.cooldownMs);
  if (options.cooldownMs !== undefined && options.cooldownMs < MIN_JWKS_COOLDOWN_MS) {
    throw new MxhookError(
      'ERR_OPTION_INVALID',
      `option "remoteJwks.cooldownMs" must be at least ${MIN_JWKS_COOLDOWN_MS} ms, so made-up kids cannot make every request refetch the JWKS`,
    );
  }
  checkDuration('cacheMaxAgeMs', options.cacheMaxAgeMs);
  checkDuration('timeoutMs', options.timeoutMs);
  const cacheKey = JSON.stringify([
    url.href,
    options.cooldownMs,
    options.cacheMaxAgeMs,
    options.timeoutMs,
  ]);
  let lookup = remoteKeySets.get(cacheKey);
  if (lookup === undefined) {
    lookup = createRemoteJWKSet(url, {
      ...(options.cooldownMs === undefined ? {} : { cooldownDuration: options.cooldownMs }),
      ...(options.cacheMaxAgeMs === undefined ? {} : { cacheMaxAge: options.cacheMaxAgeMs }),
      ...(options.timeoutMs === undefined ? {} : { timeoutDuration: options.timeoutMs }),
    });
    remoteKeySets.set(cacheKey, lookup);
  }
  const remote = lookup;
  return {
    algorithm: 'EdDSA',
    async getKey(header) {
      try {
        return await remote(header);
      } catch (error) {
        throw lookupError(error, header.kid, true);
      }
    },
  };
}

function isCryptoKey(value: object): value is CryptoKey {
  // `CryptoKey` as a global binding, not a property of globalThis: Workers' types declare it as a class.
  return typeof CryptoKey === 'function' && value instanceof CryptoKey;
}

// Resolving imports keys and builds lookups, so it is done once per configured key object.
const resolvedByObject = new WeakMap<object, ResolvedKeys>();

function resolveObject(keys: object, remoteJwks: RemoteJwksOptions | undefined): ResolvedKeys {
  if (keys instanceof URL) return resolveRemoteJwks(keys, remoteJwks);
  if (Array.isArray(keys)) return resolveSecrets(keys as readonly HmacSecret[]);
  if (isCryptoKey(keys)) return resolveCryptoKey(keys);
  if ('keys' in keys) {
    if (!Array.isArray(keys.keys)) throw invalid('a JWKS must have a "keys" array');
    return resolveJwks(keys as VerifyJwks);
  }
  if ('kty' in keys) return resolvePublicJwk(keys as JWK);
  throw invalid('keys must be a secret, a list of secrets, a public key, a JWKS, or a JWKS URL');
}

/**
 * Classifies and prepares `keys` (see {@link VerifyKeys}). Throws `ERR_KEY_INVALID` for keys that
 * can never verify anything, so configuration mistakes show up at start-up, not per request.
 *
 * @example
 * ```ts
 * resolveKeys(['new-secret', 'old-secret']).algorithm; // 'HS256'
 * ```
 */
export function resolveKeys(keys: VerifyKeys, remoteJwks?: RemoteJwksOptions): ResolvedKeys {
  if (typeof keys === 'string') {
    if (/^https?:\/\//i.test(keys)) {
      let url: URL;
      try {
        url = new URL(keys);
      } catch (cause) {
        throw invalid('the JWKS URL is not a valid URL', cause);
      }
      return resolveRemoteJwks(url, remoteJwks);
    }
    if (keys === '') throw invalid('the secret is empty');
    return resolveSecrets([keys]);
  }
  if (typeof keys !== 'object' || keys === null) {
    throw invalid('keys must be a secret, a list of secrets, a public key, a JWKS, or a JWKS URL');
  }
  // A URL's lookup already lives in the per-URL cache; other objects are prepared once here.
  if (keys instanceof URL) return resolveRemoteJwks(keys, remoteJwks);
  let resolved = resolvedByObject.get(keys);
  if (resolved === undefined) {
    resolved = resolveObject(keys, remoteJwks);
    resolvedByObject.set(keys, resolved);
  }
  return resolved;
}
