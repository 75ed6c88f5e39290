// Decides, before the banner, whether a client may open a session: access lists, then per-address limits.
import { clientKeyOf } from '../net/cidr.ts';
import { type Reply, reply } from '../smtp/reply.ts';
import type { RefusalReason } from './observer.ts';
import { RateLimiter } from './rate-limiter.ts';

/** What admission needs of a network list; a `CidrList` (gateway/net/cidr.ts) is one. */
export interface NetworkList {
  contains(address: string): boolean;
  /** When present and empty, and there are no `hosts`, the list is treated as absent (an empty allow list allows all). */
  readonly blocks?: readonly unknown[];
  /**
   * Host names whose addresses belong to the list too. `contains` does not look them up: the
   * gateway resolves them and matches through a `HostNetworkList` (host-networks.ts).
   */
  readonly hosts?: readonly string[];
}

/** The client as admission sees it: the real address, after any PROXY protocol header. */
export interface AdmittedClient {
  readonly address: string;
  /** The address came from a PROXY protocol header. */
  readonly proxied: boolean;
}

export interface AdmissionOptions {
  /** Only these clients are served; absent or empty serves everyone. */
  readonly allow?: NetworkList | null;
  /** These clients are refused; wins over `allow`. */
  readonly deny?: NetworkList | null;
  /** Concurrent sessions per address. */
  readonly maxConnectionsPerIp: number;
  /** New connections per minute per address; 0 turns the rate limit off. */
  readonly maxConnectionsPerIpPerMinute: number;
}

export type AdmissionResult =
  | {
      readonly admitted: true;
      /** Frees the client's concurrent slot; call it once the connection is gone (extra calls do nothing). */
      readonly release: () => void;
    }
  | { readonly admitted: false; readonly reason: RefusalReason; readonly reply: Reply };

/** RFC 5321 §3.1: a server may answer a connection with 554 instead of 220, then waits for QUIT; we close. */
const accessDenied = reply(554, '5.7.1', 'Access denied');
/** RFC 5321 §3.8 / §4.2.3: 421, service not available, closing; RFC 3463 §3.8 4.7.0 security policy. */
const tooManyFromAddress = reply(
  421,
  '4.7.0',
  'Too many connections from your address, try again later',
);
const connectionRateExceeded = reply(
  421,
  '4.7.0',
  'Too many new connections from your address, slow down and try again later',
);

const admittedUncounted: AdmissionResult = Object.freeze({ admitted: true, release: () => {} });

/**
 * Loopback clients are exempt from the per-address limits, as Postfix exempts its own networks:
 * local relays and test suites open many connections from 127.0.0.1 on purpose. The exemption
 * looks at the real client: a proxied client is never exempt, even when the proxy itself is on
 * loopback (a local HAProxy) or its header names a loopback source (that is the proxy host's
 * loopback, not ours).
 */
export function isExempt(client: AdmittedClient): boolean {
  return !client.proxied && isLoopback(client.address);
}

/** `127.0.0.0/8` and `::1`; addresses are normalised, so `::ffff:127.0.0.1` arrives as `127.0.0.1`. */
export function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}

/** Deny wins; an absent or empty allow list allows every client. */
export function isAllowed(
  address: string,
  allow: NetworkList | null | undefined,
  deny: NetworkList | null | undefined,
): boolean {
  if (deny && !isEmpty(deny) && deny.contains(address)) return false;
  if (!allow || isEmpty(allow)) return true;
  return allow.contains(address);
}

function isEmpty(list: NetworkList): boolean {
  // A list of names only is not empty: until they resolve it matches nobody (fails closed).
  return list.blocks !== undefined && list.blocks.length === 0 && (list.hosts?.length ?? 0) === 0;
}

/**
 * Holds the per-address counts. Checks run in order: access lists (554), then the connection
 * rate, which counts every attempt that passes the lists, refused or not, then the concurrent
 * cap (421 for both). No I/O: the gateway passes the clock and sends the reply.
 */
export class Admission {
  readonly #options: AdmissionOptions;
  readonly #open = new Map<string, number>();
  readonly #rate: RateLimiter | null;

  constructor(options: AdmissionOptions) {
    this.#options = options;
    this.#rate =
      options.maxConnectionsPerIpPerMinute > 0
        ? new RateLimiter(options.maxConnectionsPerIpPerMinute)
        : null;
  }

  /** Sessions (and handshakes) counted against `address` (its /64, for IPv6) right now. */
  openFrom(address: string): number {
    return this.#open.get(clientKeyOf(address)) ?? 0;
  }

  admit(client: AdmittedClient, nowMs: number): AdmissionResult {
    const { address } = client;
    if (!isAllowed(address, this.#options.allow, this.#options.deny)) {
      return { admitted: false, reason: 'access-denied', reply: accessDenied };
    }
    if (isExempt(client)) return admittedUncounted;
    const key = clientKeyOf(address);
    if (this.#rate !== null && !this.#rate.take(key, nowMs)) {
      return { admitted: false, reason: 'connection-rate-per-ip', reply: connectionRateExceeded };
    }
    const open = this.#open.get(key) ?? 0;
    if (open >= this.#options.maxConnectionsPerIp) {
      return { admitted: false, reason: 'max-connections-per-ip', reply: tooManyFromAddress };
    }
    this.#open.set(key, open + 1);
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.#open.get(key) ?? 0) - 1;
        if (left <= 0) this.#open.delete(key);
        else this.#open.set(key, left);
      },
    };
  }
}
