// Mail authentication for the checks-on target (mxhook auth): a loopback DNS server whose zone makes
// every check do real work for the load generator's mail, and that mail DKIM-signed once up front.
//
// The load generator connects from 127.0.0.1, says EHLO load.client.bench.test and sends MAIL FROM
// load@client.bench.test with From: load@client.bench.test, so for every message:
//   rdns   1.0.0.127.in-addr.arpa PTR mta.client.bench.test, whose A is 127.0.0.1: pass
//   spf    client.bench.test `v=spf1 ip4:127.0.0.1 -all`: pass
//   sender client.bench.test MX 10 mx.client.bench.test: accepts mail
//   dkim   RSA-2048, d=client.bench.test s=bench, relaxed/relaxed, by the tests' own signer: pass
//   dmarc  _dmarc.client.bench.test `v=DMARC1; p=reject`, aligned by SPF and DKIM: pass
//   arc    no ARC sets: none (mailauth still looks for them)
// Every record lives an hour, so after the warm-up the gateway answers from its cache.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { dkimKeyRecord, signDkim } from '../helpers/dkim-signer.ts';
import type { DnsRecord, Zone } from '../helpers/dns-server.ts';
import { MAIL_FROM } from './constants.ts';
import { type TestMessage, testMessage } from './message.ts';

/** MXHOOK_AUTH_CHECKS of the checks-on target: all of them, the gateway's default. */
export const ALL_AUTH_CHECKS = 'rdns,spf,sender,dkim,dmarc,arc';
/** The load generator's source address, as the gateway sees it. */
export const CLIENT_ADDRESS = '127.0.0.1';
export const SENDER_DOMAIN = MAIL_FROM.slice(MAIL_FROM.lastIndexOf('@') + 1);
const SELECTOR = 'bench';
const TTL_S = 3_600;

let key: { privateKey: KeyObject; publicKey: KeyObject } | undefined;
const signingKey = (): { privateKey: KeyObject; publicKey: KeyObject } => {
  key ??= generateKeyPairSync('rsa', { modulusLength: 2048 });
  return key;
};

const txt = (data: string): DnsRecord => ({ type: 'TXT', data, ttl: TTL_S });
const a = (address: string): DnsRecord => ({ type: 'A', address, ttl: TTL_S });

/** The zone of the bench's DNS server. */
export function authZone(): Zone {
  const spfPass = txt(`v=spf1 ip4:${CLIENT_ADDRESS} -all`);
  return {
    [SENDER_DOMAIN]: [
      spfPass,
      { type: 'MX', priority: 10, exchange: `mx.${SENDER_DOMAIN}`, ttl: TTL_S },
    ],
    [`mx.${SENDER_DOMAIN}`]: [a(CLIENT_ADDRESS)],
    [`_dmarc.${SENDER_DOMAIN}`]: [txt('v=DMARC1; p=reject')],
    [`${SELECTOR}._domainkey.${SENDER_DOMAIN}`]: [txt(dkimKeyRecord(signingKey().publicKey))],
    [`${CLIENT_ADDRESS.split('.').reverse().join('.')}.in-addr.arpa`]: [
      { type: 'PTR', domain: `mta.${SENDER_DOMAIN}`, ttl: TTL_S },
    ],
    [`mta.${SENDER_DOMAIN}`]: [a(CLIENT_ADDRESS)],
    // The EHLO name, should SPF look at it too.
    [`load.${SENDER_DOMAIN}`]: [spfPass, a(CLIENT_ADDRESS)],
  };
}

const signed = new Map<number, TestMessage>();

/**
 * testMessage(sizeBytes) with a DKIM-Signature on top, signed once per size and reused: the same
 * bytes every time, which the gateway still verifies for each message.
 */
export function signedTestMessage(sizeBytes: number): TestMessage {
  let message = signed.get(sizeBytes);
  if (message === undefined) {
    const { privateKey } = signingKey();
    message = testMessage(sizeBytes, (text) =>
      signDkim(text, { domain: SENDER_DOMAIN, selector: SELECTOR, privateKey }),
    );
    signed.set(sizeBytes, message);
  }
  return message;
}

/**
 * The `authentication` of a data call in one line (`rdns=pass spf=pass sender=mx dkim=pass
 * dmarc=pass arc=none`), read from the start of its body without parsing the message after it.
 * Null when the body carries none (checks off).
 */
export function authenticationSummary(body: Buffer): string | null {
  const text = body.subarray(0, 64 * 1024).toString('utf8');
  const key = '"authentication":';
  const start = text.indexOf(key);
  if (start < 0) return null;
  const json = balancedObject(text, start + key.length);
  if (json === null) return 'unreadable';
  const auth = JSON.parse(json) as {
    rdns?: { result: string };
    spf?: { result: string };
    sender?: { reason: string; acceptsMail: boolean | null };
    dkim?: readonly { result: string }[];
    dmarc?: { result: string };
    arc?: { result: string };
  };
  const parts: string[] = [];
  if (auth.rdns) parts.push(`rdns=${auth.rdns.result}`);
  if (auth.spf) parts.push(`spf=${auth.spf.result}`);
  if (auth.sender) parts.push(`sender=${auth.sender.reason}`);
  if (auth.dkim) parts.push(`dkim=${auth.dkim.map((s) => s.result).join('+') || 'none'}`);
  if (auth.dmarc) parts.push(`dmarc=${auth.dmarc.result}`);
  if (auth.arc) parts.push(`arc=${auth.arc.result}`);
  return parts.join(' ');
}

/** What the checks-on target must see for the bench to measure real, passing checks. */
export const EXPECTED_AUTHENTICATION = 'rdns=pass spf=pass sender=mx dkim=pass dmarc=pass arc=none';

/** The JSON object starting at `from` (skipping spaces), by its braces, strings respected. */
function balancedObject(text: string, from: number): string | null {
  let at = from;
  while (text[at] === ' ') at++;
  if (text[at] !== '{') return null;
  let depth = 0;
  let inString = false;
  for (let i = at; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return text.slice(at, i + 1);
  }
  return null;
}
