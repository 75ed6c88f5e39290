// What a message says about its own authentication: Authentication-Results, Received-SPF, DKIM-Signature.

/**
 * The authentication headers found in a message. They were added by relays before the gateway,
 * or by the sender itself: this inbox shows them but does not verify them (RFC 8601 §5).
 */
export interface AuthInfo {
  readonly authenticationResults: readonly string[];
  readonly receivedSpf: readonly string[];
  /** One entry per DKIM-Signature header: its `d=` (domain) and `s=` (selector) tags. */
  readonly dkimSignatures: readonly {
    readonly domain: string | null;
    readonly selector: string | null;
  }[];
}

interface HeaderField {
  readonly name: string;
  readonly value: string;
}

// RFC 6376 §3.2: a tag-list is `tag=value` pairs separated by semicolons, with folding whitespace.
function dkimTag(value: string, tag: string): string | null {
  for (const pair of value.split(';')) {
    const equals = pair.indexOf('=');
    if (equals !== -1 && pair.slice(0, equals).trim().toLowerCase() === tag) {
      return pair.slice(equals + 1).replace(/\s+/g, '') || null;
    }
  }
  return null;
}

/**
 * Collects the authentication headers of a message (header names compared case-insensitively).
 *
 * @example
 * ```ts
 * authInfo([{ name: 'dkim-signature', value: 'v=1; d=example.com; s=sel; b=…' }]).dkimSignatures;
 * // [{ domain: 'example.com', selector: 'sel' }]
 * ```
 */
export function authInfo(headers: readonly HeaderField[]): AuthInfo {
  const values = (name: string) =>
    headers.filter((header) => header.name.toLowerCase() === name).map((header) => header.value);
  return {
    authenticationResults: values('authentication-results'),
    receivedSpf: values('received-spf'),
    dkimSignatures: values('dkim-signature').map((value) => ({
      domain: dkimTag(value, 'd'),
      selector: dkimTag(value, 's'),
    })),
  };
}

/**
 * One short line for the message list: the `dkim=`, `spf=` and `dmarc=` results of the topmost
 * Authentication-Results header (RFC 8601 §2.2), or the DKIM signing domains when there is none.
 *
 * @example
 * ```ts
 * authSummary(info); // 'dkim=pass spf=pass dmarc=pass', 'DKIM-signed by example.com', or null
 * ```
 */
export function authSummary(info: AuthInfo): string | null {
  const topmost = info.authenticationResults[0];
  if (topmost !== undefined) {
    const results = [...topmost.matchAll(/\b(dkim|spf|dmarc|arc)\s*=\s*([a-z]+)/gi)].map(
      (match) => `${match[1]!.toLowerCase()}=${match[2]!.toLowerCase()}`,
    );
    const unique = [...new Set(results)];
    if (unique.length > 0) return unique.join(' ');
  }
  const domains = [
    ...new Set(
      info.dkimSignatures.map((signature) => signature.domain).filter((domain) => domain !== null),
    ),
  ];
  if (domains.length > 0) return `DKIM-signed by ${domains.join(', ')}`;
  return info.dkimSignatures.length > 0 ? 'DKIM-signed' : null;
}
