// The gateway's one DNS resolver (MXHOOK_DNS_SERVERS, else the system's servers): host names in the
// access lists use it, and so will any later lookup, so every query goes to the same servers.
import type { RecordWithTtl } from 'node:dns';
import { Resolver } from 'node:dns/promises';

export interface DnsResolverOptions {
  /** `ip`, `ip:port` or `[ipv6]:port`, as `Resolver.setServers` takes them; empty: the system's. */
  readonly servers: readonly string[];
  /** How long one query waits for an answer before it is sent again; default 3 s. */
  readonly timeoutMs?: number;
  /** Attempts per query before it fails; default 2. */
  readonly tries?: number;
}

export interface AddressRecords {
  /** The name's IPv4 (A) then IPv6 (AAAA) addresses; empty when it has none. */
  readonly addresses: readonly string[];
  /** The smallest TTL among the records, in seconds; null when there are none. */
  readonly ttlSeconds: number | null;
}

/** Answers meaning "no such records" rather than a failure: NODATA, NXDOMAIN. */
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND']);

export class DnsResolver {
  readonly #resolver: Resolver;

  /** @throws TypeError when a server is not in a form `Resolver.setServers` takes. */
  constructor(options: DnsResolverOptions) {
    this.#resolver = new Resolver({
      timeout: options.timeoutMs ?? 3_000,
      tries: options.tries ?? 2,
    });
    if (options.servers.length > 0) this.#resolver.setServers(options.servers);
  }

  /**
   * A and AAAA records of `name`, asked for together. A name with records of only one family
   * (or none) answers normally; a failure of either query (timeout, SERVFAIL, refused) rejects,
   * so a caller never takes half an answer for the whole.
   *
   * @throws the `node:dns` error, whose `code` says why (`ETIMEOUT`, `ESERVFAIL`, …).
   */
  async addresses(name: string): Promise<AddressRecords> {
    const [v4, v6] = await Promise.all([
      orNone(this.#resolver.resolve4(name, { ttl: true })),
      orNone(this.#resolver.resolve6(name, { ttl: true })),
    ]);
    const records = [...v4, ...v6];
    return {
      addresses: records.map((record) => record.address),
      ttlSeconds: records.length === 0 ? null : Math.min(...records.map((record) => record.ttl)),
    };
  }
}

async function orNone(query: Promise<RecordWithTtl[]>): Promise<readonly RecordWithTtl[]> {
  try {
    return await query;
  } catch (error) {
    if (NO_RECORDS.has((error as NodeJS.ErrnoException).code ?? '')) return [];
    throw error;
  }
}
