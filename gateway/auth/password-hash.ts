// scrypt password hashes for the local users file: `$scrypt$N=…,r=…,p=…$<salt>$<hash>` (base64).
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

const PREFIX = '$scrypt$';
// OWASP's recommended minimum for scrypt (2023): N=2^17, r=8, p=1; about 128 MiB and ~0.2 s per check.
const DEFAULT_COST: ScryptParameters = { N: 2 ** 17, r: 8, p: 1 };
const KEY_BYTES = 32;
const SALT_BYTES = 16;

interface ScryptParameters {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export interface PasswordHash {
  readonly parameters: ScryptParameters;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

function derive(password: string, salt: Buffer, parameters: ScryptParameters): Promise<Buffer> {
  // maxmem must cover 128 * N * r bytes, or Node refuses the cost.
  const options: ScryptOptions = { ...parameters, maxmem: 256 * parameters.N * parameters.r };
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_BYTES, options, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

export async function hashPassword(
  password: string,
  parameters: ScryptParameters = DEFAULT_COST,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, parameters);
  const { N, r, p } = parameters;
  return `${PREFIX}N=${N},r=${r},p=${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Parses a stored hash; null when it is not one of ours. */
export function parsePasswordHash(text: string): PasswordHash | null {
  const match = /^\$scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(
    text,
  );
  if (match === null) return null;
  const [, N, r, p, salt, hash] = match;
  const parameters = { N: Number(N), r: Number(r), p: Number(p) };
  if (
    !Number.isInteger(Math.log2(parameters.N)) ||
    parameters.N < 2 ||
    parameters.r < 1 ||
    parameters.p < 1
  )
    return null;
  return { parameters, salt: Buffer.from(salt!, 'base64'), hash: Buffer.from(hash!, 'base64') };
}

/** Constant-time comparison of a password with a stored hash. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const candidate = await derive(password, stored.salt, stored.parameters);
  return candidate.length === stored.hash.length && timingSafeEqual(candidate, stored.hash);
}
