// Destination domains' MTA-STS policies (RFC 8461), as a sending MTA keeps them: discovered by
// the `_mta-sts.<domain>` TXT record, fetched over verified HTTPS (mta-sts-fetch.ts), and cached
// for the policy's max_age. The TXT record's `id` says when to fetch again: the same id, the cached
// policy is current (§3.1); a new id, the policy changed. While a fetch fails, or the TXT record
// cannot be found, a cached policy that has not expired goes on applying (§3.3, §5.1): an attacker
// who blocks the policy host or strips the record must not turn a policy off.
//
// Discovery, parsing and MX matching are mailauth's (mailauth/lib/mta-sts); its fetch is not used
// (see mta-sts-fetch.ts), nor its getPolicy, which calls that fetch.
import { parsePolicy, resolvePolicy, validateMx } from 'mailauth/lib/mta-sts.js';
import type { Logger } from 'pino';
import { fetchPolicyText, type PolicyFetchOptions } from './mta-sts-fetch.ts';

/** A policy that asks something of delivery; a `none` policy is no policy here. */
export interface StsPolicy {
  /** The TXT record's id it was fetched under. */
  readonly id: string;
  readonly mode: 'enforce' | 'testing';
  /** The MX host patterns (`mx.example.com`, `*.example.net`), lower case. */
  readonly mx: readonly string[];
  /** When it expires: the fetch's time plus max_age, `Date.now()` milliseconds. */
  readonly expiresAt: number;
}

export interface MtaStsOptions extends PolicyFetchOptions {
  readonly log?: Logger;
}

interface Entry {
  /** The last policy fetched; null: `mode: none`, or none fetched yet. */
  readonly policy: StsPolicy | null;
  /** Until when `policy` holds (a `none` policy's max_age too). */
  readonly expiresAt: number;
  /** The TXT id `policy` was fetched under. */
  readonly id: string;
  /** The last fetch, when it failed: its id is not fetched again before `retryAt`. */
  readonly failed?: { readonly id: string; readonly retryAt: number };
}

/**
 * After a failed fetch, the same policy id is not fetched again for this long (mailauth waits an
 * hour): a dead policy host must not cost every delivery to its domain a timeout.
 */
const FETCH_RETRY_MS = 10 * 60_000;
/** Domains whose policies are kept at most: the least recently fetched go first. */
const MAX_DOMAINS = 10_000;

export class MtaStsPolicies {
  readonly #options: MtaStsOptions;
  /** In fetch order: the oldest go first when full. */
  readonly #cache = new Map<string, Entry>();
  readonly #inFlight = new Map<string, Promise<StsPolicy | null>>();

  constructor(options: MtaStsOptions) {
    this.#options = options;
  }

  /** The policy delivery to `domain` must follow, or null. Never rejects. */
  policyFor(domain: string): Promise<StsPolicy | null> {
    const name = domain.toLowerCase().replace(/\.$/, '');
    let pending = this.#inFlight.get(name);
    if (pending === undefined) {
      pending = this.#lookUp(name).finally(() => this.#inFlight.delete(name));
      this.#inFlight.set(name, pending);
    }
    return pending;
  }

  async #lookUp(domain: string): Promise<StsPolicy | null> {
    const now = Date.now();
    const entry = this.#cache.get(domain);
    const current = entry !== undefined && entry.expiresAt > now ? entry : undefined;
    let id: string | false;
    try {
      // mailauth types its resolver narrower than dns.promises.resolve, which ours is.
      id = await resolvePolicy(domain, { resolver: this.#options.resolve as never });
    } catch (error) {
      // A DNS failure, or several STSv1 records (§3.1): not a reason to drop a policy in force.
      this.#warn(domain, 'MTA-STS record lookup failed', error, current);
      return current?.policy ?? null;
    }
    // No record: a domain that has withdrawn its policy publishes `mode: none` first (§8.3); a
    // record stripped on the way must not end the cached one early.
    if (id === false) return current?.policy ?? null;
    if (current !== undefined && current.id === id) return current.policy;
    if (entry?.failed?.id === id && entry.failed.retryAt > now) return current?.policy ?? null;
    try {
      const text = await fetchPolicyText(domain, this.#options);
      const parsed = parsePolicy(text);
      const expiresAt = Date.now() + (parsed.maxAge ?? 0) * 1000;
      const policy: StsPolicy | null =
        parsed.mode === 'none' ? null : { id, mode: parsed.mode, mx: parsed.mx ?? [], expiresAt };
      this.#keep(domain, { policy, expiresAt, id });
      this.#options.log?.info(
        { domain, id, mode: parsed.mode, mx: parsed.mx },
        'MTA-STS policy fetched',
      );
      return policy;
    } catch (error) {
      this.#warn(domain, 'MTA-STS policy fetch failed', error, current);
      this.#keep(domain, {
        policy: current?.policy ?? null,
        expiresAt: current?.expiresAt ?? 0,
        id: current?.id ?? '',
        failed: { id, retryAt: Date.now() + FETCH_RETRY_MS },
      });
      return current?.policy ?? null;
    }
  }

  #keep(domain: string, entry: Entry): void {
    this.#cache.delete(domain);
    this.#cache.set(domain, entry);
    if (this.#cache.size > MAX_DOMAINS) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
  }

  #warn(domain: string, what: string, error: unknown, current: Entry | undefined): void {
    this.#options.log?.warn(
      {
        domain,
        // TLSRPT's names (RFC 8460 §4.3): a policy that would not parse is invalid, else unfetched.
        resultType: isParseError(error) ? 'sts-policy-invalid' : 'sts-policy-fetch-error',
        reason: (error as Error).message,
        cachedPolicy: current?.policy?.mode ?? null,
      },
      what,
    );
  }
}

/** Whether `host` is one of `policy`'s MX hosts (RFC 8461 §4.1: a wildcard is one label). */
export function policyListsHost(policy: StsPolicy, host: string): boolean {
  return validateMx(host, { mode: policy.mode, mx: [...policy.mx] }).valid;
}

/** mailauth's parse errors carry codes `invalid_sts_*`. */
function isParseError(error: unknown): boolean {
  return String((error as { code?: unknown } | null)?.code ?? '').startsWith('invalid_sts');
}
