// DNS data and keys for mail-authentication tests (SPF, DKIM, DMARC, ARC), served by the
// loopback DNS server of dns-server.ts. Every domain is named for the one case it stands for.
//
// The connecting client is 127.0.0.7 unless a row says otherwise; 192.0.2.0/24 (TEST-NET-1) is
// "somewhere else" and never the client. "SPF pass" below is `v=spf1 ip4:127.0.0.7 -all`,
// "p=..." a DMARC record at `_dmarc.<name>`.
//
// | name                   | records                                 | for                       |
// |------------------------|-----------------------------------------|---------------------------|
// | pass.test              | SPF pass; MX 10 mx.pass.test; DKIM keys | SPF pass; default signer  |
// | mx.pass.test           | A 127.0.0.7                             | pass.test's MX host       |
// | include.test           | `v=spf1 include:pass.test -all`         | SPF pass via include:     |
// | redirect.test          | `v=spf1 redirect=pass.test`             | SPF pass via redirect=    |
// | ptr.test               | `v=spf1 ptr -all`                       | SPF pass via ptr          |
// | 7.0.0.127.in-addr.arpa | PTR mta.ptr.test                        | client PTR that confirms: |
// | mta.ptr.test           | A 127.0.0.7                             | ... back to the client    |
// | 8.0.0.127.in-addr.arpa | PTR forged.ptr.test                     | 127.0.0.8's PTR that      |
// | forged.ptr.test        | A 192.0.2.8                             | ... does not confirm      |
// | fail.test              | `v=spf1 ip4:192.0.2.1 -all`             | SPF fail                  |
// | softfail.test          | `v=spf1 ip4:192.0.2.1 ~all`             | SPF softfail              |
// | neutral.test           | `v=spf1 ip4:192.0.2.1 ?all`             | SPF neutral               |
// | voidlookups.test       | `a:` at 3 names that do not exist       | void lookups past 2       |
// | loop.test, loop2.test  | each `include:`s the other              | include loop              |
// | toomany.test           | 11 `a:` (a1..a11.toomany.test)          | DNS lookups past 10       |
// | twospf.test            | two `v=spf1` TXT records                | permerror (RFC 7208 §4.5) |
// | reject.test            | SPF pass; `p=reject`                    | DMARC reject              |
// | quarantine.test        | SPF pass; `p=quarantine; pct=50`        | DMARC quarantine          |
// | none.test              | SPF pass; `p=none`                      | DMARC monitoring only     |
// | parent.test            | SPF pass; `p=none; sp=reject`           | subdomain policy ...      |
// | sub.parent.test        | SPF pass; no DMARC record               | ... applied here          |
// | strict.test            | SPF pass; `p=reject; adkim=s; aspf=s`   | strict alignment          |
// | mail.strict.test       | SPF pass                                | relaxed-aligned only      |
// | nullmx.test            | MX 0 . (RFC 7505); A 192.0.2.25         | takes no mail             |
// | implicitmx.test        | A 127.0.0.7 only                        | implicit MX; SPF none     |
// | forwarder.test         | only its ARC key                        | the ARC sealer            |
//
// DKIM keys, generated once per process (generateKeyPairSync), published as
// `<selector>._domainkey.<domain>`:
//   rsa2048 (RSA-2048) and ed25519 (Ed25519) at every domain in DKIM_DOMAINS;
//   rsa512 (RSA-512, below mailauth's default minBitLength of 1024) at pass.test;
//   arc (RSA-2048) at forwarder.test, for ARC sealing.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { dkimKeyRecord } from './dkim-signer.ts';
import type { DnsRecord, Zone } from './dns-server.ts';

