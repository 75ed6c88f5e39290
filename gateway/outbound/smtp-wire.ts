// What the outbound SMTP client (smtp-client.ts) says and hears, without any I/O: replies read
// from the server's bytes (RFC 5321 §4.2), the extensions an EHLO reply announces, and a message's
// bytes as DATA sends them (dot-stuffed, §4.5.2) or as BDAT sends them (RFC 3030).
//
// Every line sent ends in CRLF and nothing else: a bare LF in a message becomes CRLF (§2.3.8), so
// no line of ours can be read as a different line by a server that takes bare LF for an ending
// (SMTP smuggling), and the same bytes go with DATA and with BDAT.
import { ORIGINAL_RECIPIENT, XTEXT } from '../smtp/xtext.ts';

/** A complete reply: its code and the text of each line, without the code and separator. */
export interface Reply {
  readonly code: number;
  readonly lines: readonly string[];
}

/** A server that talks past what any real one says: the session is ended, not buffered. */
export class MalformedReply extends Error {}

/** Longer replies than this (all lines together) end the session: a server flooding us. */
const MAX_REPLY_BYTES = 64 * 1024;
const LINE = /^([2-5]\d\d)([ -])(.*)$|^([2-5]\d\d)$/s;

/**
 * Splits the server's bytes into replies. Bytes may arrive in any pieces; `push` returns every
 * reply its bytes completed, in order.
 */
export class ReplyReader {
  #partial: Buffer | null = null;
  #lines: string[] = [];
  #code = 0;
  #bytes = 0;

