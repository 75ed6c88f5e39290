// PROXY protocol v1 and v2 headers as a load balancer sends them (haproxy doc/proxy-protocol.txt), for tests.
import { isIPv4 } from 'node:net';

export interface ProxyAddresses {
  readonly source: string;
  readonly sourcePort: number;
  readonly destination: string;
  readonly destinationPort: number;
}

/** `PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n` (TCP6 for IPv6 addresses). */
export function proxyV1(a: ProxyAddresses): Buffer {
  const family = isIPv4(a.source) ? 'TCP4' : 'TCP6';
  return Buffer.from(
    `PROXY ${family} ${a.source} ${a.destination} ${a.sourcePort} ${a.destinationPort}\r\n`,
    'latin1',
  );
}

/** `PROXY UNKNOWN\r\n`: the proxy's own connection, such as a health check. */
export const PROXY_V1_UNKNOWN = Buffer.from('PROXY UNKNOWN\r\n', 'latin1');

export const V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);

/** A v2 PROXY (command 0x1) header over TCP, with optional TLVs after the addresses. */
export function proxyV2(a: ProxyAddresses, tlvs: Buffer = Buffer.alloc(0)): Buffer {
  const v4 = isIPv4(a.source);
  const addresses = Buffer.concat([
    addressBytes(a.source, v4),
    addressBytes(a.destination, v4),
    port(a.sourcePort),
    port(a.destinationPort),
  ]);
  return v2Header(0x21, v4 ? 0x11 : 0x21, Buffer.concat([addresses, tlvs]));
}

/** A v2 LOCAL header (command 0x0), AF_UNSPEC: a health check from the proxy itself. */
export function proxyV2Local(): Buffer {
  return v2Header(0x20, 0x00, Buffer.alloc(0));
}

export function v2Header(versionCommand: number, familyProtocol: number, body: Buffer): Buffer {
  const fixed = Buffer.alloc(4);
  fixed[0] = versionCommand;
  fixed[1] = familyProtocol;
  fixed.writeUInt16BE(body.length, 2);
  return Buffer.concat([V2_SIGNATURE, fixed, body]);
}

function addressBytes(address: string, v4: boolean): Buffer {
  if (v4) return Buffer.from(address.split('.').map(Number));
  // Hexadecimal groups only (no dotted IPv4 tail): enough for the tests' addresses.
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined
      ? left
      : [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const bytes = Buffer.alloc(16);
  for (const [index, group] of groups.entries()) {
    bytes.writeUInt16BE(Number.parseInt(group, 16), index * 2);
  }
  return bytes;
}

function port(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(value);
  return bytes;
}