/** A signing key and where its public half is published. */
export interface DkimTestKey {
  readonly domain: string;
  readonly selector: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export interface AuthFixtures {
  readonly keys: {
    readonly rsa: DkimTestKey;
    readonly ed25519: DkimTestKey;
    /** Too small: mailauth's minBitLength defaults to 1024. */
    readonly rsa512: DkimTestKey;
    /** The ARC sealer's key (arc-sealer.ts). */
    readonly arc: DkimTestKey;
  };
  readonly zone: Zone;
  /** The client address SPF passes for, with a forward-confirmed PTR (mta.ptr.test). */
  readonly clientAddress: '127.0.0.7';
  /** An address whose PTR (forged.ptr.test) does not resolve back to it. */
  readonly unconfirmedAddress: '127.0.0.8';
  /** An address no SPF record lists. */
  readonly strangerAddress: '192.0.2.99';
}

export const CLIENT_ADDRESS = '127.0.0.7';

/** Domains where rsa2048 and ed25519 are published (so any of them can sign as d=). */
export const DKIM_DOMAINS: readonly string[] = [
  'pass.test',
  'reject.test',
  'quarantine.test',
  'none.test',
  'parent.test',
  'sub.parent.test',
  'strict.test',
  'mail.strict.test',
];

const PASS = `v=spf1 ip4:${CLIENT_ADDRESS} -all`;

let keys: AuthFixtures['keys'] | undefined;

/** The zone and keys; keys are generated on the first call and shared after (RSA is slow). */
export function createAuthFixtures(): AuthFixtures {
  keys ??= {
    rsa: testKey('rsa', 2048, 'pass.test', 'rsa2048'),
    ed25519: testKey('ed25519', 0, 'pass.test', 'ed25519'),
    rsa512: testKey('rsa', 512, 'pass.test', 'rsa512'),
    arc: testKey('rsa', 2048, 'forwarder.test', 'arc'),
  };
  return {
    keys,
    zone: authZone(keys),
    clientAddress: CLIENT_ADDRESS,
    unconfirmedAddress: '127.0.0.8',
    strangerAddress: '192.0.2.99',
  };
}

function testKey(
  type: 'rsa' | 'ed25519',
  modulusLength: number,
  domain: string,
  selector: string,
): DkimTestKey {
  const { privateKey, publicKey } =
    type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength }) : generateKeyPairSync('ed25519');
  return { domain, selector, privateKey, publicKey };
}

const txt = (data: string): DnsRecord => ({ type: 'TXT', data });
const a = (address: string): DnsRecord => ({ type: 'A', address });

function authZone(k: AuthFixtures['keys']): Zone {
  const zone: Record<string, DnsRecord[]> = {
    'pass.test': [txt(PASS), { type: 'MX', priority: 10, exchange: 'mx.pass.test' }],
    'mx.pass.test': [a(CLIENT_ADDRESS)],
    'include.test': [txt('v=spf1 include:pass.test -all')],
    'redirect.test': [txt('v=spf1 redirect=pass.test')],
    'ptr.test': [txt('v=spf1 ptr -all')],
    '7.0.0.127.in-addr.arpa': [{ type: 'PTR', domain: 'mta.ptr.test' }],
    'mta.ptr.test': [a(CLIENT_ADDRESS)],
    '8.0.0.127.in-addr.arpa': [{ type: 'PTR', domain: 'forged.ptr.test' }],
    'forged.ptr.test': [a('192.0.2.8')],
    'fail.test': [txt('v=spf1 ip4:192.0.2.1 -all')],
    'softfail.test': [txt('v=spf1 ip4:192.0.2.1 ~all')],
    'neutral.test': [txt('v=spf1 ip4:192.0.2.1 ?all')],
    'voidlookups.test': [
      txt('v=spf1 a:void1.voidlookups.test a:void2.voidlookups.test a:void3.voidlookups.test -all'),
    ],
    'loop.test': [txt('v=spf1 include:loop2.test -all')],
    'loop2.test': [txt('v=spf1 include:loop.test -all')],
    'toomany.test': [
      txt(
        `v=spf1 ${Array.from({ length: 11 }, (_, i) => `a:a${i + 1}.toomany.test`).join(' ')} -all`,
      ),
    ],
    'twospf.test': [txt(PASS), txt('v=spf1 -all')],
    'reject.test': [txt(PASS)],
    '_dmarc.reject.test': [txt('v=DMARC1; p=reject')],
    'quarantine.test': [txt(PASS)],
    '_dmarc.quarantine.test': [txt('v=DMARC1; p=quarantine; pct=50')],
    'none.test': [txt(PASS)],
    '_dmarc.none.test': [txt('v=DMARC1; p=none')],
    'parent.test': [txt(PASS)],
    '_dmarc.parent.test': [txt('v=DMARC1; p=none; sp=reject')],
    'sub.parent.test': [txt(PASS)],
    'strict.test': [txt(PASS)],
    '_dmarc.strict.test': [txt('v=DMARC1; p=reject; adkim=s; aspf=s')],
    'mail.strict.test': [txt(PASS)],
    'nullmx.test': [{ type: 'MX', priority: 0, exchange: '.' }, a('192.0.2.25')],
    'implicitmx.test': [a(CLIENT_ADDRESS)],
  };
  for (let i = 1; i <= 11; i++) zone[`a${i}.toomany.test`] = [a(`192.0.2.${100 + i}`)];
  for (const domain of DKIM_DOMAINS) {
    for (const key of [k.rsa, k.ed25519]) {
      zone[`${key.selector}._domainkey.${domain}`] = [txt(dkimKeyRecord(key.publicKey))];
    }
  }
  for (const key of [k.rsa512, k.arc]) {
    zone[`${key.selector}._domainkey.${key.domain}`] = [txt(dkimKeyRecord(key.publicKey))];
  }
  return zone;
}
