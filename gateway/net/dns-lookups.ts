// The DNS lookups behind mail authentication (SPF, DKIM, DMARC, ARC, reverse DNS, sender MX), as
// mailauth's resolver: questions go to MXHOOK_DNS_SERVERS (else the system's) within a bounded
// time, and answers are kept as long as their TTLs allow, absences included (RFC 2308), so a burst
// of mail from one domain asks about it once, and a slow or failing server costs a bounded delay.
import { getServers } from 'node:dns';
import { domainToASCII } from 'node:url';
import { Packet } from 'dns2';
import {
  type DnsAnswer,
  DnsFailure,
  type DnsValue,
  dnsKey,
  RECORD_TYPES,
  type RecordType,
  readResponse,
} from './dns-answer.ts';
import { askServer, type DnsServer, parseDnsServer } from './dns-query.ts';

export interface DnsLookupsOptions {
  /** `ip`, `ip:port` or `[ipv6]:port`; empty: the system's (`dns.getServers()`). */
  readonly servers: readonly string[];
  /** The most one question may take, over every server and retry, before it fails with ETIMEOUT. */
  readonly timeoutMs: number;
  /** Answers kept at most (least recently used go first); default 10_000. */
  readonly maxEntries?: number;
  /**
   * Milliseconds now; tests pass a fake clock. Default performance.now(). It times the cache
   * only: a query's own timeout always runs on real time.
   */
  readonly now?: () => number;
}

/**
 * Records are kept a day at most, whatever their TTL (the wire allows 68 years): a rotated DKIM
 * key or a corrected SPF record must take effect within a day.
 */
const MAX_POSITIVE_TTL_S = 86_400;
/**
 * Absences are kept an hour at most (RFC 2308 §5 suggests one to three): a sender that has just
 * published its DKIM key or DMARC policy should not be judged without it for longer.
 */
const MAX_NEGATIVE_TTL_S = 3_600;
/** A negative answer with no SOA does not say how long it holds: long enough for a burst only. */
const NEGATIVE_TTL_WITHOUT_SOA_S = 30;
const DEFAULT_MAX_ENTRIES = 10_000;

/** What a question came to: shared by every caller who asked it while it was in flight. */
type Outcome = DnsAnswer | { readonly kind: 'failure'; readonly failure: DnsFailure };

interface Entry {
  readonly answer: DnsAnswer;
  readonly expiresAt: number;
}

/** The `syscall` node:dns puts on its errors, which some callers print. */
const SYSCALLS: Readonly<Record<RecordType, string>> = {
  A: 'queryA',
  AAAA: 'queryAaaa',
  TXT: 'queryTxt',
  MX: 'queryMx',
  PTR: 'queryPtr',
  CNAME: 'queryCname',
  NS: 'queryNs',
};

export class DnsLookups {
  readonly #servers: readonly DnsServer[];
  readonly #timeoutMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** In recency order: a hit moves its entry to the end, eviction takes from the start. */
  readonly #cache = new Map<string, Entry>();
  readonly #inFlight = new Map<string, Promise<Outcome>>();
  #hits = 0;
  #misses = 0;
  #failures = 0;

