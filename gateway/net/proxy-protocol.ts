// Incremental, pure decoder for the PROXY protocol v1/v2 header a load balancer puts before SMTP.
// Spec: haproxy doc/proxy-protocol.txt ("The PROXY protocol", versions 1 and 2).
import { isIPv4, isIPv6, SocketAddress } from 'node:net';
import { crc32c } from './crc32c.ts';

export interface ProxyEndpoint {
  readonly address: string;
  readonly port: number;
}

/**
 * `proxy`: the connection was relayed for this client; use `source` as the client address.
 * `local`: the proxy speaks for itself (v2 LOCAL, v1 UNKNOWN, v2 AF_UNSPEC/AF_UNIX), so the
 * real socket addresses stand.
 */
export type ProxyHeader =
  | {
      readonly kind: 'proxy';
      readonly version: 1 | 2;
      readonly family: 'ipv4' | 'ipv6';
      readonly source: ProxyEndpoint;
      readonly destination: ProxyEndpoint;
    }
  | { readonly kind: 'local'; readonly version: 1 | 2 };

export type ProxyDecodeResult =
  | { readonly status: 'incomplete' }
  /** `rest` holds the bytes after the header: the start of the SMTP stream. */
  | { readonly status: 'done'; readonly header: ProxyHeader; readonly rest: Buffer }
  | { readonly status: 'invalid'; readonly reason: string };

export interface ProxyHeaderDecoderOptions {
  /**
   * Largest v2 header accepted, in bytes (16-byte fixed part + addresses + TLVs). The length
   * field allows 65,551; real load balancers send a few hundred at most (HAProxy, AWS NLB), so
   * a huge header means misconfiguration or abuse and buffering it would only cost memory.
   */
  readonly maxV2HeaderBytes?: number;
}

/** v1: "a receiver may reject an incomplete line which does not contain the CRLF sequence in the first 107 bytes". */
const V1_MAX_BYTES = 107;
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** v2: the 12-byte signature, chosen to be an invalid start for every common text protocol. */
const V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
const V2_FIXED_BYTES = 16;
/** 16-byte fixed part + 216 bytes for the largest address block (AF_UNIX). */
const V2_MIN_LIMIT = V2_FIXED_BYTES + 216;
const V2_DEFAULT_LIMIT = 4096;
const V2_MAX_LIMIT = V2_FIXED_BYTES + 0xffff;

const PORT = /^(0|[1-9][0-9]{0,4})$/;
const ADDRESS_CHARACTERS = /^[0-9A-Fa-f:.]+$/;

type Step =
  | { readonly status: 'incomplete' }
  | { readonly status: 'done'; readonly header: ProxyHeader; readonly length: number }
  | { readonly status: 'invalid'; readonly reason: string };

const INCOMPLETE = Object.freeze({ status: 'incomplete' } as const);

/**
 * Feed it the first bytes of a connection from a trusted proxy, chunk by chunk, until it says
 * `done` (then hand `rest` to the SMTP session) or `invalid` (then close the connection: the
 * spec forbids guessing). It never throws and never buffers more than the largest header it
 * accepts. After `done`, further chunks pass straight through as `rest`; after `invalid`, the
 * same verdict is repeated.
 */
export class ProxyHeaderDecoder {
  readonly #limit: number;
  readonly #maxV2Bytes: number;
  #pending: Buffer = Buffer.alloc(0);
  #final: Exclude<ProxyDecodeResult, { status: 'incomplete' }> | null = null;

  constructor(options: ProxyHeaderDecoderOptions = {}) {
    const max = options.maxV2HeaderBytes ?? V2_DEFAULT_LIMIT;
    if (!Number.isInteger(max) || max < V2_MIN_LIMIT || max > V2_MAX_LIMIT) {
      throw new RangeError(
        `maxV2HeaderBytes must be a whole number from ${V2_MIN_LIMIT} to ${V2_MAX_LIMIT}`,
      );
    }
    this.#maxV2Bytes = max;
    this.#limit = Math.max(V1_MAX_BYTES, max);
  }

