// Where mail for a domain goes (RFC 5321 §5.1): its MX hosts in preference order, each with the
// addresses to try, or why there is nowhere to send it and whether that will change.
import type { Resolve } from '../authentication/resolve.ts';

export interface MxHost {
  /** The exchange's name, lower case and without the trailing dot: the TLS server name. */
  readonly name: string;
  readonly preference: number;
  /** IPv6 first, then IPv4: both families are tried. */
  readonly addresses: readonly string[];
}

export type MxHostsResult =
  /** In the order to try them; `implicit` when the domain has no MX and is its own host. */
  | { readonly kind: 'hosts'; readonly hosts: readonly MxHost[]; readonly implicit: boolean }
  /** There is no such destination and never will be: the recipients fail. */
  | { readonly kind: 'failed'; readonly reply: string }
  /** DNS did not answer: ask again later. */
  | { readonly kind: 'deferred'; readonly reply: string };

interface MxRecord {
  readonly exchange: string;
  readonly priority: number;
}

/**
 * The hosts to deliver mail for `domain` to. No MX records: the domain itself (the implicit MX).
 * A null MX (RFC 7505) or NXDOMAIN: failed. A DNS failure: deferred, as is a domain whose hosts'
 * addresses could not all be looked up and none were found. `random` breaks ties between equal
 * preferences, so mail spreads over them (RFC 5321 §5.1).
 */
export async function mxHosts(
  domain: string,
  resolve: Resolve,
  random: () => number = Math.random,
): Promise<MxHostsResult> {
  let records: MxRecord[];
  try {
    records = (await resolve(domain, 'MX')) as MxRecord[];
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOTFOUND') {
      return { kind: 'failed', reply: `550 5.1.2 Domain ${domain} does not exist (NXDOMAIN)` };
    }
    if (code !== 'ENODATA') {
      return {
        kind: 'deferred',
        reply: `451 4.4.3 DNS lookup of MX for ${domain} failed (${code})`,
      };
    }
    records = [];
  }
  if (records.length === 1 && hostName(records[0]?.exchange ?? '') === '') {
    return { kind: 'failed', reply: `556 5.1.10 Domain ${domain} does not accept mail (null MX)` };
  }
  // A null MX among others is malformed (RFC 7505 §3); the real ones may still work.
  const usable = records.filter((record) => hostName(record.exchange) !== '');
  const implicit = usable.length === 0;
  const ordered: Omit<MxHost, 'addresses'>[] = implicit
    ? [{ name: hostName(domain), preference: 0 }]
    : inPreferenceOrder(usable, random).map((record) => ({
        name: hostName(record.exchange),
        preference: record.priority,
      }));
  const lookups = await Promise.all(ordered.map((host) => addressesOf(host.name, resolve)));
  const hosts = ordered
    .map((host, index) => ({ ...host, addresses: lookups[index]?.addresses ?? [] }))
    .filter((host) => host.addresses.length > 0);
  if (hosts.length > 0) return { kind: 'hosts', hosts, implicit };
  const failure = lookups.find((lookup) => lookup.failure !== null)?.failure;
  if (failure !== undefined && failure !== null) {
    return { kind: 'deferred', reply: `451 4.4.3 DNS lookup of ${failure} failed` };
  }
  const reply = implicit
    ? `550 5.4.4 Domain ${domain} has no MX and no address record`
    : `550 5.4.4 No MX host of ${domain} has an address record`;
  return { kind: 'failed', reply };
}

/** By preference, lowest first; equal preferences in random order (a Fisher–Yates shuffle). */
function inPreferenceOrder(records: readonly MxRecord[], random: () => number): MxRecord[] {
  const shuffled = [...records];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j] as MxRecord, shuffled[i] as MxRecord];
  }
  // Array.prototype.sort is stable: the shuffle decides the order within a preference.
  return shuffled.sort((a, b) => a.priority - b.priority);
}

interface AddressLookup {
  readonly addresses: readonly string[];
  /** What failed, `name TYPE (CODE)`, when a lookup failed for another reason than "none". */
  readonly failure: string | null;
}

/** AAAA and A at once; a missing family is normal, a failed lookup is remembered. */
async function addressesOf(name: string, resolve: Resolve): Promise<AddressLookup> {
  const [ipv6, ipv4] = await Promise.allSettled([resolve(name, 'AAAA'), resolve(name, 'A')]);
  const addresses: string[] = [];
  let failure: string | null = null;
  for (const [type, result] of [
    ['AAAA', ipv6],
    ['A', ipv4],
  ] as const) {
    if (result.status === 'fulfilled') addresses.push(...(result.value as string[]));
    else {
      const code = errorCode(result.reason);
      if (code !== 'ENOTFOUND' && code !== 'ENODATA') failure ??= `${name} ${type} (${code})`;
    }
  }
  return { addresses, failure };
}

/** `Mx.Example.` → `mx.example`; the root (`.` or the empty name) → `''`. */
function hostName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException | null)?.code ?? 'EUNKNOWN';
}
