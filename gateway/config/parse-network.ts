// Kinds for network values: listener lists, host:port, domain names, the function URL, CIDR lists,
// access lists of CIDRs and host names, DNS servers.
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { hostname as systemHostname } from 'node:os';
import { ConfigError, MxhookError } from '../errors.ts';
import { parseCidrList } from '../net/cidr.ts';
import type { NetworkList } from '../server/admission.ts';
import type { ListenAddress } from '../server/listen-address.ts';
import type { Kind } from './kind.ts';
import { splitList } from './parse-scalars.ts';

export interface HostPort {
  /** An IPv4 address, an IPv6 address without brackets, or a host name. */
  readonly host: string;
  /** 0 asks the system for a free port. */
  readonly port: number;
}

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const PORT = /^(0|[1-9][0-9]{0,4})$/;
/** Listener options, written after the address: `0.0.0.0:587/require-tls/require-auth`. */
const LISTEN_SUFFIXES = {
  tls: 'implicitTls',
  'require-tls': 'requireTls',
  'require-auth': 'requireAuth',
} as const;
type ListenOption = (typeof LISTEN_SUFFIXES)[keyof typeof LISTEN_SUFFIXES];
const SUFFIX_LIST = Object.keys(LISTEN_SUFFIXES)
  .map((suffix) => `/${suffix}`)
  .join(', ');
const NO_LISTENER = 'needs at least one host:port';

/**
 * RFC 5321 §4.1.2 `Domain`: dot-separated labels of letters, digits and inner hyphens, each at
 * most 63 octets (RFC 1035 §2.3.4), the whole at most 255 (RFC 5321 §4.5.3.1.2). An all-numeric
 * last label is refused (RFC 3696 §2) so a mistyped IP address is not taken for a name.
 */
export function isDomainName(text: string): boolean {
  if (text.length === 0 || text.length > 255) return false;
  const labels = text.split('.');
  if (!labels.every((label) => LABEL.test(label))) return false;
  return !/^[0-9]+$/.test(labels.at(-1) ?? '');
}

function parseDomainName(variable: string, raw: string): string {
  const text = raw.trim();
  if (!isDomainName(text)) {
    throw new ConfigError(
      variable,
      `${JSON.stringify(raw)} is not a domain name (dot-separated labels of letters, digits and hyphens, RFC 5321 §4.1.2)`,
    );
  }
  return text;
}

/** `127.0.0.1:25`, `[::1]:25` or `mx.example.com:25`. */
function parseHostPort(variable: string, entry: string): HostPort {
  let host: string;
  let portText: string;
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    host = close === -1 ? '' : entry.slice(1, close);
    if (close === -1 || entry[close + 1] !== ':' || !isIPv6(host)) {
      throw new ConfigError(
        variable,
        `${JSON.stringify(entry)} is not [ipv6-address]:port (for example [::1]:2525)`,
      );
    }
    portText = entry.slice(close + 2);
  } else {
    const colon = entry.lastIndexOf(':');
    if (colon === -1) {
      throw new ConfigError(variable, `${JSON.stringify(entry)} has no port (write host:port)`);
    }
    host = entry.slice(0, colon);
    portText = entry.slice(colon + 1);
    if (host.includes(':')) {
      throw new ConfigError(
        variable,
        `${JSON.stringify(entry)}: an IPv6 address goes in brackets, as in [::1]:2525`,
      );
    }
    if (!isIPv4(host) && !isDomainName(host)) {
      throw new ConfigError(
        variable,
        `${JSON.stringify(entry)}: ${JSON.stringify(host)} is not an IP address or host name`,
      );
    }
  }
  if (!PORT.test(portText) || Number(portText) > 65535) {
    throw new ConfigError(
      variable,
      `${JSON.stringify(entry)}: ${JSON.stringify(portText)} is not a port from 0 to 65535`,
    );
  }
  return { host, port: Number(portText) };
}

/**
 * `127.0.0.1:2525,[::]:465/tls,0.0.0.0:587/require-tls/require-auth`. At least one listener;
 * the same address twice is an error. Suffixes are case-insensitive, in any order, each once.
 */
function parseListenList(variable: string, raw: string): ListenAddress[] {
  const listeners: ListenAddress[] = [];
  const seen = new Set<string>();
  const entries = splitList(variable, raw);
  if (entries.length === 0) throw new ConfigError(variable, NO_LISTENER);
  for (const entry of entries) {
    // No host form has a slash (IPv6 sits in brackets), so the first one starts the suffixes.
    const slash = entry.indexOf('/');
    const address = parseHostPort(variable, slash === -1 ? entry : entry.slice(0, slash));
    const options = parseListenSuffixes(variable, entry, slash === -1 ? '' : entry.slice(slash));
    const key = `${address.host.toLowerCase()} ${address.port}`;
    // Port 0 is a fresh free port each time, so two of them do not collide.
    if (address.port !== 0 && seen.has(key)) {
      throw new ConfigError(variable, `${JSON.stringify(entry)} is listed more than once`);
    }
    seen.add(key);
    listeners.push({ ...address, ...options });
  }
  return listeners;
}