  push(chunk: Buffer): Reply[] {
    const replies: Reply[] = [];
    let data = this.#partial === null ? chunk : Buffer.concat([this.#partial, chunk]);
    this.#partial = null;
    let start = 0;
    for (let end = data.indexOf(0x0a); end !== -1; end = data.indexOf(0x0a, start)) {
      const lineEnd = end > start && data[end - 1] === 0x0d ? end - 1 : end;
      const reply = this.#line(data.toString('utf8', start, lineEnd), end + 1 - start);
      if (reply !== null) replies.push(reply);
      start = end + 1;
    }
    if (start < data.length) {
      data = data.subarray(start);
      if (this.#bytes + data.length > MAX_REPLY_BYTES) throw tooLong();
      this.#partial = Buffer.from(data);
    }
    return replies;
  }

  /** Whether bytes of a reply not yet complete are waiting (after STARTTLS's 220, an attack). */
  get pending(): boolean {
    return this.#partial !== null || this.#lines.length > 0;
  }

  #line(line: string, bytes: number): Reply | null {
    this.#bytes += bytes;
    if (this.#bytes > MAX_REPLY_BYTES) throw tooLong();
    const match = LINE.exec(line);
    if (match === null) {
      throw new MalformedReply(`malformed reply line ${JSON.stringify(line.slice(0, 80))}`);
    }
    const code = Number(match[1] ?? match[4]);
    // A continuation keeps the first line's code; a server that changes it mid-reply is wrong,
    // but its first code is the one it meant.
    if (this.#lines.length === 0) this.#code = code;
    this.#lines.push(match[3] ?? '');
    if (match[2] === '-') return null;
    const reply = { code: this.#code, lines: this.#lines };
    this.#lines = [];
    this.#bytes = 0;
    return reply;
  }
}

function tooLong(): MalformedReply {
  return new MalformedReply(`reply longer than ${MAX_REPLY_BYTES} bytes`);
}

/**
 * A reply as one line: the code, then every line's text, the enhanced code said once
 * (`550-5.1.1 No such\n550 5.1.1 user` → `550 5.1.1 No such user`).
 */
export function replyText({ code, lines }: Reply): string {
  const text = lines
    .map((line, index) => (index === 0 ? line : line.replace(/^\d\.\d{1,3}\.\d{1,3} /, '')))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text === '' ? String(code) : `${code} ${text}`;
}

/** What an EHLO reply announces: extension keywords (upper case) and the SIZE limit (0: none). */
export interface Extensions {
  readonly keywords: ReadonlySet<string>;
  readonly sizeLimit: number;
}

export const NO_EXTENSIONS: Extensions = { keywords: new Set(), sizeLimit: 0 };

export function extensionsOf(ehlo: Reply): Extensions {
  const keywords = new Set<string>();
  let sizeLimit = 0;
  // The first line is the greeting of the server's name.
  for (const line of ehlo.lines.slice(1)) {
    const [keyword = '', value] = line.trim().toUpperCase().split(/\s+/);
    if (keyword === '') continue;
    keywords.add(keyword);
    if (keyword === 'SIZE' && value !== undefined && /^\d+$/.test(value)) sizeLimit = Number(value);
  }
  return { keywords, sizeLimit };
}

/** MAIL's parameters, as the server announced them; ENVID is already xtext, as the queue keeps it. */
export interface MailParameters {
  readonly size?: number;
  readonly eightBit?: boolean;
  readonly smtputf8?: boolean;
  readonly ret?: 'FULL' | 'HDRS';
  readonly envid?: string;
}

export function mailCommand(sender: string, params: MailParameters): string {
  let command = `MAIL FROM:<${sender}>`;
  if (params.size !== undefined) command += ` SIZE=${params.size}`;
  if (params.eightBit === true) command += ' BODY=8BITMIME';
  if (params.smtputf8 === true) command += ' SMTPUTF8';
  if (params.ret !== undefined) command += ` RET=${params.ret}`;
  // A value that is not xtext is left out rather than sent: it could carry other parameters.
  if (params.envid !== undefined && XTEXT.test(params.envid)) command += ` ENVID=${params.envid}`;
  return `${command}\r\n`;
}

/** RCPT's DSN parameters; ORCPT is `addr-type;xtext`, as the queue keeps it. */
export interface RecipientParameters {
  readonly notify?: readonly string[];
  readonly orcpt?: string;
}

export function rcptCommand(address: string, params: RecipientParameters): string {
  let command = `RCPT TO:<${address}>`;
  if (params.notify !== undefined && params.notify.length > 0) {
    command += ` NOTIFY=${params.notify.map((value) => value.toUpperCase()).join(',')}`;
  }
  if (params.orcpt !== undefined && ORIGINAL_RECIPIENT.test(params.orcpt))
    command += ` ORCPT=${params.orcpt}`;
  return `${command}\r\n`;
}

/** Whether an address can go on a command line at all: no line break, no angle bracket. */
export function isSendableAddress(address: string): boolean {
  return !/[\r\n<>]/.test(address);
}

const CRLF = Buffer.from('\r\n');
const DOT = Buffer.from('.');
const CR = Buffer.from('\r');
const END_OF_DATA = Buffer.from('.\r\n');

/**
 * A message's bytes as they go on the wire, in pieces that share the message's memory: every bare
 * LF made CRLF, the message ended with CRLF, and for DATA (`dotStuffing`) a period doubled at the
 * start of each line and the end marker added.
 */
export function wireBytes(pieces: readonly Buffer[], dotStuffing: boolean): Buffer[] {
  const out: Buffer[] = [];
  let lineStart = true;
  let previous = -1;
  for (const piece of pieces) {
    if (piece.length === 0) continue;
    let from = 0;
    if (dotStuffing && lineStart && piece[0] === 0x2e) out.push(DOT);
    for (let lf = piece.indexOf(0x0a); lf !== -1; lf = piece.indexOf(0x0a, lf + 1)) {
      const before = lf > 0 ? piece[lf - 1] : previous;
      if (before !== 0x0d) {
        if (lf > from) out.push(piece.subarray(from, lf));
        out.push(CR);
        from = lf;
      }
      if (dotStuffing && lf + 1 < piece.length && piece[lf + 1] === 0x2e) {
        out.push(piece.subarray(from, lf + 1), DOT);
        from = lf + 1;
      }
    }
    out.push(from === 0 ? piece : piece.subarray(from));
    previous = piece[piece.length - 1] as number;
    lineStart = previous === 0x0a;
  }
  // Every LF sent has its CR by now: a message that ended with LF ends with CRLF.
  if (previous !== -1 && previous !== 0x0a) out.push(CRLF);
  if (dotStuffing) out.push(END_OF_DATA);
  return out;
}
