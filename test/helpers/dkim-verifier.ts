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
  return verifySignatureField(fields, body, signatureField, resolver, 'dkim');
}

/**
 * RFC 6376 §6.1 for one signature field: a DKIM-Signature, or an ARC-Message-Signature, which
 * RFC 8617 §4.1.2 defines as the same signature with i= (the instance) instead of v=.
 */
async function verifySignatureField(
  fields: readonly HeaderField[],
  body: string,
  signatureField: HeaderField,
  resolver: Resolver,
  kind: 'dkim' | 'ams',
): Promise<DkimVerification> {
  const tags = tagList(signatureField.raw.slice(signatureField.raw.indexOf(':') + 1));

  // §6.1.1: the signature's own syntax and required tags.
  for (const required of [kind === 'dkim' ? 'v' : 'i', 'a', 'b', 'bh', 'd', 'h', 's']) {
    if (!tags.has(required)) return fail(`no ${required}= tag`);
  }
  if (kind === 'dkim' && tags.get('v') !== '1') return fail(`v=${tags.get('v')}`);
  const algorithm = tags.get('a')!;
  if (algorithm !== 'rsa-sha256' && algorithm !== 'ed25519-sha256') {
    return fail(`unsupported a=${algorithm}`);
  }
  const signedHeaders = tags
    .get('h')!
    .split(':')
    .map((name) => name.trim().toLowerCase());
  if (kind === 'dkim' && !signedHeaders.includes('from')) return fail('h= does not include From');
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
  if (!verifyData(algorithm, data, key, tags.get('b')!)) return fail('signature mismatch');
  return { result: 'pass', domain, selector, algorithm, signedHeaders };
}

function verifyData(algorithm: string, data: Buffer, key: KeyObject, b: string): boolean {
  const signature = Buffer.from(b, 'base64');
  return algorithm === 'rsa-sha256'
    ? verify('sha256', data, key, signature)
    : // RFC 8463 §3: Ed25519 signs the SHA-256 of the data.
      verify(null, createHash('sha256').update(data).digest(), key, signature);
}

export type ArcVerification =
  | { readonly result: 'none' }
  | {
      readonly result: 'pass';
      readonly instances: number;
      /** Each set's seal, oldest first. */
      readonly sets: readonly {
        readonly instance: number;
        readonly cv: string;
        readonly domain: string;
        readonly selector: string;
        /** The ARC-Authentication-Results value after `i=N;`. */
        readonly authResults: string;
      }[];
    }
  | { readonly result: 'fail'; readonly reason: string };

/** RFC 8617 §5.2: no more than 50 sets. */
const MAX_ARC_SETS = 50;

/**
 * Validates the message's ARC chain (RFC 8617 §5.2): every set complete and numbered 1..N, the
 * newest ARC-Message-Signature verifying like a DKIM signature, and every ARC-Seal verifying over
 * the sets up to its own in relaxed header canonicalization (§5.1.1), with cv=none at i=1 and
 * cv=pass after it.
 */
