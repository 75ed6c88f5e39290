// CRC-32C (Castagnoli, RFC 3720 appendix B.4), the checksum a PROXY protocol v2 header may carry.
// Node's zlib.crc32 is the other CRC-32 (IEEE 802.3), so this one is computed here: headers are
// at most a few hundred bytes, and a table-driven loop over them costs microseconds.

/** The reflected Castagnoli polynomial. */
const POLYNOMIAL = 0x82f63b78;

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ POLYNOMIAL : crc >>> 1;
    table[byte] = crc >>> 0;
  }
  return table;
})();

/** The CRC-32C of `bytes`, as an unsigned 32-bit number (of "123456789": 0xe3069283). */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
