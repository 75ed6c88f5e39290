// MXHOOK_SRS_DOMAIN: the domain forwarded mail's rewritten envelope senders are at. Empty means
// MXHOOK_HOSTNAME, which is resolved after every row is read (outbound.ts), so here it stays ''.
import { ConfigError } from '../errors.ts';
import type { Kind } from './kind.ts';
import { isDomainName } from './parse-network.ts';

export const SRS_DOMAIN: Kind<string> = {
  parse(raw, { variable }) {
    const text = raw.trim().toLowerCase().replace(/\.$/, '');
    if (text === '') return '';
    if (!isDomainName(text)) {
      throw new ConfigError(variable, `${JSON.stringify(raw)} is not a domain name`);
    }
    return text;
  },
};
