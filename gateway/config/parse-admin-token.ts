// MXHOOK_ADMIN_TOKEN: the bearer token the admin listener's audit endpoints ask for. Never
// echoed in an error: the message says what is wrong with it, not what it is.
import { ConfigError } from '../errors.ts';
import type { Kind } from './kind.ts';

/** Long enough that guessing is hopeless: `mxhook secret` prints 50 characters. */
const MIN_TOKEN_LENGTH = 32;
/** RFC 6750 §2.1 b64token: what an `Authorization: Bearer` header can carry as it is. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Null when unset (the audit endpoints then answer loopback only). */
export const ADMIN_TOKEN: Kind<string | null> = {
  parse(raw, { variable }) {
    const token = raw.trim();
    if (token === '') return null;
    if (!B64TOKEN.test(token))
      throw new ConfigError(
        variable,
        'may hold only letters, digits and - . _ ~ + / (then = padding): it goes in an HTTP header as it is',
      );
    if (token.length < MIN_TOKEN_LENGTH)
      throw new ConfigError(
        variable,
        `is ${token.length} characters long, fewer than ${MIN_TOKEN_LENGTH} (\`mxhook secret\` prints one)`,
      );
    return token;
  },
};
