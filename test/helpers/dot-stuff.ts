// The exact bytes a test client sends after `354` for a message: the DATA decoder's inverse.
//
// What it sends is always well-formed SMTP, so it can be given to any server, not only ours:
// - every bare LF (an LF not preceded by CR) is sent as CRLF, because lines end with CRLF only
//   (RFC 5321 §2.3.8) and a bare LF next to a dot is what SMTP smuggling is made of;
// - a line (delimited by CRLF) that starts with `.` gets one more `.` (RFC 5321 §4.5.2);
// - a non-empty message that does not end with CRLF gets one, so the terminator starts a line;
// - the terminator `.` CRLF is appended (RFC 5321 §4.1.1.4). An empty message is sent as `.` CRLF.
// A bare CR is sent as it is. Decoding the result gives back the message with bare LFs turned into
// CRLF and the final CRLF added, under either bare-LF policy of the decoder.

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CR_BYTES = Buffer.from([CR]);
const DOT_BYTES = Buffer.from([DOT]);
const CRLF_BYTES = Buffer.from([CR, LF]);
const TERMINATOR_BYTES = Buffer.from([DOT, CR, LF]);

export function dotStuff(message: Buffer): Buffer {
  const parts: Buffer[] = [];
  const length = message.length;
  // Only bytes that change the message split it; everything between is copied once, by concat.
  let partStart = 0;
  let lineStart = 0;
  while (lineStart < length) {
    if (message[lineStart] === DOT) {
      parts.push(message.subarray(partStart, lineStart), DOT_BYTES);
      partStart = lineStart;
    }
    const lf = message.indexOf(LF, lineStart);
    if (lf === -1) break;
    if (lf === 0 || message[lf - 1] !== CR) {
      parts.push(message.subarray(partStart, lf), CR_BYTES);
      partStart = lf;
    }
    lineStart = lf + 1;
  }
  parts.push(message.subarray(partStart));
  // Every LF was sent as CRLF, so the message ends with CRLF exactly when its last byte is LF.
  if (length > 0 && message[length - 1] !== LF) parts.push(CRLF_BYTES);
  parts.push(TERMINATOR_BYTES);
  return Buffer.concat(parts);
}
