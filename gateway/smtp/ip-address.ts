// Textual IPv4 and IPv6 addresses checked by their grammar, without node:net, for the pure core.

// RFC 5321 §4.1.3 Snum: 1*3DIGIT, value 0-255 (leading zeros are allowed there).
const SNUM = /^\d{1,3}$/;
// RFC 4291 §2.2: one to four hexadecimal digits per 16-bit group.
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;
const IPV6_GROUPS = 8;

/**
 * A dotted-quad IPv4 address (RFC 5321 §4.1.3 IPv4-address-literal). With `canonical`, an octet
 * may not have a leading zero: `010.0.0.1` reads as octal to some parsers and as decimal to
 * others, so an address that decides access must have only one reading.
 */
export function isIPv4Address(text: string, canonical = false): boolean {
  const octets = text.split('.');
  return (
    octets.length === 4 &&
    octets.every(
      (octet) => SNUM.test(octet) && Number(octet) <= 255 && !(canonical && /^0\d/.test(octet)),
    )
  );
}

/**
 * An IPv6 address in any of the forms of RFC 4291 §2.2 (RFC 5321 §4.1.3 IPv6-full, IPv6-comp,
 * IPv6v4-full, IPv6v4-comp): eight groups, or fewer with one `::` standing for the missing
 * ones, the last two optionally written as a dotted IPv4 address. No zone index.
 */
export function isIPv6Address(text: string, canonical = false): boolean {
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groupsOf = (half: string): string[] => (half === '' ? [] : half.split(':'));
  const head = groupsOf(halves[0] ?? '');
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  const groups = [...head, ...tail];
  let count = groups.length;
  // A dotted IPv4 tail (RFC 4291 §2.2 form 3) is the last two groups, written last.
  const last = text.slice(text.lastIndexOf(':') + 1);
  if (last.includes('.')) {
    if (!isIPv4Address(last, canonical)) return false;
    groups.pop();
    count += 1;
  }
  if (!groups.every((group) => HEX_GROUP.test(group))) return false;
  // Without "::" every group is written; with it, it stands for at least one.
  return halves.length === 2 ? count < IPV6_GROUPS : count === IPV6_GROUPS;
}
