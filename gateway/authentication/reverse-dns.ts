// Forward-confirmed reverse DNS (FCrDNS, RFC 8601 §3 `iprev`): the client's PTR names, and the
// first of them whose A/AAAA records include the client's address.
import { isIPv6 } from 'node:net';
import type { ReverseDnsVerdict } from '../../functions/sdk/wire.ts';
import { isNoRecords, type Resolve } from './resolve.ts';

/** PTR names looked at, at most; RFC 7208 §5.5 caps the same walk at 10 for SPF's `ptr`. */
const MAX_NAMES = 10;

export async function checkReverseDns(
  address: string,
  resolve: Resolve,
): Promise<ReverseDnsVerdict> {
  let names: string[];
  try {
    names = ((await resolve(reverseName(address), 'PTR')) as string[]).slice(0, MAX_NAMES);
  } catch (error) {
    // No PTR at all is the sender's fault (`fail`); a DNS failure is nobody's yet (`temperror`).
    return { result: isNoRecords(error) ? 'fail' : 'temperror', hostname: null, names: [] };
  }
  const family = isIPv6(address) ? 'AAAA' : 'A';
  const wanted = canonical(address);
  let failed = false;
  for (const name of names) {
    try {
      const addresses = (await resolve(name, family)) as string[];
      if (addresses.some((each) => canonical(each) === wanted)) {
        return { result: 'pass', hostname: name.replace(/\.$/, ''), names };
      }
    } catch (error) {
      if (!isNoRecords(error)) failed = true;
    }
  }
  return { result: failed ? 'temperror' : 'fail', hostname: null, names };
}

/** The `in-addr.arpa` / `ip6.arpa` name of an address (RFC 1035 §3.5, RFC 3596 §2.5). */
export function reverseName(address: string): string {
  if (!isIPv6(address)) return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
  const nibbles = expandIpv6(address).replaceAll(':', '').split('').reverse();
  return `${nibbles.join('.')}.ip6.arpa`;
}

/** An address written one way only, so two spellings of it compare equal. */
function canonical(address: string): string {
  return isIPv6(address) ? expandIpv6(address) : address;
}

/** `2001:db8::1` → `2001:0db8:0000:0000:0000:0000:0000:0001`. */
function expandIpv6(address: string): string {
  const [head = '', tail] = address.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - left.length - right.length;
  const groups = tail === undefined ? left : [...left, ...Array(missing).fill('0'), ...right];
  return groups.map((group) => group.padStart(4, '0')).join(':');
}
