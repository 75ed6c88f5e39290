// MXHOOK_DELIVERY_TLS: how much TLS delivery to each destination domain requires, as
// comma-separated `domain:level` entries, `*` naming every domain not listed:
// `example.com:verify,partner.org:encrypt,*:opportunistic`.
// - `opportunistic` (the default): STARTTLS when offered, the certificate not checked (RFC 7435);
// - `encrypt`: STARTTLS required, the certificate not checked; never in clear;
// - `verify`: STARTTLS required with a certificate valid for the MX host's name, from a trusted
//   CA; never in clear, never to an impostor.
// A domain's published MTA-STS policy can raise its level (enforce is `verify`); never lower it.
import { domainToASCII } from 'node:url';
import { ConfigError } from '../errors.ts';
import type { Kind } from './kind.ts';
import { splitList } from './parse-scalars.ts';

export const TLS_LEVELS = ['opportunistic', 'encrypt', 'verify'] as const;
export type TlsLevel = (typeof TLS_LEVELS)[number];

export interface DeliveryTlsRule {
  /** Lower-case ASCII (an IDN as its A-label), no trailing dot. */
  readonly domain: string;
  readonly level: TlsLevel;
}

export interface DeliveryTls {
  /** Domains listed by name; a domain's own entry only, not its subdomains'. */
  readonly rules: readonly DeliveryTlsRule[];
  /** `*`'s level: every domain not listed. */
  readonly otherwise: TlsLevel;
}

/**
 * A domain may appear once (as may `*`): which of two levels applies would otherwise be a guess.
 *
 * @throws ConfigError naming `variable`.
 */
export function parseDeliveryTls(text: string, variable = 'MXHOOK_DELIVERY_TLS'): DeliveryTls {
  const rules: DeliveryTlsRule[] = [];
  let otherwise: TlsLevel | null = null;
  const seen = new Set<string>();
  for (const item of splitList(variable, text)) {
    const colon = item.lastIndexOf(':');
    if (colon < 0) throw new ConfigError(variable, `"${item}" is not domain:level`);
    const name = item.slice(0, colon).trim();
    const word = item
      .slice(colon + 1)
      .trim()
      .toLowerCase();
    const level = TLS_LEVELS.find((candidate) => candidate === word);
    if (level === undefined) {
      throw new ConfigError(
        variable,
        `"${word}" in "${item}" is not a TLS level (${TLS_LEVELS.join(', ')})`,
      );
    }
    // domainToASCII lower-cases, turns an IDN into its A-label, and gives '' for what is no domain.
    const domain = name === '*' ? '*' : domainToASCII(name.replace(/\.$/, ''));
    if (domain === '')
      throw new ConfigError(variable, `"${name}" in "${item}" is not a domain name`);
    if (seen.has(domain)) {
      throw new ConfigError(variable, `${domain} is listed twice; give one level per domain`);
    }
    seen.add(domain);
    if (domain === '*') otherwise = level;
    else rules.push({ domain, level });
  }
  return { rules, otherwise: otherwise ?? 'opportunistic' };
}

/** The level `domain` is delivered with under `setting`. */
export function settingLevel(setting: DeliveryTls, domain: string): TlsLevel {
  // Asked for every delivery: no rules (the usual setting), no conversion of the name.
  if (setting.rules.length === 0) return setting.otherwise;
  const name = domainToASCII(domain.replace(/\.$/, ''));
  return setting.rules.find((rule) => rule.domain === name)?.level ?? setting.otherwise;
}

export const DELIVERY_TLS: Kind<DeliveryTls> = {
  parse: (raw, { variable }) => parseDeliveryTls(raw, variable),
};
