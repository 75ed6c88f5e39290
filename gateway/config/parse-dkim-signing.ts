// MXHOOK_DKIM_SIGN: the keys outgoing mail is DKIM-signed with, as comma-separated
// `domain:selector:keyfile` entries. Every key file is read and checked at start-up, so a bad key
// stops the gateway instead of leaving mail unsigned (or signed unverifiably) at the first send.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { domainToASCII } from 'node:url';
import { ConfigError } from '../errors.ts';
import { errorCode } from './error-code.ts';
import type { Kind } from './kind.ts';
import { splitList } from './parse-scalars.ts';

export interface DkimSigningEntry {
  /** d=: lower-case, ASCII (an IDN is kept as its A-label), no trailing dot. */
  readonly domain: string;
  /** s= */
  readonly selector: string;
  /** The key file, absolute. */
  readonly keyPath: string;
  /** The file's PEM text, as mailauth's signer takes it. */
  readonly privateKey: string;
  readonly algorithm: 'rsa-sha256' | 'ed25519-sha256';
}

const VARIABLE = 'MXHOOK_DKIM_SIGN';

/** RFC 8301 §3.2 asks for 1024 bits at least; 2048 is what every large receiver expects now. */
const MIN_RSA_BITS = 2048;

/** RFC 6376 §3.1: a selector is dot-separated sub-domains (letters, digits, inner hyphens). */
const SELECTOR = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/i;

/**
 * `text` is the variable's value; relative key paths resolve against `base`. A domain may appear
 * once: which of two keys would sign its mail would otherwise be a guess.
 *
 * @throws ConfigError naming `variable`.
 */
export function parseDkimSigning(
  text: string,
  base: string,
  variable = VARIABLE,
): DkimSigningEntry[] {
  const entries = splitList(variable, text).map((item) => parseEntry(variable, base, item));
  const seen = new Set<string>();
  for (const { domain } of entries) {
    if (seen.has(domain)) {
      throw new ConfigError(variable, `${domain} is listed twice; give one key per domain`);
    }
    seen.add(domain);
  }
  return entries;
}

function parseEntry(variable: string, base: string, item: string): DkimSigningEntry {
  // The path is everything after the second colon, so it may contain colons itself.
  const match = /^([^:]*):([^:]*):(.+)$/.exec(item);
  if (match === null) {
    throw new ConfigError(variable, `"${item}" is not domain:selector:keyfile`);
  }
  const [, rawDomain = '', selector = '', rawPath = ''] = match.map((part) => part.trim());
  // domainToASCII lower-cases, turns an IDN into its A-label, and gives '' for what is no domain.
  const domain = domainToASCII(rawDomain.replace(/\.$/, ''));
  if (domain === '' || !domain.includes('.')) {
    throw new ConfigError(variable, `"${rawDomain}" in "${item}" is not a domain name`);
  }
  if (!SELECTOR.test(selector)) {
    throw new ConfigError(variable, `"${selector}" in "${item}" is not a DKIM selector`);
  }
  const keyPath = resolve(base, rawPath);
  const privateKey = readKeyFile(variable, keyPath);
  return {
    domain,
    selector,
    keyPath,
    privateKey,
    algorithm: algorithmOf(variable, keyPath, privateKey),
  };
}

function readKeyFile(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(variable, `cannot read ${path} (${errorCode(error)})`, { cause: error });
  }
}

/** The key must be an unencrypted PEM private key: RSA of 2048 bits or more, or Ed25519. */
function algorithmOf(variable: string, path: string, pem: string): DkimSigningEntry['algorithm'] {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    // The gateway starts unattended: there is nobody to type a passphrase.
    throw new ConfigError(variable, `${path} is not an unencrypted PEM private key`, {
      cause: error,
    });
  }
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519-sha256';
  if (key.asymmetricKeyType !== 'rsa') {
    throw new ConfigError(
      variable,
      `${path} holds a key of type ${key.asymmetricKeyType ?? 'unknown'}; DKIM signs with RSA or Ed25519`,
    );
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) {
    throw new ConfigError(
      variable,
      `${path} is a ${bits}-bit RSA key; at least ${MIN_RSA_BITS} bits are required (try: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048)`,
    );
  }
  return 'rsa-sha256';
}

/** Keys that sign outgoing mail, by the From domain they sign for. */
export const DKIM_SIGNING: Kind<readonly DkimSigningEntry[]> = {
  parse: (raw, { variable, base }) => parseDkimSigning(raw, base, variable),
};
