// An access list with host names in it: each name's addresses, resolved at start and again when
// their TTL runs out, are swapped in whole, so admission stays one synchronous match per connection.
import type { Logger } from 'pino';
import { MxhookError } from '../errors.ts';
import { type CidrList, parseCidrList } from '../net/cidr.ts';
import type { DnsResolver } from '../net/dns-resolver.ts';
import type { NetworkList } from './admission.ts';

/** Which list the names are in: it decides what a name that cannot be resolved at start means. */
export type AccessListRole = 'allow' | 'deny';

export interface HostNetworkOptions {
  readonly role: AccessListRole;
  /** The configured list: its CIDR blocks, and in `hosts` the names to resolve. */
  readonly list: NetworkList;
  readonly resolver: DnsResolver;
  /**
   * The shortest wait between two resolutions of a name, whatever its TTL says (a TTL of 0 would
   * otherwise ask on every tick), and the wait before retrying one that failed.
   */
  readonly floorMs: number;
  readonly log: Logger;
}

/** A TTL longer than this is not waited out: a name that moves is noticed within the hour. */
export const HOST_TTL_CAP_MS = 3_600_000;

const NOTHING = parseCidrList('');

/** How long to keep a resolution: its TTL, within the floor and the cap. */
export function refreshDelayMs(ttlSeconds: number, floorMs: number): number {
  return Math.min(HOST_TTL_CAP_MS, Math.max(floorMs, ttlSeconds * 1000));
}

interface HostState {
  readonly name: string;
  /** The last good addresses, sorted; null until the name has been resolved once. */
  addresses: readonly string[] | null;
  timer: NodeJS.Timeout | null;
}

export class HostNetworkList implements NetworkList {
  readonly #options: HostNetworkOptions;
  readonly #hosts: readonly HostState[];
  /** Every resolved address of every name, as one list; replaced whole, never changed. */
  #resolved: CidrList = NOTHING;
  #stopped = false;

  constructor(options: HostNetworkOptions) {
    this.#options = options;
    this.#hosts = (options.list.hosts ?? []).map((name) => ({
      name,
      addresses: null,
      timer: null,
    }));
  }

  contains(address: string): boolean {
    return this.#options.list.contains(address) || this.#resolved.contains(address);
  }

  /**
   * Resolves every name once, then keeps each current by its TTL. A name that fails is retried
   * after the floor. At start that means, by role:
   * - allow: the name matches nobody until it resolves. Failing closed is safe: its clients get
   *   554 for a while, and nobody unlisted gets in.
   * - deny: start fails. Failing open would let in exactly the clients the operator named, and
   *   refusing every client instead would turn a DNS fault into an outage; not starting says
   *   what is wrong at once.
   *
   * @throws MxhookError `ERR_DNS_UNRESOLVED` (deny list only), after stopping the refreshes.
   */
  async start(): Promise<void> {
    const failures = await Promise.all(this.#hosts.map((host) => this.#resolve(host)));
    const failed = this.#hosts.filter((_, index) => failures[index] !== null);
    if (this.#options.role === 'deny' && failed.length > 0) {
      this.stop();
      throw new MxhookError(
        'ERR_DNS_UNRESOLVED',
        `cannot resolve ${failed.map((host) => JSON.stringify(host.name)).join(', ')} in the deny list (${failures.find((failure) => failure !== null)}); not starting, as its clients would be let in`,
      );
    }
  }

  /** Stops the refreshes; a resolution still in flight is then ignored. */
  stop(): void {
    this.#stopped = true;
    for (const host of this.#hosts) {
      if (host.timer !== null) clearTimeout(host.timer);
      host.timer = null;
    }
  }

  /** Resolves `host` and schedules the next time; the reason it failed, or null. */
  async #resolve(host: HostState): Promise<string | null> {
    const { role, resolver, floorMs, log } = this.#options;
    let failure: string | null;
    let delayMs = floorMs;
    try {
      const { addresses, ttlSeconds } = await resolver.addresses(host.name);
      failure = ttlSeconds === null ? 'no A or AAAA records' : null;
      if (ttlSeconds !== null && !this.#stopped) {
        delayMs = refreshDelayMs(ttlSeconds, floorMs);
        this.#update(host, addresses, ttlSeconds);
      }
    } catch (error) {
      failure = (error as NodeJS.ErrnoException).code ?? String(error);
    }
    if (this.#stopped) return failure;
    if (failure !== null) {
      log.warn(
        {
          list: role,
          host: host.name,
          reason: failure,
          kept: host.addresses ?? [],
          retryInMs: delayMs,
        },
        'access list host name not resolved',
      );
    }
    host.timer = setTimeout(() => void this.#resolve(host), delayMs).unref();
    return failure;
  }

  #update(host: HostState, found: readonly string[], ttlSeconds: number): void {
    const addresses = [...new Set(found)].sort();
    if (host.addresses !== null && addresses.join() === host.addresses.join()) return;
    host.addresses = addresses;
    this.#resolved = parseCidrList(this.#hosts.flatMap((each) => each.addresses ?? []).join(','));
    this.#options.log.info(
      { list: this.#options.role, host: host.name, addresses, ttlSeconds },
      'access list host name resolved',
    );
  }
}
