// PROXY protocol v1/v2 header decoding: table cases whole and byte by byte, limits, and properties.
import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../../../gateway/net/crc32c.ts';
import {
  type ProxyDecodeResult,
  ProxyHeaderDecoder,
} from '../../../../gateway/net/proxy-protocol.ts';

const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const SMTP = Buffer.from('EHLO client.example\r\n', 'latin1');

function text(value: string): Buffer {
  return Buffer.from(value, 'latin1');
}

/** A v2 header: signature, ver/cmd, fam/proto, then `body` with its length (or a forced one). */
function v2(versionCommand: number, familyProtocol: number, body: Buffer, length = body.length) {
  const fixed = Buffer.alloc(4);
  fixed[0] = versionCommand;
  fixed[1] = familyProtocol;
  fixed.writeUInt16BE(length, 2);
  return Buffer.concat([SIGNATURE, fixed, body]);
}

function ports(source: number, destination: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt16BE(source, 0);
  bytes.writeUInt16BE(destination, 2);
  return bytes;
}

function tlv(type: number, value: Buffer): Buffer {
  const head = Buffer.alloc(3);
  head[0] = type;
  head.writeUInt16BE(value.length, 1);
  return Buffer.concat([head, value]);
}

const IPV4_BLOCK = Buffer.concat([
  Buffer.from([192, 0, 2, 1]),
  Buffer.from([198, 51, 100, 2]),
  ports(56324, 25),
]);
const IPV6_BLOCK = Buffer.concat([
  Buffer.from('20010db8000000000000000000000001', 'hex'),
  Buffer.from('20010db8000000000000000000000002', 'hex'),
  ports(443, 2525),
]);
const TLVS = Buffer.concat([
  tlv(0x01, text('smtp')), // PP2_TYPE_ALPN
  tlv(0x02, text('mx.example')), // PP2_TYPE_AUTHORITY
  tlv(0xea, Buffer.concat([Buffer.from([0x01]), text('vpce-08d2bf15fac5001c9')])), // AWS VPC endpoint
  tlv(0x04, Buffer.alloc(0)), // PP2_TYPE_NOOP
]);

/** A v2 PROXY header over IPv4 with TLVs and a PP2_TYPE_CRC32C, as HAProxy's `send-proxy-v2-crc`. */
function v2WithChecksum(): Buffer {
  const header = v2(0x21, 0x11, Buffer.concat([IPV4_BLOCK, TLVS, tlv(0x03, Buffer.alloc(4))]));
  header.writeUInt32BE(crc32c(header), header.length - 4);
  return header;
}

/** `bytes` with the byte at `index` changed. */
function corrupted(bytes: Buffer, index: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
}

function decodeChunks(chunks: readonly Buffer[]): ProxyDecodeResult {
  const decoder = new ProxyHeaderDecoder();
  let verdict: ProxyDecodeResult = { status: 'incomplete' };
  const rest: Buffer[] = [];
  for (const chunk of chunks) {
    const result = decoder.push(chunk);
    if (verdict.status === 'incomplete') {
      verdict = result;
      if (result.status === 'done') rest.push(result.rest);
    } else if (verdict.status === 'done') {
      expect(result.status).toBe('done');
      if (result.status === 'done') rest.push(result.rest);
    }
  }
  return verdict.status === 'done' ? { ...verdict, rest: Buffer.concat(rest) } : verdict;
}

function decodeWhole(bytes: Buffer): ProxyDecodeResult {
  return decodeChunks([bytes]);
}

function decodeBytewise(bytes: Buffer): ProxyDecodeResult {
  return decodeChunks([...bytes].map((byte) => Buffer.from([byte])));
}

function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

const done = (header: unknown, rest: Buffer = SMTP) => ({ status: 'done', header, rest });
const invalid = (reason: string) => ({ status: 'invalid', reason });

const UNKNOWN_107 = `PROXY UNKNOWN ${'x'.repeat(91)}\r\n`;
const UNKNOWN_108 = `PROXY UNKNOWN ${'x'.repeat(92)}\r\n`;

