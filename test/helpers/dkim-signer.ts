// A DKIM signer of our own (RFC 6376, and RFC 8463 for Ed25519), written on node:crypto alone.
// The gateway verifies with mailauth; signing test messages with mailauth too would let one
// misreading of the RFC pass both ways unnoticed, so the tests sign with this instead.
import { createHash, type KeyObject, sign } from 'node:crypto';

export type DkimCanonicalization =
  | 'relaxed/relaxed'
  | 'simple/simple'
  | 'relaxed/simple'
  | 'simple/relaxed';

export interface DkimSignOptions {
  /** d= */
  readonly domain: string;
  /** s= */
  readonly selector: string;
  /** RSA (a=rsa-sha256) or Ed25519 (a=ed25519-sha256). */
  readonly privateKey: KeyObject;
  /**
   * h=, lower-case names. Each name takes the next instance of that field from the bottom
   * (RFC 6376 §5.4.2); listing a name more often than it occurs signs its absence (oversigning).
   */
  readonly headers?: readonly string[];
  /** c=, `header/body`; relaxed/relaxed when absent. */
  readonly canonicalization?: DkimCanonicalization;
  /** l=: only this many octets of the canonicalized body are signed. */
  readonly bodyLength?: number;
  /** t=; now when absent. */
  readonly signedAt?: Date;
  /** x=; none when absent. */
  readonly expiresAt?: Date;
  /** i=; none when absent. */
  readonly identity?: string;
}

export const DEFAULT_SIGNED_HEADERS: readonly string[] = [
  'from',
  'to',
  'subject',
  'date',
  'message-id',
];

interface HeaderField {
  /** Lower-case, without surrounding whitespace. */
  readonly name: string;
  /** The field as it stands in the message, continuation lines included, with its final CRLF. */
  readonly raw: string;
}

/**
 * The message (line endings made CRLF) with a DKIM-Signature field prepended. The message is
 * handled as UTF-8 text: what is signed is exactly the UTF-8 of the string returned.
 */
export function signDkim(message: Buffer | string, options: DkimSignOptions): string {
  const text = (typeof message === 'string' ? message : message.toString('utf8')).replace(
    /\r\n|\r|\n/g,
    '\r\n',
  );
  const [headerCanon = 'relaxed', bodyCanon = 'relaxed'] = (
    options.canonicalization ?? 'relaxed/relaxed'
  ).split('/') as ('simple' | 'relaxed')[];
  const { fields, body } = splitMessage(text);

  let canonicalBody = Buffer.from(
    bodyCanon === 'simple' ? simpleBody(body) : relaxedBody(body),
    'utf8',
  );
  if (options.bodyLength !== undefined) {
    if (options.bodyLength > canonicalBody.length) {
      throw new RangeError(`l=${options.bodyLength} is past the body (${canonicalBody.length})`);
    }
    canonicalBody = canonicalBody.subarray(0, options.bodyLength);
  }
  const bodyHash = createHash('sha256').update(canonicalBody).digest('base64');

  const algorithm = algorithmOf(options.privateKey);
  const names = (options.headers ?? DEFAULT_SIGNED_HEADERS).map((name) => name.toLowerCase());
  const tags: string[] = [
    'v=1',
    `a=${algorithm}`,
    `c=${headerCanon}/${bodyCanon}`,
    `d=${options.domain}`,
    `s=${options.selector}`,
    `t=${seconds(options.signedAt ?? new Date())}`,
  ];
  if (options.expiresAt !== undefined) tags.push(`x=${seconds(options.expiresAt)}`);
  if (options.bodyLength !== undefined) tags.push(`l=${options.bodyLength}`);
  if (options.identity !== undefined) tags.push(`i=${options.identity}`);
  tags.push(foldedHeaderList(names), `bh=${bodyHash}`);
  // b= comes last, so the field signed (b= empty) is the final field up to its value.
  const unsigned = `DKIM-Signature: ${tags.join(';\r\n\t')};\r\n\tb=`;

  const canonicalize = headerCanon === 'simple' ? simpleHeader : relaxedHeader;
  const signedFields = selectFields(fields, names).map(canonicalize).join('');
  // RFC 6376 §3.7: the signature field itself goes last, without its trailing CRLF.
  const data = Buffer.from(
    signedFields + canonicalize({ name: 'dkim-signature', raw: unsigned }),
    'utf8',
  );
  const signature =
    algorithm === 'rsa-sha256'
      ? sign('sha256', data, options.privateKey)
      : // RFC 8463 §3: PureEdDSA over the SHA-256 of the data, not over the data itself.
        sign(null, createHash('sha256').update(data).digest(), options.privateKey);
  return `${unsigned}${fold(signature.toString('base64'))}\r\n${text}`;
}

/**
 * The TXT value publishing a key at `<selector>._domainkey.<domain>`: for RSA p= is the DER
 * SubjectPublicKeyInfo, what every signer publishes; for Ed25519 the raw 32 octets (RFC 8463 §4).
 */