export async function verifyArc(message: Buffer, resolver: Resolver): Promise<ArcVerification> {
  const { fields, body } = splitMessage(message.toString('utf8'));
  const byInstance = new Map<number, Partial<Record<ArcFieldName, HeaderField>>>();
  for (const field of fields) {
    if (!ARC_FIELDS.includes(field.name as ArcFieldName)) continue;
    const instance = instanceOf(field);
    if (instance === null) return arcFail(`${field.name} without a valid i=`);
    const set = byInstance.get(instance) ?? {};
    if (set[field.name as ArcFieldName] !== undefined) {
      return arcFail(`two ${field.name} fields with i=${instance}`);
    }
    set[field.name as ArcFieldName] = field;
    byInstance.set(instance, set);
  }
  if (byInstance.size === 0) return { result: 'none' };
  const count = byInstance.size;
  if (count > MAX_ARC_SETS) return arcFail(`${count} sets`);
  // §5.2 step 2: sets 1..N, each with all three fields.
  const sets: Record<ArcFieldName, HeaderField>[] = [];
  for (let instance = 1; instance <= count; instance++) {
    const set = byInstance.get(instance);
    if (set === undefined || ARC_FIELDS.some((name) => set[name] === undefined)) {
      return arcFail(`set i=${instance} is missing or incomplete`);
    }
    sets.push(set as Record<ArcFieldName, HeaderField>);
  }
  // §5.2 step 3: cv= of each seal.
  const seals = sets.map((set) => tagList(fieldValueOf(set['arc-seal'])));
  for (const [index, seal] of seals.entries()) {
    const wanted = index === 0 ? 'none' : 'pass';
    if (seal.get('cv') !== wanted) return arcFail(`i=${index + 1} has cv=${seal.get('cv')}`);
  }
  // §5.2 step 4: the newest AMS.
  const newest = sets[count - 1]!;
  const ams = await verifySignatureField(
    fields,
    body,
    newest['arc-message-signature'],
    resolver,
    'ams',
  );
  if (ams.result !== 'pass') return arcFail(`AMS i=${count}: ${ams.reason}`);
  // §5.2 step 6: every seal, newest first.
  for (let instance = count; instance >= 1; instance--) {
    const problem = await sealProblem(sets.slice(0, instance), resolver);
    if (problem !== null) return arcFail(`AS i=${instance}: ${problem}`);
  }
  return {
    result: 'pass',
    instances: count,
    sets: sets.map((set, index) => ({
      instance: index + 1,
      cv: seals[index]!.get('cv')!,
      domain: seals[index]!.get('d')!,
      selector: seals[index]!.get('s')!,
      authResults: fieldValueOf(set['arc-authentication-results'])
        .replace(/^[^;]*;/, '')
        .trim(),
    })),
  };
}

const ARC_FIELDS = ['arc-authentication-results', 'arc-message-signature', 'arc-seal'] as const;
type ArcFieldName = (typeof ARC_FIELDS)[number];

/** §5.1.1: AAR, AMS, AS of each set in order, relaxed, the last seal with b= empty and no CRLF. */
async function sealProblem(
  sets: readonly Record<ArcFieldName, HeaderField>[],
  resolver: Resolver,
): Promise<string | null> {
  let data = '';
  for (const [index, set] of sets.entries()) {
    data += relaxedHeader(set['arc-authentication-results']);
    data += relaxedHeader(set['arc-message-signature']);
    const seal = set['arc-seal'];
    data +=
      index === sets.length - 1
        ? relaxedHeader({ name: seal.name, raw: emptyB(seal.raw).replace(/\r\n$/, '') })
        : relaxedHeader(seal);
  }
  const tags = tagList(fieldValueOf(sets.at(-1)!['arc-seal']));
  const algorithm = tags.get('a') ?? '';
  if (algorithm !== 'rsa-sha256' && algorithm !== 'ed25519-sha256') return `a=${algorithm}`;
  if (tags.has('h')) return 'h= is not allowed in an ARC-Seal';
  let key: KeyObject;
  try {
    key = await fetchKey(resolver, `${tags.get('s')}._domainkey.${tags.get('d')}`, algorithm);
  } catch (error) {
    return `key: ${(error as Error).message}`;
  }
  return verifyData(algorithm, Buffer.from(data), key, tags.get('b') ?? '')
    ? null
    : 'signature mismatch';
}

/** i=: first in an ARC-Authentication-Results (§4.1.1), a tag anywhere in the other two. */
function instanceOf(field: HeaderField): number | null {
  const text =
    field.name === 'arc-authentication-results'
      ? (/^\s*i\s*=\s*([0-9]{1,2})\s*;/.exec(fieldValueOf(field))?.[1] ?? '')
      : (tagList(fieldValueOf(field)).get('i') ?? '');
  return /^[0-9]{1,2}$/.test(text) ? Number(text) : null;
}

function fieldValueOf(field: HeaderField): string {
  return field.raw.slice(field.raw.indexOf(':') + 1);
}

function arcFail(reason: string): ArcVerification {
  return { result: 'fail', reason };
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