/** What a v2 PROXY header over IPv4 with IPV4_BLOCK decodes to. */
const V2_FROM_IPV4_BLOCK = {
  kind: 'proxy',
  version: 2,
  family: 'ipv4',
  source: { address: '192.0.2.1', port: 56324 },
  destination: { address: '198.51.100.2', port: 25 },
};

const cases: [name: string, input: Buffer, expected: unknown][] = [
  [
    'v1 TCP4',
    Buffer.concat([text('PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n'), SMTP]),
    done({
      kind: 'proxy',
      version: 1,
      family: 'ipv4',
      source: { address: '192.0.2.1', port: 56324 },
      destination: { address: '198.51.100.2', port: 25 },
    }),
  ],
  [
    'v1 TCP6, addresses in canonical form',
    Buffer.concat([text('PROXY TCP6 2001:DB8:0:0::0001 2001:db8::2 65535 0\r\n'), SMTP]),
    done({
      kind: 'proxy',
      version: 1,
      family: 'ipv6',
      source: { address: '2001:db8::1', port: 65535 },
      destination: { address: '2001:db8::2', port: 0 },
    }),
  ],
  [
    'v1 TCP6 with an IPv4-mapped client',
    text('PROXY TCP6 ::ffff:192.0.2.1 ::ffff:198.51.100.2 1024 25\r\n'),
    done(
      {
        kind: 'proxy',
        version: 1,
        family: 'ipv6',
        source: { address: '::ffff:192.0.2.1', port: 1024 },
        destination: { address: '::ffff:198.51.100.2', port: 25 },
      },
      Buffer.alloc(0),
    ),
  ],
  [
    'v1 UNKNOWN',
    Buffer.concat([text('PROXY UNKNOWN\r\n'), SMTP]),
    done({ kind: 'local', version: 1 }),
  ],
  [
    'v1 UNKNOWN ignores the rest of its line',
    Buffer.concat([text('PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n'), SMTP]),
    done({ kind: 'local', version: 1 }),
  ],
  [
    'v1 header of exactly 107 bytes',
    Buffer.concat([text(UNKNOWN_107), SMTP]),
    done({ kind: 'local', version: 1 }),
  ],
  [
    'v2 PROXY over IPv4',
    Buffer.concat([v2(0x21, 0x11, IPV4_BLOCK), SMTP]),
    done(V2_FROM_IPV4_BLOCK),
  ],
  [
    'v2 PROXY over IPv4 with TLVs',
    Buffer.concat([v2(0x21, 0x11, Buffer.concat([IPV4_BLOCK, TLVS])), SMTP]),
    done(V2_FROM_IPV4_BLOCK),
  ],
  [
    'v2 PROXY over IPv4 with a matching CRC32C',
    Buffer.concat([v2WithChecksum(), SMTP]),
    done(V2_FROM_IPV4_BLOCK),
  ],
  [
    'v2 PROXY over IPv6 with TLVs',
    Buffer.concat([v2(0x21, 0x21, Buffer.concat([IPV6_BLOCK, TLVS])), SMTP]),
    done({
      kind: 'proxy',
      version: 2,
      family: 'ipv6',
      source: { address: '2001:db8::1', port: 443 },
      destination: { address: '2001:db8::2', port: 2525 },
    }),
  ],
  [
    'v2 PROXY over IPv6 from an IPv4-mapped client',
    v2(
      0x21,
      0x21,
      Buffer.concat([
        Buffer.from('00000000000000000000ffffc0000201', 'hex'),
        Buffer.from('00000000000000000000000000000001', 'hex'),
        ports(40000, 25),
      ]),
    ),
    done(
      {
        kind: 'proxy',
        version: 2,
        family: 'ipv6',
        source: { address: '::ffff:192.0.2.1', port: 40000 },
        destination: { address: '::1', port: 25 },
      },
      Buffer.alloc(0),
    ),
  ],
  [
    'v2 LOCAL (health check)',
    Buffer.concat([v2(0x20, 0x00, Buffer.alloc(0)), SMTP]),
    done({ kind: 'local', version: 2 }),
  ],
  [
    'v2 LOCAL skips whatever address block it carries',
    Buffer.concat([v2(0x20, 0x11, Buffer.concat([IPV4_BLOCK, Buffer.from([1, 2])])), SMTP]),
    done({ kind: 'local', version: 2 }),
  ],
  [
    'v2 PROXY with AF_UNSPEC keeps the real addresses',
    Buffer.concat([v2(0x21, 0x00, Buffer.alloc(0)), SMTP]),
    done({ kind: 'local', version: 2 }),
  ],
  [
    'v2 PROXY with AF_UNIX keeps the real addresses',
    Buffer.concat([v2(0x21, 0x31, Buffer.alloc(216)), SMTP]),
    done({ kind: 'local', version: 2 }),
  ],
  [
    'v2 PROXY with an unspecified transport keeps the real addresses',
    Buffer.concat([v2(0x21, 0x10, IPV4_BLOCK), SMTP]),
    done({ kind: 'local', version: 2 }),
  ],
  [
    'plain SMTP from a proxy that should have sent a header',
    SMTP,
    invalid('the connection does not start with a PROXY protocol header'),
  ],
  [
    'an HTTP request',
    text('GET / HTTP/1.1\r\n\r\n'),
    invalid('the connection does not start with a PROXY protocol header'),
  ],
  [
    'v1 with a bad signature',
    text('PROXZ TCP4 1.2.3.4 5.6.7.8 1 2\r\n'),
    invalid('bad v1 signature (expected "PROXY ")'),
  ],
  [
    'v1 "PROXY" without its space',
    text('PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n'),
    invalid('bad v1 signature (expected "PROXY ")'),
  ],
  [
    'v1 ending in a bare LF',
    text('PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\n'),
    invalid('v1 header line does not end in CRLF'),
  ],
  [
    'v1 with a CR inside the line',
    text('PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\r\n'),
    invalid('v1 header line contains a CR before its end'),
  ],
  ['v1 line of 108 bytes', text(UNKNOWN_108), invalid('v1 header has no CRLF within 107 bytes')],
  [
    'v1 without any CRLF',
    text(`PROXY TCP4 ${'1'.repeat(200)}`),
    invalid('v1 header has no CRLF within 107 bytes'),
  ],
  [
    'v1 with an unknown protocol',
    text('PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n'),
    invalid('v1 protocol must be TCP4, TCP6 or UNKNOWN, not "TCP5"'),
  ],
  [
    'v1 with a lower-case protocol',
    text('PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n'),
    invalid('v1 protocol must be TCP4, TCP6 or UNKNOWN, not "tcp4"'),
  ],
  [
    'v1 with nothing after PROXY',
    text('PROXY \r\n'),
    invalid('v1 protocol must be TCP4, TCP6 or UNKNOWN, not ""'),
  ],
  [
    'v1 missing a port',
    text('PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n'),
    invalid('v1 header must have exactly 5 fields after PROXY, separated by single spaces'),
  ],
  [
    'v1 with a double space',
    text('PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n'),
    invalid('v1 header must have exactly 5 fields after PROXY, separated by single spaces'),
  ],
  [
    'v1 with a trailing space',
    text('PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n'),
    invalid('v1 header must have exactly 5 fields after PROXY, separated by single spaces'),
  ],
  [
    'v1 TCP4 with an IPv6 address',
    text('PROXY TCP4 2001:db8::1 5.6.7.8 1 2\r\n'),
    invalid('v1 TCP4 address "2001:db8::1" is not a valid IPv4 address'),
  ],
  [
    'v1 TCP6 with an IPv4 address',
    text('PROXY TCP6 2001:db8::1 5.6.7.8 1 2\r\n'),
    invalid('v1 TCP6 address "5.6.7.8" is not a valid IPv6 address'),
  ],
  [
    'v1 with an octet over 255',
    text('PROXY TCP4 192.0.2.256 5.6.7.8 1 2\r\n'),
    invalid('v1 TCP4 address "192.0.2.256" is not a valid IPv4 address'),
  ],
  [
    'v1 with a zone index',
    text('PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n'),
    invalid('v1 TCP6 address "fe80::1%eth0" is not a valid IPv6 address'),
  ],
  [
    'v1 with a port over 65535',
    text('PROXY TCP4 1.2.3.4 5.6.7.8 65536 25\r\n'),
    invalid('v1 port "65536" is not a number from 0 to 65535'),
  ],
  [
    'v1 with a leading zero in a port',
    text('PROXY TCP4 1.2.3.4 5.6.7.8 1 025\r\n'),
    invalid('v1 port "025" is not a number from 0 to 65535'),
  ],
  [
    'v1 with a negative port',
    text('PROXY TCP4 1.2.3.4 5.6.7.8 -1 25\r\n'),
    invalid('v1 port "-1" is not a number from 0 to 65535'),
  ],
  [
    'v2 with a bad signature',
    Buffer.concat([text('\r\n\r\n\0\r\nQUIX\n'), Buffer.from([0x21, 0x11, 0, 12]), IPV4_BLOCK]),
    invalid('bad v2 signature'),
  ],
  ['a lone CRLF', text('\r\nEHLO x\r\n'), invalid('bad v2 signature')],
  ['v2 version 1', v2(0x11, 0x11, IPV4_BLOCK), invalid('v2 version must be 2, not 1')],
  ['v2 version 3', v2(0x31, 0x11, IPV4_BLOCK), invalid('v2 version must be 2, not 3')],
  [
    'v2 command 2',
    v2(0x22, 0x11, IPV4_BLOCK),
    invalid('v2 command 0x2 is neither LOCAL nor PROXY'),
  ],
  [
    'v2 address family 4',
    v2(0x21, 0x41, IPV4_BLOCK),
    invalid('v2 address family 0x4 is not defined'),
  ],
  [
    'v2 transport protocol 3',
    v2(0x21, 0x13, IPV4_BLOCK),
    invalid('v2 transport protocol 0x3 is not defined'),
  ],
  [
    'v2 LOCAL with an undefined family',
    v2(0x20, 0xf0, Buffer.alloc(0)),
    invalid('v2 address family 0xf is not defined'),
  ],
  [
    'v2 over UDP',
    v2(0x21, 0x12, IPV4_BLOCK),
    invalid('v2 header announces a datagram (UDP) connection; SMTP needs a stream'),
  ],
  [
    'v2 IPv4 with too short a length',
    v2(0x21, 0x11, IPV4_BLOCK.subarray(0, 8)),
    invalid('v2 length 8 is too short for the IPv4 address block'),
  ],
  [
    'v2 IPv6 with an IPv4-sized block',
    v2(0x21, 0x21, IPV4_BLOCK),
    invalid('v2 length 12 is too short for the IPv6 address block'),
  ],
  [
    'v2 with a TLV running past the length',
    v2(0x21, 0x11, Buffer.concat([IPV4_BLOCK, Buffer.from([0x01, 0x00, 0x0a, 0x61, 0x62])])),
    invalid('v2 TLV of type 0x1 runs past the header length'),
  ],
  [
    'v2 ending inside a TLV header',
    v2(0x21, 0x11, Buffer.concat([IPV4_BLOCK, Buffer.from([0x04, 0x00])])),
    invalid('v2 header ends inside a TLV header'),
  ],
  [
    'v2 with a CRC32C that does not match (one address bit flipped)',
    Buffer.concat([corrupted(v2WithChecksum(), 16), SMTP]),
    invalid('v2 header fails its CRC32C checksum'),
  ],
  [
    'v2 with a CRC32C TLV that is not 4 bytes',
    v2(0x21, 0x11, Buffer.concat([IPV4_BLOCK, tlv(0x03, Buffer.alloc(2))])),
    invalid('v2 CRC32C TLV has 2 bytes, not 4'),
  ],
  [
    'v2 longer than the limit',
    v2(0x21, 0x11, Buffer.alloc(0), 5000),
    invalid('v2 header of 5016 bytes is over the limit of 4096'),
  ],
];