export function dkimKeyRecord(publicKey: KeyObject): string {
  if (publicKey.asymmetricKeyType === 'ed25519') {
    const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
    return `v=DKIM1; k=ed25519; p=${raw.toString('base64')}`;
  }
  if (publicKey.asymmetricKeyType === 'rsa') {
    const der = publicKey.export({ format: 'der', type: 'spki' });
    return `v=DKIM1; k=rsa; p=${der.toString('base64')}`;
  }
  throw new TypeError(`no DKIM key type for ${publicKey.asymmetricKeyType}`);
}

function algorithmOf(key: KeyObject): 'rsa-sha256' | 'ed25519-sha256' {
  if (key.asymmetricKeyType === 'rsa') return 'rsa-sha256';
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519-sha256';
  throw new TypeError(`DKIM cannot sign with a ${key.asymmetricKeyType} key`);
}

function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** The header fields and the body after the empty line; no empty line means no body. */
function splitMessage(text: string): { fields: HeaderField[]; body: string } {
  const end = text.startsWith('\r\n') ? 0 : text.indexOf('\r\n\r\n');
  const header = end === -1 ? text : text.slice(0, end === 0 ? 0 : end + 2);
  const body = end === -1 ? '' : text.slice(end === 0 ? 2 : end + 4);
  const fields: HeaderField[] = [];
  for (const line of header.split(/(?<=\r\n)/)) {
    if (line === '') continue;
    const last = fields.at(-1);
    if ((line.startsWith(' ') || line.startsWith('\t')) && last !== undefined) {
      fields[fields.length - 1] = { name: last.name, raw: last.raw + line };
    } else {
      const colon = line.indexOf(':');
      const name = (colon === -1 ? line : line.slice(0, colon)).trim().toLowerCase();
      fields.push({ name, raw: line });
    }
  }
  return { fields, body };
}

/** The field instances h= names, in h= order; a name with no instance left adds nothing. */
function selectFields(fields: readonly HeaderField[], names: readonly string[]): HeaderField[] {
  const used = new Map<string, number>();
  const selected: HeaderField[] = [];
  for (const name of names) {
    const instances = fields.filter((field) => field.name === name);
    const taken = used.get(name) ?? 0;
    used.set(name, taken + 1);
    const field = instances[instances.length - 1 - taken];
    if (field !== undefined) selected.push(field);
  }
  return selected;
}

/** RFC 6376 §3.4.1: the field unchanged. */
function simpleHeader(field: HeaderField): string {
  return field.raw;
}

/** RFC 6376 §3.4.2: lower-case name, unfolded, runs of whitespace to one SP, none by the colon. */
function relaxedHeader(field: HeaderField): string {
  const colon = field.raw.indexOf(':');
  const value = field.raw
    .slice(colon + 1)
    .replace(/\r\n(?=[ \t])/g, '')
    .replace(/\r\n$/, '')
    .replace(/[ \t]+/g, ' ')
    // Only SP and HTAB are whitespace here; String#trim would also eat e.g. U+00A0.
    .replace(/^ | $/g, '');
  return `${field.name}:${value}${field.raw.endsWith('\r\n') ? '\r\n' : ''}`;
}

/** RFC 6376 §3.4.3: trailing empty lines removed; an empty body is one CRLF. */
function simpleBody(body: string): string {
  const trimmed = body.replace(/(\r\n)*$/, '');
  return `${trimmed}\r\n`;
}

/** RFC 6376 §3.4.4: whitespace at line ends removed, runs to one SP, no trailing empty lines. */
function relaxedBody(body: string): string {
  const lines = body.split('\r\n').map((line) => line.replace(/[ \t]+/g, ' ').replace(/ $/, ''));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.length === 0 ? '' : `${lines.join('\r\n')}\r\n`;
}

/** h= folded at its colons (FWS is allowed there) to keep lines short. */
function foldedHeaderList(names: readonly string[]): string {
  const lines: string[] = [];
  let line = 'h=';
  for (const [index, name] of names.entries()) {
    const piece = index === names.length - 1 ? name : `${name}:`;
    if (line.length + piece.length > 70 && line !== 'h=') {
      lines.push(line);
      line = '';
    }
    line += piece;
  }
  lines.push(line);
  return lines.join('\r\n\t ');
}

/** A base64 value in lines of 72, continuation lines indented (FWS is allowed in b=). */
function fold(value: string): string {
  return (value.match(/.{1,72}/g) ?? ['']).join('\r\n\t ');
}

// The canonicalization above, for the independent verifier (dkim-verifier.ts): one reading of
// RFC 6376 §3.4 shared by the tests' signer and verifier, and none of it mailauth's.
export type { HeaderField };
export { relaxedBody, relaxedHeader, selectFields, simpleBody, simpleHeader, splitMessage };