function parseListenSuffixes(
  variable: string,
  entry: string,
  suffixes: string,
): Record<ListenOption, boolean> {
  const options = { implicitTls: false, requireTls: false, requireAuth: false };
  if (suffixes === '') return options;
  for (const word of suffixes.slice(1).split('/')) {
    const option = Object.hasOwn(LISTEN_SUFFIXES, word.toLowerCase())
      ? LISTEN_SUFFIXES[word.toLowerCase() as keyof typeof LISTEN_SUFFIXES]
      : undefined;
    if (option === undefined) {
      throw new ConfigError(
        variable,
        `${JSON.stringify(entry)} has an unknown suffix ${JSON.stringify(`/${word}`)} (known: ${SUFFIX_LIST})`,
      );
    }
    if (options[option]) {
      throw new ConfigError(
        variable,
        `${JSON.stringify(entry)} has the suffix ${JSON.stringify(`/${word.toLowerCase()}`)} twice`,
      );
    }
    options[option] = true;
  }
  return options;
}

/**
 * The function's base URL, normalised to end in `/` so that `new URL(step, functionUrl)` gives
 * `<url>/<step>` whether or not the user wrote the trailing slash.
 */
function parseFunctionUrl(variable: string, raw: string): URL {
  const text = raw.trim();
  if (!URL.canParse(text)) {
    throw new ConfigError(
      variable,
      `${JSON.stringify(raw)} is not an absolute URL (for example https://mx.example.workers.dev)`,
    );
  }
  const url = new URL(text);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(variable, `must be an http or https URL, not ${url.protocol}`);
  }
  // Credentials in the URL would end up in logs and error messages; requests are signed instead.
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(variable, 'must not contain a user name or password');
  }
  if (url.search !== '' || url.hash !== '') {
    throw new ConfigError(
      variable,
      'must not have a query or fragment: the step name is appended to its path',
    );
  }
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return url;
}

/** `127.0.0.1:2525,[::]:465/tls`: see `parseListenList`. */
export const LISTEN_LIST: Kind<readonly ListenAddress[]> = {
  parse: (raw, { variable }) => parseListenList(variable, raw),
  check: (listeners) => (listeners.length === 0 ? NO_LISTENER : null),
};

/** A domain name; unset, the system's host name, which must then be one. */
export const HOSTNAME: Kind<string> = {
  parse(raw, { variable }) {
    if (raw !== '') return parseDomainName(variable, raw);
    const system = systemHostname();
    if (!isDomainName(system)) {
      throw new ConfigError(
        variable,
        `the system hostname ${JSON.stringify(system)} is not a domain name; set ${variable}`,
      );
    }
    return system;
  },
};

/** The function's base URL (see `parseFunctionUrl`); null when unset. */
export const FUNCTION_URL: Kind<URL | null> = {
  parse: (raw, { variable }) => (raw === '' ? null : parseFunctionUrl(variable, raw)),
};

/** A single host:port, or `off` (null). */
export const HOST_PORT_OR_OFF: Kind<HostPort | null> = {
  parse(raw, { variable }) {
    const text = raw.trim();
    if (text.toLowerCase() === 'off') return null;
    if (text.includes(',')) throw new ConfigError(variable, 'takes a single host:port, or off');
    return parseHostPort(variable, text);
  },
};

/** A CIDR list; empty matches no address. */
export const NETWORKS: Kind<NetworkList> = {
  parse(raw, { variable }) {
    try {
      return parseCidrList(raw);
    } catch (error) {
      if (error instanceof MxhookError && error.code === 'ERR_CIDR_INVALID') {
        throw new ConfigError(variable, error.message, { cause: error });
      }
      throw error;
    }
  },
};

/**
 * CIDR blocks and host names, mixed: `10.0.0.0/8, relay.example.com`. The names are kept as
 * written (lower-cased) in `hosts`, for the gateway to resolve; `contains` matches the blocks.
 */
export const NETWORKS_OR_HOSTS: Kind<NetworkList> = {
  parse(raw, context) {
    const entries = splitList(context.variable, raw);
    const networks = NETWORKS.parse(
      entries.filter((entry) => !isDomainName(entry)).join(','),
      context,
    );
    const hosts = entries.filter(isDomainName).map((name) => name.toLowerCase());
    return hosts.length === 0 ? networks : { ...networks, hosts: [...new Set(hosts)] };
  },
};

/** Why `entry` is not `ip`, `ip:port` or `[ipv6]:port`, or null when it is one. */
function dnsServerProblem(entry: string): string | null {
  if (isIP(entry) !== 0) return null;
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(entry);
  const bracketed = match?.[1];
  const address = bracketed ?? match?.[2] ?? '';
  const port = Number(match?.[3]);
  if (match === null || !(bracketed === undefined ? isIPv4(address) : isIPv6(address))) {
    // A name would need a resolver to find the resolver.
    return `${JSON.stringify(entry)} is not ip, ip:port or [ipv6]:port (a DNS server is given by its address)`;
  }
  return port >= 1 && port <= 65535
    ? null
    : `${JSON.stringify(entry)}: the port must be from 1 to 65535`;
}

/** DNS servers as `Resolver.setServers` takes them; empty: the system's. */
export const DNS_SERVERS: Kind<readonly string[]> = {
  parse(raw, { variable }) {
    const servers = splitList(variable, raw);
    for (const server of servers) {
      const problem = dnsServerProblem(server);
      if (problem !== null) throw new ConfigError(variable, problem);
    }
    return servers;
  },
  check: (servers) => servers.map(dnsServerProblem).find((problem) => problem !== null) ?? null,
};
