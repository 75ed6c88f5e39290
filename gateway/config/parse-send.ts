// Kinds for the send API's settings: its bearer tokens and the sender domains it may send for.
import { ConfigError } from '../errors.ts';
import type { Kind } from './kind.ts';
import { isDomainName } from './parse-network.ts';
import { splitList } from './parse-scalars.ts';

/** As long as a signing secret: a token is full trust to send as the allowed domains. */
const MIN_TOKEN_CHARACTERS = 32;

/** Bearer tokens, comma-separated (several during a rotation); never echoed in a message. */
export const SEND_TOKENS: Kind<readonly string[]> = {
  parse(raw, { variable }) {
    const tokens = splitList(variable, raw);
    tokens.forEach((token, index) => {
      const which = tokens.length === 1 ? 'the token' : `token ${index + 1} of ${tokens.length}`;
      if (token.length < MIN_TOKEN_CHARACTERS) {
        throw new ConfigError(
          variable,
          `${which} is ${token.length} characters long; at least ${MIN_TOKEN_CHARACTERS} are required (try: npx mxhook secret)`,
        );
      }
      // It travels in an Authorization header: RFC 6750 §2.1's b64token characters only.
      if (!/^[A-Za-z0-9._~+/=-]+$/.test(token)) {
        throw new ConfigError(
          variable,
          `${which} has characters a bearer token cannot carry (RFC 6750 §2.1: letters, digits, -._~+/=)`,
        );
      }
    });
    return tokens;
  },
};

/** Domain names, comma-separated, lower-cased. */
export const DOMAIN_LIST: Kind<readonly string[]> = {
  parse(raw, { variable }) {
    return splitList(variable, raw).map((entry) => {
      const domain = entry.toLowerCase().replace(/\.$/, '');
      if (!isDomainName(domain)) {
        throw new ConfigError(variable, `${JSON.stringify(entry)} is not a domain name`);
      }
      return domain;
    });
  },
};
