// Parsers for network values: listener lists, host:port, domain names, the function URL, CIDR lists.
import { isIPv4, isIPv6 } from 'node:net';
import { ConfigError, MxhookError } from '../errors.ts';
import { type CidrList, parseCidrList } from '../net/cidr.ts';
import { splitList } from './parse-scalars.ts';

export interface HostPort {
  /** An IPv4 address, an IPv6 address without brackets, or a host name. */
  readonly host: string;
  /** 0 asks the system for a free port. */
  readonly port: number;
}

export interface ListenAddress extends HostPort {
  /** `/tls`: SMTPS, TLS from the first byte (RFC 8314 §3.3) instead of STARTTLS. */
  readonly implicitTls: boolean;
  /** `/require-tls`: MAIL needs STARTTLS first on this listener (RFC 3207 §4, 530 5.7.0). */
  readonly requireTls: boolean;
  /** `/require-auth`: MAIL needs AUTH first on this listener (submission, RFC 6409 §4.3). */
  readonly requireAuth: boolean;
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

export function parseDomainName(variable: string, raw: string): string {
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
export function parseHostPort(variable: string, entry: string): HostPort {
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
export function parseListenList(variable: string, raw: string): ListenAddress[] {
  const listeners: ListenAddress[] = [];
  const seen = new Set<string>();
  const entries = splitList(variable, raw);
  if (entries.length === 0) {
    throw new ConfigError(variable, 'needs at least one host:port');
  }
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
export function parseFunctionUrl(variable: string, raw: string): URL {
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

/** A CIDR list whose entry errors name `variable`. */
export function parseNetworks(variable: string, raw: string): CidrList {
  try {
    return parseCidrList(raw);
  } catch (error) {
    if (error instanceof MxhookError && error.code === 'ERR_CIDR_INVALID') {
      throw new ConfigError(variable, error.message, { cause: error });
    }
    throw error;
  }
}