  /** @throws TypeError for a server not given by its address; RangeError for a bad limit. */
  constructor(options: DnsLookupsOptions) {
    if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
      throw new RangeError(`timeoutMs must be a positive number, not ${options.timeoutMs}`);
    }
    const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (!Number.isInteger(maxEntries) || maxEntries < 0) {
      throw new RangeError(`maxEntries must be a whole number, not ${maxEntries}`);
    }
    const servers = options.servers.length > 0 ? options.servers : getServers();
    this.#servers = servers.map(parseDnsServer);
    this.#timeoutMs = options.timeoutMs;
    this.#maxEntries = maxEntries;
    this.#now = options.now ?? (() => performance.now());
  }

  /** mailauth's resolver: like dns.promises.resolve(name, rrtype). */
  readonly resolve: (name: string, rrtype: string) => Promise<unknown> = (name, rrtype) =>
    this.#resolve(name, rrtype);

  /**
   * Counters for metrics/tests. hits: questions answered without a query of their own (from the
   * cache, or by joining the same question in flight); misses: questions sent to the servers;
   * failures: misses that got no answer (ENOTFOUND and ENODATA are answers, not failures).
   */
  stats(): {
    readonly hits: number;
    readonly misses: number;
    readonly failures: number;
    readonly entries: number;
  } {
    return {
      hits: this.#hits,
      misses: this.#misses,
      failures: this.#failures,
      entries: this.#cache.size,
    };
  }

  async #resolve(name: string, rrtype: string): Promise<unknown> {
    const type = rrtype.toUpperCase();
    if (!isRecordType(type)) {
      const error: NodeJS.ErrnoException = new Error(
        `DNS record type ${JSON.stringify(rrtype)} is not supported (${RECORD_TYPES.join(', ')})`,
      );
      error.code = 'ERR_INVALID_ARG_VALUE';
      throw error;
    }
    // Keyed by the name as asked: a hit (most lookups, once warm) skips encoding the name.
    const key = `${type} ${dnsKey(name)}`;
    let outcome: Outcome | undefined = this.#fresh(key);
    if (outcome !== undefined) this.#hits++;
    else {
      let flight = this.#inFlight.get(key);
      if (flight !== undefined) this.#hits++;
      else {
        const ascii = asciiName(name);
        if (ascii === null) throw lookupError('EBADNAME', type, name);
        this.#misses++;
        flight = this.#ask(key, ascii, type);
        this.#inFlight.set(key, flight);
      }
      outcome = await flight;
    }
    switch (outcome.kind) {
      case 'records':
        // Copies: a caller that edits its answer must not edit everyone's.
        return outcome.values.map(copyValue);
      case 'negative':
        throw lookupError(outcome.code, type, name);
      case 'failure':
        throw lookupError(outcome.failure.code, type, name, outcome.failure);
    }
  }

  /** Never rejects: a failure is an outcome every joined caller turns into its own error. */
  async #ask(key: string, name: string, type: RecordType): Promise<Outcome> {
    try {
      const answer = await this.#askServers(name, type);
      this.#store(key, answer);
      return answer;
    } catch (error) {
      this.#failures++;
      const failure =
        error instanceof DnsFailure
          ? error
          : new DnsFailure('EBADRESP', String(error), { cause: error });
      return { kind: 'failure', failure };
    } finally {
      this.#inFlight.delete(key);
    }
  }

  /**
   * Servers in order, each failure moving on to the next; a lone server is asked twice, as one
   * lost datagram should not fail the question. Each attempt gets an equal share of what is left
   * of the budget, so a silent server leaves time for the next one.
   */
  async #askServers(name: string, type: RecordType): Promise<DnsAnswer> {
    const attempts =
      this.#servers.length === 1 ? [...this.#servers, ...this.#servers] : this.#servers;
    const deadline = performance.now() + this.#timeoutMs;
    let lastFailure: unknown = new DnsFailure('ECONNREFUSED', 'no DNS server is configured');
    for (const [index, server] of attempts.entries()) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      try {
        const share = left / (attempts.length - index);
        return readResponse(await askServer(server, name, type, share), name, type);
      } catch (error) {
        lastFailure = error;
      }
    }
    throw lastFailure;
  }

  #fresh(key: string): DnsAnswer | undefined {
    const entry = this.#cache.get(key);
    if (entry === undefined) return undefined;
    this.#cache.delete(key);
    if (this.#now() >= entry.expiresAt) return undefined;
    this.#cache.set(key, entry);
    return entry.answer;
  }

  #store(key: string, answer: DnsAnswer): void {
    const ttlSeconds =
      answer.kind === 'records'
        ? Math.min(answer.ttlSeconds, MAX_POSITIVE_TTL_S)
        : Math.min(answer.ttlSeconds ?? NEGATIVE_TTL_WITHOUT_SOA_S, MAX_NEGATIVE_TTL_S);
    if (!(ttlSeconds > 0)) return;
    this.#cache.delete(key);
    this.#cache.set(key, { answer, expiresAt: this.#now() + ttlSeconds * 1000 });
    for (const oldest of this.#cache.keys()) {
      if (this.#cache.size <= this.#maxEntries) break;
      this.#cache.delete(oldest);
    }
  }
}

function isRecordType(type: string): type is RecordType {
  return (RECORD_TYPES as readonly string[]).includes(type);
}

/** The name as sent: an internationalised one in its A-label form; null when it cannot be sent. */
function asciiName(name: string): string | null {
  const ascii = /[^\p{ASCII}]/u.test(name) ? domainToASCII(name) : name;
  if (ascii === '' && name !== '') return null;
  try {
    Packet.Name.encode(ascii);
    return ascii;
  } catch {
    return null;
  }
}

function copyValue(value: DnsValue): DnsValue {
  if (typeof value === 'string') return value;
  return 'exchange' in value ? { ...value } : [...value];
}

/** An error as node:dns makes them: mailauth reads `code`, logs read `hostname`. */
function lookupError(
  code: string,
  type: RecordType,
  hostname: string,
  cause?: Error,
): NodeJS.ErrnoException & { hostname: string } {
  const syscall = SYSCALLS[type];
  // No stack: a negative answer is an ordinary outcome, made afresh for every caller (mailauth
  // writes onto the errors it gets) and, from the cache, on every message (DMARC asks for
  // `_dmarc.<org domain>` each time), where capturing a stack cost more than the lookup.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const error = new Error(
    `${syscall} ${code} ${hostname}`,
    cause === undefined ? undefined : { cause },
  ) as NodeJS.ErrnoException & { hostname: string };
  Error.stackTraceLimit = stackTraceLimit;
  error.code = code;
  error.syscall = syscall;
  error.hostname = hostname;
  return error;
}
