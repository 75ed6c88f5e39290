// Builds the benchmark's test messages, ready to send after 354: dot-stuffed, with the terminator.
import { dotStuff } from '../helpers/dot-stuff.ts';
import { MAIL_FROM, RCPT_TO } from './constants.ts';

export interface TestMessage {
  /** The message as the client means it (what the function should receive after the Received header). */
  readonly sizeBytes: number;
  /** Dot-stuffed, with the `.` CRLF terminator: the exact bytes to write after `354`. */
  readonly wire: Buffer;
}

const LINE = 'The quick brown fox jumps over the lazy dog; pack my box with five dozen jugs.';
/** Above this size a message is mostly an attachment, as large mail is. */
const TEXT_ONLY_MAX_BYTES = 256 * 1024;
const BOUNDARY = 'mxhook-bench-boundary';

/**
 * A message of about `sizeBytes` bytes. Up to 256 KiB: plain text in 78-character lines, one line
 * in 16 starting with a dot, so the transfer exercises dot-stuffing as text does. Larger: a short
 * text part with such lines, then a base64 attachment (76-character lines, RFC 2045 §6.8) that
 * makes up the size — the shape of real large mail, whose bulk never starts a line with a dot.
 * `sign` adds a signature field to the message (its size is then the signed message's).
 */
export function testMessage(sizeBytes: number, sign?: (message: string) => string): TestMessage {
  const multipart = sizeBytes > TEXT_ONLY_MAX_BYTES;
  const header = [
    `From: Load Generator <${MAIL_FROM}>`,
    `To: <${RCPT_TO}>`,
    'Subject: mxhook benchmark message',
    'Date: Thu, 01 Jan 2026 00:00:00 +0000',
    `Message-ID: <bench-${sizeBytes}@client.bench.test>`,
    'MIME-Version: 1.0',
    multipart
      ? `Content-Type: multipart/mixed; boundary="${BOUNDARY}"`
      : 'Content-Type: text/plain; charset=utf-8',
    '',
    '',
  ].join('\r\n');
  const text = multipart
    ? `${header}${attachmentBody(sizeBytes - header.length)}`
    : `${header}${textLines(sizeBytes - header.length)}`;
  // `sign` (auth.ts) puts a DKIM-Signature on top of the finished message.
  const bytes = Buffer.from(sign === undefined ? text : sign(text), 'utf8');
  return { sizeBytes: bytes.length, wire: dotStuff(bytes) };
}

function textLines(sizeBytes: number): string {
  const lines: string[] = [];
  for (let i = 0, length = 0; length < sizeBytes; i++) {
    const line = i % 16 === 15 ? `.${LINE.slice(1)}` : LINE;
    lines.push(line);
    length += line.length + 2;
  }
  return `${lines.join('\r\n')}\r\n`;
}

function attachmentBody(sizeBytes: number): string {
  const intro = [
    `--${BOUNDARY}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    textLines(4096),
    `--${BOUNDARY}`,
    'Content-Type: application/octet-stream; name="data.bin"',
    'Content-Disposition: attachment; filename="data.bin"',
    'Content-Transfer-Encoding: base64',
    '',
    '',
  ].join('\r\n');
  const closing = `\r\n--${BOUNDARY}--\r\n`;
  const base64Chars = Math.max(0, sizeBytes - intro.length - closing.length);
  const lineCount = Math.ceil(base64Chars / 78);
  // Random-looking content, so nothing along the way gets an easy ride from repetition.
  const data = Buffer.alloc(Math.ceil((lineCount * 76 * 3) / 4));
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
  const encoded = data.toString('base64');
  const lines: string[] = [];
  for (let at = 0; at < lineCount * 76; at += 76) lines.push(encoded.slice(at, at + 76));
  return `${intro}${lines.join('\r\n')}${closing}`;
}
