// Which recipients this inbox serves: whole domains and single addresses, from the Worker's vars.

/** The parsed `DOMAINS` and `RECIPIENTS` vars: domains lower-cased, addresses normalised by {@link normalise}. */
export interface RecipientPolicy {
  readonly domains: ReadonlySet<string>;
  readonly addresses: ReadonlySet<string>;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

// RFC 5321 §2.4: domains are case-insensitive, a local part is exactly what the sender wrote.
function normalise(address: string): string | null {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return null;
  return `${address.slice(0, at)}@${address.slice(at + 1).toLowerCase()}`;
}

/**
 * Reads the policy from the comma-separated vars; a leading `@` on a domain is allowed.
 *
 * @example
 * ```ts
 * const policy = recipientPolicy({ DOMAINS: 'example.com', RECIPIENTS: 'postmaster@example.net' });
 * isServed('anyone@EXAMPLE.com', policy); // true
 * ```
 */
export function recipientPolicy(vars: {
  readonly DOMAINS?: string | undefined;
  readonly RECIPIENTS?: string | undefined;
}): RecipientPolicy {
  return {
    domains: new Set(list(vars.DOMAINS).map((domain) => domain.replace(/^@/, '').toLowerCase())),
    addresses: new Set(
      list(vars.RECIPIENTS)
        .map(normalise)
        .filter((address) => address !== null),
    ),
  };
}

/**
 * Whether `address` is served here: its domain is one of `DOMAINS` (any case), or it is one of
 * `RECIPIENTS` (local part exact, domain in any case).
 */
export function isServed(address: string, policy: RecipientPolicy): boolean {
  const normalised = normalise(address.trim());
  if (normalised === null) return false;
  const domain = normalised.slice(normalised.lastIndexOf('@') + 1);
  return policy.domains.has(domain) || policy.addresses.has(normalised);
}