  push(chunk: Buffer): ProxyDecodeResult {
    if (this.#final !== null) {
      return this.#final.status === 'done'
        ? { status: 'done', header: this.#final.header, rest: chunk }
        : this.#final;
    }
    const pendingBytes = this.#pending.length;
    // Copy at most what a header can still need: the rest of a large chunk is SMTP data.
    const take = Math.min(chunk.length, this.#limit - pendingBytes);
    const data =
      pendingBytes === 0
        ? chunk.subarray(0, take)
        : Buffer.concat([this.#pending, chunk.subarray(0, take)]);
    const step = this.#decode(data);
    if (step.status === 'incomplete') {
      this.#pending = Buffer.from(data);
      return INCOMPLETE;
    }
    this.#pending = Buffer.alloc(0);
    if (step.status === 'invalid') {
      this.#final = { status: 'invalid', reason: step.reason };
      return this.#final;
    }
    // Any earlier push was incomplete, so the header ends inside this chunk.
    const result = {
      status: 'done',
      header: step.header,
      rest: chunk.subarray(step.length - pendingBytes),
    } as const;
    this.#final = result;
    return result;
  }

  #decode(data: Buffer): Step {
    if (data.length === 0) return INCOMPLETE;
    if (data[0] === V1_PREFIX[0]) return decodeV1(data);
    if (data[0] === V2_SIGNATURE[0]) return decodeV2(data, this.#maxV2Bytes);
    return invalid('the connection does not start with a PROXY protocol header');
  }
}

/**
 * Whether a connection's first bytes are a PROXY protocol header: `header` once they start
 * with the v1 prefix `PROXY ` or the whole v2 signature, `partial` while they are too few to
 * tell (a strict prefix of either), `none` otherwise. Cheap enough to run on every connection,
 * so a header where none is expected (an untrusted address) is recognised and refused instead
 * of being answered as SMTP.
 */
export function proxySignatureOf(head: Uint8Array): 'header' | 'partial' | 'none' {
  const data = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  for (const signature of [V1_PREFIX, V2_SIGNATURE]) {
    if (!matchesPrefix(data, signature)) continue;
    return data.length >= signature.length ? 'header' : 'partial';
  }
  return 'none';
}

function invalid(reason: string): Step {
  return { status: 'invalid', reason };
}

/** True while `data` could still be the start of `expected` (or already contains it). */
function matchesPrefix(data: Buffer, expected: Buffer): boolean {
  const length = Math.min(data.length, expected.length);
  return data.subarray(0, length).equals(expected.subarray(0, length));
}

// --- version 1: "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n" ---

function decodeV1(data: Buffer): Step {
  if (!matchesPrefix(data, V1_PREFIX)) return invalid('bad v1 signature (expected "PROXY ")');
  const searchable = data.subarray(0, V1_MAX_BYTES);
  const lf = searchable.indexOf(0x0a);
  if (lf === -1) {
    return data.length >= V1_MAX_BYTES
      ? invalid(`v1 header has no CRLF within ${V1_MAX_BYTES} bytes`)
      : INCOMPLETE;
  }
  if (lf === 0 || searchable[lf - 1] !== 0x0d) {
    return invalid('v1 header line does not end in CRLF');
  }
  const line = searchable.subarray(0, lf - 1);
  if (line.includes(0x0d)) return invalid('v1 header line contains a CR before its end');
  const header = parseV1Line(line.toString('latin1'));
  return typeof header === 'string' ? invalid(header) : { status: 'done', header, length: lf + 1 };
}

function parseV1Line(line: string): ProxyHeader | string {
  const fields = line.split(' ');
  const protocol = fields[1];
  // "UNKNOWN": the receiver must ignore anything presented before the CRLF and use the real
  // connection addresses.
  if (protocol === 'UNKNOWN') return { kind: 'local', version: 1 };
  if (protocol !== 'TCP4' && protocol !== 'TCP6') {
    return `v1 protocol must be TCP4, TCP6 or UNKNOWN, not ${JSON.stringify(protocol ?? '')}`;
  }
  if (fields.length !== 6) {
    return 'v1 header must have exactly 5 fields after PROXY, separated by single spaces';
  }
  const [, , sourceAddress = '', destinationAddress = '', sourcePort = '', destinationPort = ''] =
    fields;
  const family = protocol === 'TCP4' ? 'ipv4' : 'ipv6';
  const isFamily = family === 'ipv4' ? isIPv4 : isIPv6;
  for (const address of [sourceAddress, destinationAddress]) {
    if (!ADDRESS_CHARACTERS.test(address) || !isFamily(address)) {
      return `v1 ${protocol} address ${JSON.stringify(address)} is not a valid ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address`;
    }
  }
  for (const port of [sourcePort, destinationPort]) {
    if (!PORT.test(port) || Number(port) > 0xffff) {
      return `v1 port ${JSON.stringify(port)} is not a number from 0 to 65535`;
    }
  }
  return {
    kind: 'proxy',
    version: 1,
    family,
    source: { address: canonical(sourceAddress, family), port: Number(sourcePort) },
    destination: { address: canonical(destinationAddress, family), port: Number(destinationPort) },
  };
}

// --- version 2: signature, ver/cmd, fam/proto, length, addresses, TLVs ---

const COMMAND_LOCAL = 0x0;
const COMMAND_PROXY = 0x1;
const FAMILY_UNSPEC = 0x0;
const FAMILY_UNIX = 0x3;
const PROTOCOL_UNSPEC = 0x0;
const PROTOCOL_STREAM = 0x1;
const PROTOCOL_DGRAM = 0x2;
const TLV_HEADER_BYTES = 3;
/** PP2_TYPE_CRC32C: a 4-byte CRC-32C of the whole header, computed with this value as zeros. */
const TLV_CRC32C = 0x03;

/** AF_INET (0x1) and AF_INET6 (0x2): address size; the block is src, dst, src port, dst port. */
interface IpFamily {
  readonly family: 'ipv4' | 'ipv6';
  readonly label: string;
  readonly addressBytes: number;
}

const IP_FAMILIES: ReadonlyMap<number, IpFamily> = new Map([
  [0x1, { family: 'ipv4', label: 'IPv4', addressBytes: 4 }],
  [0x2, { family: 'ipv6', label: 'IPv6', addressBytes: 16 }],
]);

function decodeV2(data: Buffer, maxBytes: number): Step {
  if (!matchesPrefix(data, V2_SIGNATURE)) return invalid('bad v2 signature');
  if (data.length < V2_FIXED_BYTES) return INCOMPLETE;
  const version = (data[12] ?? 0) >> 4;
  const command = (data[12] ?? 0) & 0x0f;
  const family = (data[13] ?? 0) >> 4;
  const protocol = (data[13] ?? 0) & 0x0f;
  const length = V2_FIXED_BYTES + data.readUInt16BE(14);
  // "The highest four bits contains the version ... the receiver must only accept this value."
  if (version !== 0x2) {
    return invalid(`v2 version must be 2, not ${version}`);
  }
  if (command !== COMMAND_LOCAL && command !== COMMAND_PROXY) {
    return invalid(`v2 command 0x${command.toString(16)} is neither LOCAL nor PROXY`);
  }
  // "Other values are unspecified and must not be emitted in version 2 of this protocol and
  // must be rejected as invalid by receivers."
  if (family > FAMILY_UNIX) {
    return invalid(`v2 address family 0x${family.toString(16)} is not defined`);
  }
  if (protocol > PROTOCOL_DGRAM) {
    return invalid(`v2 transport protocol 0x${protocol.toString(16)} is not defined`);
  }
  if (length > maxBytes) {
    return invalid(`v2 header of ${length} bytes is over the limit of ${maxBytes}`);
  }
  if (data.length < length) return INCOMPLETE;
  const done = (header: ProxyHeader): Step => ({ status: 'done', header, length });
  // LOCAL: "the receiver must accept this connection as valid and must use the real connection
  // endpoints and discard the protocol block including the family which is ignored."
  if (command === COMMAND_LOCAL) return done({ kind: 'local', version: 2 });
  // UNSPEC: "the receiver is free to accept the connection anyway and use the real endpoint
  // addresses". AF_UNIX: the client has no IP address to report, so the real endpoints stand.
  if (family === FAMILY_UNSPEC || family === FAMILY_UNIX || protocol === PROTOCOL_UNSPEC) {
    return done({ kind: 'local', version: 2 });
  }
  if (protocol !== PROTOCOL_STREAM) {
    return invalid('v2 header announces a datagram (UDP) connection; SMTP needs a stream');
  }
  const ip = IP_FAMILIES.get(family);
  if (ip === undefined) return invalid(`v2 address family 0x${family.toString(16)} is not defined`);
  const body = data.subarray(V2_FIXED_BYTES, length);
  const size = ip.addressBytes;
  const blockBytes = size * 2 + 4;
  if (body.length < blockBytes) {
    return invalid(`v2 length ${body.length} is too short for the ${ip.label} address block`);
  }
  const tlvProblem = checkTlvs(data.subarray(0, length), V2_FIXED_BYTES + blockBytes);
  if (tlvProblem !== null) return invalid(tlvProblem);
  return done({
    kind: 'proxy',
    version: 2,
    family: ip.family,
    source: {
      address: formatBytes(body.subarray(0, size), ip.family),
      port: body.readUInt16BE(size * 2),
    },
    destination: {
      address: formatBytes(body.subarray(size, size * 2), ip.family),
      port: body.readUInt16BE(size * 2 + 2),
    },
  });
}

/**
 * TLVs (from `start` to the end of `header`) are skipped, but they must tile the rest of the
 * length exactly: a TLV running past the declared length means the sender and we disagree about
 * where SMTP starts. A PP2_TYPE_CRC32C TLV "MUST be verified" (proxy-protocol.txt §2.2.5): a
 * header damaged on the way must not name a client.
 */
function checkTlvs(header: Buffer, start: number): string | null {
  let offset = start;
  while (offset < header.length) {
    if (header.length - offset < TLV_HEADER_BYTES) return 'v2 header ends inside a TLV header';
    const type = header[offset] ?? 0;
    const valueBytes = header.readUInt16BE(offset + 1);
    const valueAt = offset + TLV_HEADER_BYTES;
    if (valueAt + valueBytes > header.length) {
      return `v2 TLV of type 0x${type.toString(16)} runs past the header length`;
    }
    if (type === TLV_CRC32C) {
      if (valueBytes !== 4) return `v2 CRC32C TLV has ${valueBytes} bytes, not 4`;
      if (!checksumMatches(header, valueAt)) return 'v2 header fails its CRC32C checksum';
    }
    offset = valueAt + valueBytes;
  }
  return null;
}

function checksumMatches(header: Buffer, valueAt: number): boolean {
  const sent = header.readUInt32BE(valueAt);
  const zeroed = Buffer.from(header);
  zeroed.writeUInt32BE(0, valueAt);
  return crc32c(zeroed) === sent;
}

function formatBytes(bytes: Buffer, family: 'ipv4' | 'ipv6'): string {
  if (family === 'ipv4') return bytes.join('.');
  const groups: string[] = [];
  for (let offset = 0; offset < 16; offset += 2) {
    groups.push(bytes.readUInt16BE(offset).toString(16));
  }
  return canonical(groups.join(':'), 'ipv6');
}

/**
 * The form Node itself reports for socket addresses (libuv inet_ntop, RFC 5952), so a proxied
 * client address compares equal to the same client connecting directly.
 */
function canonical(address: string, family: 'ipv4' | 'ipv6'): string {
  return new SocketAddress({ address, family }).address;
}
