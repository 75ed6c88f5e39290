// A DKIM verifier of our own (RFC 6376 §6; RFC 8463 for Ed25519), on node:crypto and node:dns
// alone. The gateway signs with mailauth; checking its signatures with mailauth too would let one
// misreading of the RFC pass both ways, so the tests verify with this instead. It shares the
// canonicalization of the tests' signer (dkim-signer.ts), which is itself independent of mailauth.
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import type { Resolver } from 'node:dns/promises';
import {
  type HeaderField,
  relaxedBody,
  relaxedHeader,
  selectFields,
  simpleBody,
  simpleHeader,
  splitMessage,
} from './dkim-signer.ts';

export type DkimVerification =
  | {
      readonly result: 'pass';
      readonly domain: string;
      readonly selector: string;
      readonly algorithm: string;
      /** h=, lower-case, in order. */
      readonly signedHeaders: readonly string[];
    }
  | { readonly result: 'fail'; readonly reason: string };

/** Verifies the message's first (topmost) DKIM-Signature, fetching the key through `resolver`. */
export async function verifyDkim(message: Buffer, resolver: Resolver): Promise<DkimVerification> {
  const { fields, body } = splitMessage(message.toString('utf8'));
  const signatureField = fields.find((field) => field.name === 'dkim-signature');
  if (signatureField === undefined) return fail('no DKIM-Signature field');
  const tags = tagList(signatureField.raw.slice(signatureField.raw.indexOf(':') + 1));

  // §6.1.1: the signature's own syntax and required tags.
  for (const required of ['v', 'a', 'b', 'bh', 'd', 'h', 's']) {
    if (!tags.has(required)) return fail(`no ${required}= tag`);
  }
  if (tags.get('v') !== '1') return fail(`v=${tags.get('v')}`);
  const algorithm = tags.get('a')!;
  if (algorithm !== 'rsa-sha256' && algorithm !== 'ed25519-sha256') {
    return fail(`unsupported a=${algorithm}`);
  }
  const signedHeaders = tags
    .get('h')!
    .split(':')
    .map((name) => name.trim().toLowerCase());
  if (!signedHeaders.includes('from')) return fail('h= does not include From');
  // c= defaults to simple/simple; `c=relaxed` alone means relaxed/simple (§3.5).
  const [headerCanon = 'simple', bodyCanon = 'simple'] = (tags.get('c') ?? 'simple').split('/');
  if (![headerCanon, bodyCanon].every((c) => c === 'simple' || c === 'relaxed')) {
    return fail(`unsupported c=${tags.get('c')}`);
  }

  // §6.1.3 step 1–2: the body hash.
  let canonicalBody = Buffer.from(bodyCanon === 'relaxed' ? relaxedBody(body) : simpleBody(body));
  const length = tags.get('l');
  if (length !== undefined) canonicalBody = canonicalBody.subarray(0, Number(length));
  const bodyHash = createHash('sha256').update(canonicalBody).digest('base64');
  if (bodyHash !== tags.get('bh')) return fail('body hash mismatch');

  // §6.1.2: the key.
  const domain = tags.get('d')!;
  const selector = tags.get('s')!;
  let key: KeyObject;
  try {
    key = await fetchKey(resolver, `${selector}._domainkey.${domain}`, algorithm);
  } catch (error) {
    return fail(`key: ${(error as Error).message}`);
  }

  // §6.1.3 step 3–4: the signed fields bottom-up per h=, then this field with b= emptied and
  // without its final CRLF (§3.7).
  const canonicalize = headerCanon === 'relaxed' ? relaxedHeader : simpleHeader;
  const withoutB: HeaderField = {
    name: signatureField.name,
    raw: emptyB(signatureField.raw).replace(/\r\n$/, ''),
  };
  const data = Buffer.from(
    selectFields(fields, signedHeaders).map(canonicalize).join('') + canonicalize(withoutB),
  );
  const signature = Buffer.from(tags.get('b')!, 'base64');
  const valid =
    algorithm === 'rsa-sha256'
      ? verify('sha256', data, key, signature)
      : // RFC 8463 §3: Ed25519 signs the SHA-256 of the data.
        verify(null, createHash('sha256').update(data).digest(), key, signature);
  if (!valid) return fail('signature mismatch');
  return { result: 'pass', domain, selector, algorithm, signedHeaders };
}

function fail(reason: string): DkimVerification {
  return { result: 'fail', reason };
}

/** §3.2 tag=value list; FWS inside a value is removed (b=, bh= and h= may be folded). */
function tagList(text: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const spec of text.split(';')) {
    const equals = spec.indexOf('=');
    if (equals === -1) continue;
    tags.set(spec.slice(0, equals).trim(), spec.slice(equals + 1).replace(/[ \t\r\n]+/g, ''));
  }
  return tags;
}

/** The field with the b= tag's value removed and all else, whitespace included, kept (§3.5). */
function emptyB(raw: string): string {
  return raw.replace(/([:;][ \t\r\n]*b[ \t\r\n]*=)[^;]*/, '$1');
}

/** §3.6.2: the TXT record's p= as a public key of the type a= needs. */
async function fetchKey(resolver: Resolver, name: string, algorithm: string): Promise<KeyObject> {
  const records = (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
  if (records.length !== 1) throw new Error(`${records.length} TXT records at ${name}`);
  const tags = tagList(records[0]!);
  const keyType = tags.get('k') ?? 'rsa';
  if (`${keyType}-sha256` !== algorithm) throw new Error(`k=${keyType} does not sign ${algorithm}`);
  const p = tags.get('p');
  if (p === undefined || p === '') throw new Error('no key (p= missing or revoked)');
  const raw = Buffer.from(p, 'base64');
  return keyType === 'rsa'
    ? createPublicKey({ key: raw, format: 'der', type: 'spki' })
    : createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
        format: 'jwk',
      });
}
