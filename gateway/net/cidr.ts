// CIDR lists (trusted proxies, allow/deny networks) parsed once into a matcher for client addresses.
import { isIPv4, isIPv6, SocketAddress } from 'node:net';
import { MxhookError } from '../errors.ts';

/** One block of a list, normalised: `network` has its host bits cleared. */
export interface CidrBlock {
  readonly family: 'ipv4' | 'ipv6';
  readonly network: string;
  readonly prefix: number;
}

/** A parsed CIDR list. Immutable; `contains` never throws. */
export interface CidrList {
  readonly blocks: readonly CidrBlock[];
  /**
   * True when `address` lies in one of the blocks. IPv4-mapped IPv6 addresses
   * (`::ffff:10.1.2.3`, what a dual-stack socket reports for an IPv4 client) are matched as the
   * IPv4 address they carry; a zone index (`fe80::1%eth0`) is ignored. Anything that is not
   * an IP address is contained in nothing.
   */
  contains(address: string): boolean;
}

interface ByteBlock {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/**
 * Parses a comma-separated list such as `10.0.0.0/8, 2001:db8::/32, 192.0.2.7`. A bare address
 * is a /32 (IPv4) or /128 (IPv6) block. Blank text is the empty list.
 *
 * @throws MxhookError `ERR_CIDR_INVALID` naming the offending entry; configuration turns it
 *   into a `ConfigError` naming the variable.
 */
export function parseCidrList(text: string): CidrList {
  const byteBlocks: ByteBlock[] = [];
  const blocks: CidrBlock[] = [];
  if (text.trim() !== '') {
    for (const rawEntry of text.split(',')) {
      const entry = rawEntry.trim();
      if (entry === '') {
        throw new MxhookError(
          'ERR_CIDR_INVALID',
          'the list has an empty entry (two commas in a row or a comma at an end)',
        );
      }
      const block = parseBlock(entry);
      byteBlocks.push(block);
      blocks.push(
        Object.freeze({
          family: block.bytes.length === 4 ? 'ipv4' : 'ipv6',
          network: formatAddress(block.bytes),
          prefix: block.prefix,
        } as const),
      );
    }
  }
  Object.freeze(blocks);
  return Object.freeze({
    blocks,
    contains(address: string): boolean {
      const bytes = clientBytes(address);
      if (bytes === null) return false;
      return byteBlocks.some((block) => inBlock(bytes, block));
    },
  });
}

/** Bits of an IPv6 address that name one end site's network (RFC 6177: sites get a /64 or more). */
const IPV6_SITE_PREFIX = 64;

/**
 * What per-client limits count against: an IPv4 address itself, but an IPv6 client's /64 (as
 * `2001:db8:1:2::/64`). One host on IPv6 usually has a whole /64 to itself and can take a new
 * address for every connection (RFC 8981 temporary addresses do exactly that), so counting single
 * IPv6 addresses would let it past every limit. Anything that is not an IP address is its own key.
 */
export function clientKeyOf(address: string): string {
  if (isIPv4(address)) return address;
  const bytes = clientBytes(address);
  if (bytes === null) return address;
  if (bytes.length === 4) return bytes.join('.'); // IPv4-mapped
  return `${formatAddress(masked(bytes, IPV6_SITE_PREFIX))}/${IPV6_SITE_PREFIX}`;
}

function parseBlock(entry: string): ByteBlock {
  const slash = entry.indexOf('/');
  const addressText = slash === -1 ? entry : entry.slice(0, slash);
  const bytes = addressToBytes(addressText);
  if (bytes === null) {
    throw new MxhookError(
      'ERR_CIDR_INVALID',
      `"${entry}" is not an IPv4 or IPv6 address or CIDR block`,
    );
  }
  const maxPrefix = bytes.length * 8;
  let prefix = maxPrefix;
  if (slash !== -1) {
    const prefixText = entry.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) {
      throw new MxhookError(
        'ERR_CIDR_INVALID',
        `"${entry}" does not end in a prefix length such as /24`,
      );
    }
    prefix = Number(prefixText);
    if (prefix > maxPrefix) {
      throw new MxhookError('ERR_CIDR_INVALID', `"${entry}" has a prefix length over ${maxPrefix}`);
    }
  }
  const network = masked(bytes, prefix);
  if (!network.every((byte, index) => byte === bytes[index])) {
    // Postfix refuses the same mistake: "10.1.2.3/8" usually means the author wanted a single
    // host or a different network, and silently widening or narrowing it would be a surprise.
    throw new MxhookError(
      'ERR_CIDR_INVALID',
      `"${entry}" has host bits set (did you mean ${formatAddress(network)}/${prefix}?)`,
    );
  }
  // An IPv4-mapped IPv6 block is the IPv4 block it maps, so it matches IPv4 clients too.
  if (bytes.length === 16 && prefix >= 96 && isMapped(bytes)) {
    return { bytes: bytes.subarray(12), prefix: prefix - 96 };
  }
  return { bytes, prefix };
}

function clientBytes(address: string): Uint8Array | null {
  const zone = address.indexOf('%');
  const bytes = addressToBytes(zone === -1 ? address : address.slice(0, zone));
  if (bytes !== null && bytes.length === 16 && isMapped(bytes)) return bytes.subarray(12);
  return bytes;
}

function inBlock(bytes: Uint8Array, block: ByteBlock): boolean {
  if (bytes.length !== block.bytes.length) return false;
  const whole = block.prefix >> 3;
  for (let index = 0; index < whole; index++) {
    if (bytes[index] !== block.bytes[index]) return false;
  }
  const rest = block.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((bytes[whole] ?? 0) & mask) === ((block.bytes[whole] ?? 0) & mask);
}

function masked(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let index = 0; index < bytes.length; index++) {
    const bits = Math.min(8, Math.max(0, prefix - index * 8));
    out[index] = (bytes[index] ?? 0) & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

/** `::ffff:0:0/96`, RFC 4291 §2.5.5.2. */
function isMapped(bytes: Uint8Array): boolean {
  for (let index = 0; index < 10; index++) {
    if (bytes[index] !== 0) return false;
  }
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** 4 or 16 bytes for a textual IPv4 or IPv6 address (no zone index), or null. */
function addressToBytes(text: string): Uint8Array | null {
  if (isIPv4(text)) return Uint8Array.from(text.split('.'), Number);
  if (!isIPv6(text) || text.includes('%')) return null;
  let hex = text;
  const lastColon = hex.lastIndexOf(':');
  const tail = hex.slice(lastColon + 1);
  if (tail.includes('.')) {
    // A dotted IPv4 tail (RFC 4291 §2.2 form 3) is two 16-bit groups.
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    hex = `${hex.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [left = '', right] = hex.split('::');
  const head = left === '' ? [] : left.split(':');
  const end = right === undefined || right === '' ? [] : right.split(':');
  const groups = [...head, ...new Array<string>(8 - head.length - end.length).fill('0'), ...end];
  const bytes = new Uint8Array(16);
  groups.forEach((group, index) => {
    const value = Number.parseInt(group, 16);
    bytes[index * 2] = value >> 8;
    bytes[index * 2 + 1] = value & 0xff;
  });
  return bytes;
}

function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let index = 0; index < 16; index += 2) {
    groups.push((((bytes[index] ?? 0) << 8) | (bytes[index + 1] ?? 0)).toString(16));
  }
  // SocketAddress renders with libuv's inet_ntop, so a block reads exactly as Node prints
  // client addresses (RFC 5952 compression).
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}