describe('ProxyHeaderDecoder', () => {
  it.each(cases)('%s: whole', (_name, input, expected) => {
    expect(decodeWhole(input)).toEqual(expected);
  });

  it.each(cases)('%s: one byte at a time', (_name, input, expected) => {
    expect(decodeBytewise(input)).toEqual(expected);
  });

  it('reports incomplete until the v1 CRLF arrives', () => {
    const decoder = new ProxyHeaderDecoder();
    expect(decoder.push(text('PROXY TCP4 192.0.2.1 '))).toEqual({ status: 'incomplete' });
    expect(decoder.push(text('198.51.100.2 56324 25\r'))).toEqual({ status: 'incomplete' });
    const result = decoder.push(text('\nEHLO'));
    expect(result.status).toBe('done');
    expect(result.status === 'done' && result.rest.toString('latin1')).toBe('EHLO');
  });

  it('reports incomplete while a v2 header is still arriving, however long it announces', () => {
    const decoder = new ProxyHeaderDecoder();
    const header = v2(0x21, 0x11, Buffer.concat([IPV4_BLOCK, tlv(0x04, Buffer.alloc(3000))]));
    expect(decoder.push(header.subarray(0, 2000))).toEqual({ status: 'incomplete' });
    expect(decoder.push(header.subarray(2000))).toMatchObject({
      status: 'done',
      rest: Buffer.alloc(0),
    });
  });

  it('refuses a v1 header on the byte that makes it longer than 107 without CRLF', () => {
    const decoder = new ProxyHeaderDecoder();
    const bytes = text(`PROXY ${'x'.repeat(200)}`);
    let verdictAt = -1;
    for (let index = 0; index < bytes.length && verdictAt === -1; index++) {
      if (decoder.push(bytes.subarray(index, index + 1)).status !== 'incomplete') verdictAt = index;
    }
    expect(verdictAt).toBe(106);
  });

  it('refuses an oversized v2 header as soon as its length field arrives', () => {
    const decoder = new ProxyHeaderDecoder();
    const header = v2(0x21, 0x11, Buffer.alloc(0), 65535);
    expect(decoder.push(header.subarray(0, 15))).toEqual({ status: 'incomplete' });
    expect(decoder.push(header.subarray(15, 16))).toEqual(
      invalid('v2 header of 65551 bytes is over the limit of 4096'),
    );
  });

  it('accepts a v2 header up to a configured limit', () => {
    const body = (size: number) => Buffer.concat([IPV4_BLOCK, tlv(0x04, Buffer.alloc(size))]);
    // 16 + 12 + 3 + 269 = 300 bytes.
    const decoder = new ProxyHeaderDecoder({ maxV2HeaderBytes: 300 });
    expect(decoder.push(v2(0x21, 0x11, body(269))).status).toBe('done');
    expect(
      new ProxyHeaderDecoder({ maxV2HeaderBytes: 300 }).push(v2(0x21, 0x11, body(270))),
    ).toEqual(invalid('v2 header of 301 bytes is over the limit of 300'));
  });

  it('refuses a limit too small for an AF_UNIX header or larger than the length field allows', () => {
    expect(() => new ProxyHeaderDecoder({ maxV2HeaderBytes: 231 })).toThrow(
      new RangeError('maxV2HeaderBytes must be a whole number from 232 to 65551'),
    );
    expect(() => new ProxyHeaderDecoder({ maxV2HeaderBytes: 65552 })).toThrow(RangeError);
  });

  it('passes later chunks straight through once done', () => {
    const decoder = new ProxyHeaderDecoder();
    const header = { kind: 'local', version: 1 };
    expect(decoder.push(text('PROXY UNKNOWN\r\nEH'))).toEqual(done(header, text('EH')));
    expect(decoder.push(text('LO x\r\n'))).toEqual(done(header, text('LO x\r\n')));
  });

  it('repeats its verdict once invalid', () => {
    const decoder = new ProxyHeaderDecoder();
    const verdict = invalid('the connection does not start with a PROXY protocol header');
    expect(decoder.push(text('HELO'))).toEqual(verdict);
    expect(decoder.push(text('PROXY UNKNOWN\r\n'))).toEqual(verdict);
  });

  it('hands back a large first chunk after the header without losing a byte', () => {
    const body = Buffer.alloc(1 << 20, 0x61);
    const result = new ProxyHeaderDecoder().push(
      Buffer.concat([text('PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n'), body]),
    );
    expect(result.status === 'done' && result.rest.equals(body)).toBe(true);
  });

  it('never throws and reaches a verdict within the header limit, whatever the bytes (property)', () => {
    const start = fc.constantFrom(
      Buffer.alloc(0),
      text('PROXY '),
      text('PROXY TCP4 '),
      text('PROXY TCP6 '),
      SIGNATURE,
      Buffer.concat([SIGNATURE, Buffer.from([0x21])]),
    );
    fc.assert(
      fc.property(
        start,
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.nat(400)),
        (head, tail, cuts) => {
          const bytes = Buffer.concat([head, tail]);
          const whole = decodeWhole(bytes);
          expect(['incomplete', 'done', 'invalid']).toContain(whole.status);
          expect(decodeChunks(splitAt(bytes, cuts))).toEqual(whole);
        },
      ),
    );
  });

  it('decodes a valid header the same however it is split (property)', () => {
    const port = fc.integer({ min: 0, max: 65535 });
    const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 });
    const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 });
    // Any TLV but PP2_TYPE_CRC32C (0x03), whose value must be the header's checksum to be valid.
    const tlvType = fc.nat(255).filter((type) => type !== 0x03);
    const tlvs = fc.array(
      fc
        .tuple(tlvType, fc.uint8Array({ maxLength: 40 }))
        .map(([type, value]) => tlv(type, Buffer.from(value))),
      { maxLength: 5 },
    );
    const v1 = fc
      .tuple(fc.boolean(), ipv4, ipv4, ipv6, ipv6, port, port)
      .map(([six, s4, d4, s6, d6, sp, dp]) => {
        const address = (bytes: Uint8Array) =>
          bytes.length === 4
            ? [...bytes].join('.')
            : Buffer.from(bytes)
                .toString('hex')
                .replace(/(.{4})(?!$)/g, '$1:');
        const line = six
          ? `PROXY TCP6 ${address(s6)} ${address(d6)} ${sp} ${dp}\r\n`
          : `PROXY TCP4 ${address(s4)} ${address(d4)} ${sp} ${dp}\r\n`;
        return { bytes: text(line), family: six ? 'ipv6' : 'ipv4', sp, dp };
      });
    const v2Header = fc
      .tuple(fc.boolean(), ipv4, ipv4, ipv6, ipv6, port, port, tlvs)
      .map(([six, s4, d4, s6, d6, sp, dp, extra]) => {
        const block = six
          ? Buffer.concat([s6, d6, ports(sp, dp), ...extra])
          : Buffer.concat([s4, d4, ports(sp, dp), ...extra]);
        return { bytes: v2(0x21, six ? 0x21 : 0x11, block), family: six ? 'ipv6' : 'ipv4', sp, dp };
      });
    fc.assert(
      fc.property(
        fc.oneof(v1, v2Header),
        fc.uint8Array({ maxLength: 64 }),
        fc.array(fc.nat(600), { maxLength: 8 }),
        (header, smtp, cuts) => {
          const bytes = Buffer.concat([header.bytes, smtp]);
          const whole = decodeWhole(bytes);
          expect(whole.status).toBe('done');
          if (whole.status !== 'done' || whole.header.kind !== 'proxy') {
            throw new Error('expected a proxy header');
          }
          expect(whole.header.family).toBe(header.family);
          expect(isIP(whole.header.source.address)).toBe(header.family === 'ipv4' ? 4 : 6);
          expect(isIP(whole.header.destination.address)).toBe(header.family === 'ipv4' ? 4 : 6);
          expect(whole.header.source.port).toBe(header.sp);
          expect(whole.header.destination.port).toBe(header.dp);
          expect(whole.rest.equals(Buffer.from(smtp))).toBe(true);
          expect(decodeChunks(splitAt(bytes, cuts))).toEqual(whole);
        },
      ),
    );
  });
});

describe('crc32c', () => {
  it('computes the CRC-32C check values (RFC 3720 appendix B.4)', () => {
    expect(crc32c(Buffer.from('123456789', 'latin1'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });
});
