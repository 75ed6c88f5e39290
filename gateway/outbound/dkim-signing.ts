// DKIM-signs outgoing mail (RFC 6376; RFC 8463 for Ed25519) with the key configured for the
// domain of its From address, so that receivers' DMARC checks find an aligned signature.
//
// Which key: the entry whose domain is the From domain, or else the one whose domain the From
// domain is a subdomain of, the longest such (`news.example.com` is signed by `example.com`:
// DMARC's default relaxed alignment, RFC 7489 §3.1.1, accepts an organizational-domain match).
// A message without exactly one From mailbox, or from a domain no entry covers, goes unsigned.
//
// mailauth's signer signs every instance present of each listed field; it cannot list a field
// once more than it occurs (oversigning), so a From added after signing is not caught by the
// signature itself. Receivers refuse a message with two From fields anyway (RFC 7489 §6.6.1).
import { Readable } from 'node:stream';
import { domainToASCII } from 'node:url';
import { dkimSign } from 'mailauth';
import addressparser from 'nodemailer/lib/addressparser';
import type { DkimSigningEntry } from '../config/parse-dkim-signing.ts';

/** What is signed (h=): the fields that say who sent what to whom, and how it is encoded. */
const SIGNED_FIELDS: readonly string[] = [
  'From',
  'Sender',
  'Reply-To',
  'To',
  'Cc',
  'Subject',
  'Date',
  'Message-ID',
  'In-Reply-To',
  'References',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
  'List-Id',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
];

/**
 * The message with a DKIM-Signature field in front, as a new first piece; the pieces unchanged
 * when no entry covers its From domain.
 *
 * @throws when the signer refuses (a bug or a key it cannot use: the parser checked the keys).
 */
export async function signOutgoing(
  body: readonly Buffer[],
  entries: readonly DkimSigningEntry[],
  signTime: Date = new Date(),
): Promise<readonly Buffer[]> {
  const entry = signingEntryFor(body, entries);
  if (entry === null) return body;
  const key = {
    signingDomain: entry.domain,
    selector: entry.selector,
    privateKey: entry.privateKey,
    algorithm: entry.algorithm,
  };
  const result = await dkimSign(Readable.from(body), {
    // The signer reads the key from signatureData alone (and signs nothing without it); mailauth's
    // typings want the same fields at the top level as well.
    ...key,
    signatureData: [key],
    canonicalization: 'relaxed/relaxed',
    headerList: [...SIGNED_FIELDS],
    signTime,
    strict: true,
  });
  const [failure] = result.errors;
  if (failure !== undefined) {
    throw new Error(`DKIM signing for ${entry.domain} failed: ${failure.err.message}`, {
      cause: failure.err,
    });
  }
  return [Buffer.from(result.signatures), ...body];
}

/** The entry that signs this message, by its From domain; null when none does. */
export function signingEntryFor(
  body: readonly Buffer[],
  entries: readonly DkimSigningEntry[],
): DkimSigningEntry | null {
  const domain = fromDomain(headerSection(body));
  return domain === null ? null : entryCovering(domain, entries);
}

/** The entry for `domain` (an A-label, lower-case) or the longest one it is under; null if none. */
export function entryCovering(
  domain: string,
  entries: readonly DkimSigningEntry[],
): DkimSigningEntry | null {
  let best: DkimSigningEntry | null = null;
  for (const entry of entries) {
    const covers = domain === entry.domain || domain.endsWith(`.${entry.domain}`);
    if (covers && (best === null || entry.domain.length > best.domain.length)) best = entry;
  }
  return best;
}

/** The From mailbox's domain as an A-label, lower-case; null unless there is exactly one. */
function fromDomain(header: string): string | null {
  const fields = header
    .replace(/\r?\n(?=[ \t])/g, '')
    .split(/\r?\n/)
    .filter((line) => /^from[ \t]*:/i.test(line));
  if (fields.length !== 1) return null;
  const value = fields[0]!.slice(fields[0]!.indexOf(':') + 1);
  const mailboxes = addressparser(value, { flatten: true });
  const address = mailboxes.length === 1 ? mailboxes[0]!.address : '';
  const at = address.lastIndexOf('@');
  if (at === -1) return null;
  return domainToASCII(address.slice(at + 1).replace(/\.$/, '')) || null;
}

/** The header section's text, read from as few pieces as hold it. */
function headerSection(body: readonly Buffer[]): string {
  let seen = Buffer.alloc(0);
  for (const piece of body) {
    seen = Buffer.concat([seen, piece]);
    const end = seen.indexOf('\r\n\r\n');
    if (end !== -1) return seen.subarray(0, end).toString('utf8');
  }
  return seen.toString('utf8');
}
