// The Sender Rewriting Scheme (SRS) of Shevek's Mail::SRS and libsrs2, as postsrsd and most
// forwarders use it: a forwarded message's envelope sender becomes an address at our domain that
// SPF at the destination passes for us, and that a bounce to it can be routed back from.
//
//   SRS0=HHHH=TT=example.org=alice@srs.example.com   (HHHH: HMAC-SHA1, base64, 4 characters;
//                                                    TT: the day, base32, 2 characters)
//   SRS1=HHHH=relay.example==HHHH=TT=…@srs.example.com  (an SRS0 address forwarded once more)
//
// Written here rather than taken from npm: the two SRS packages there (`srs.js`,
// `sender-rewriting-scheme`) hash in hex (one with SHA-256), so no libsrs2 forwarder could decode
// their addresses nor they ours. The tests check this file against postsrsd's published vectors.
import { createHmac } from 'node:crypto';

export interface SrsSettings {
  /** HMAC keys: the first one signs, every one verifies (rotation). */
  readonly secrets: readonly string[];
  /** The domain rewritten addresses are at, lower-case. */
  readonly domain: string;
  /** Days an SRS0 address stays valid for a bounce (libsrs2 and postsrsd: 21). */
  readonly maxAgeDays?: number;
}

export type SrsReversal =
  | { readonly ok: true; readonly address: string }
  | { readonly ok: false; readonly reason: string };

const DEFAULT_MAX_AGE_DAYS = 21;
const HASH_LENGTH = 4;
// libsrs2's SRS_TIME_BASECHARS: base32 (RFC 4648 alphabet), two characters, so 1024 days wrap.
const TIME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const TIME_SLOTS = 1024;
const DAY_MS = 86_400_000;
/** SRS0 or SRS1, then one of libsrs2's separators. */
const SRS_PREFIX = /^srs([01])[=+-]/i;

/**
 * The envelope sender a message forwarded by us goes out with. The null sender stays null (a
 * bounce is never bounced), and an address at our SRS domain already routes back to us.
 */
export function srsForward(sender: string, settings: SrsSettings, now = Date.now()): string {
  if (sender === '') return '';
  const { local, domain } = split(sender);
  if (domain.toLowerCase() === settings.domain) return sender;
  const secret = settings.secrets[0]!;
  const prefix = SRS_PREFIX.exec(local);
  let rewritten: string;
  if (prefix?.[1] === '0') {
    // Someone else's SRS0: guard it (SRS1), naming its forwarder, so the bounce goes back there.
    const guarded = local.slice(4);
    rewritten = `SRS1=${hash(secret, domain, guarded)}=${domain}=${guarded}`;
  } else if (prefix?.[1] === '1') {
    // Someone else's SRS1: keep the first forwarder's part, re-sign it as ours (libsrs2).
    const [, firstHost, guarded] = /^srs1[=+-][^=]*=([^=]+)=(.*)$/is.exec(local) ?? [];
    if (firstHost === undefined || guarded === undefined) {
      rewritten = srs0(secret, local, domain, now);
    } else {
      rewritten = `SRS1=${hash(secret, firstHost, guarded)}=${firstHost}=${guarded}`;
    }
  } else {
    rewritten = srs0(secret, local, domain, now);
  }
  return `${rewritten}@${settings.domain}`;
}

/** Whether the address is at our SRS domain and looks like SRS (valid or not). */
export function isSrsAddress(address: string, settings: SrsSettings): boolean {
  const { local, domain } = split(address);
  return domain.toLowerCase() === settings.domain && SRS_PREFIX.test(local);
}

/**
 * The address a bounce to one of our SRS addresses goes to: the original sender for SRS0, the
 * previous forwarder's SRS0 address for SRS1. The hash is compared case-insensitively, as
 * libsrs2 does, because some servers change the case of local parts.
 */
export function srsReverse(address: string, settings: SrsSettings, now = Date.now()): SrsReversal {
  if (!isSrsAddress(address, settings)) return refused('not an SRS address of ours');
  const { local } = split(address);
  if (local[3] === '1') {
    const [, given, host, guarded] = /^srs1[=+-]([^=]*)=([^=]+)=(.+)$/is.exec(local) ?? [];
    if (given === undefined || host === undefined || guarded === undefined) {
      return refused('malformed SRS1 address');
    }
    if (!hashMatches(settings, given, host, guarded)) return refused('hash invalid');
    return { ok: true, address: `SRS0${guarded}@${host}` };
  }
  const [, given, stamp, host, user] =
    /^srs0[=+-]([^=]*)=([^=]*)=([^=]+)=(.+)$/is.exec(local) ?? [];
  if (given === undefined || stamp === undefined || host === undefined || user === undefined) {
    return refused('malformed SRS0 address');
  }
  if (!hashMatches(settings, given, stamp, host, user)) return refused('hash invalid');
  if (!timestampFresh(stamp, settings.maxAgeDays ?? DEFAULT_MAX_AGE_DAYS, now)) {
    return refused('time stamp out of date');
  }
  return { ok: true, address: `${user}@${host}` };
}

function srs0(secret: string, local: string, domain: string, now: number): string {
  const stamp = timestamp(now);
  return `SRS0=${hash(secret, stamp, domain, local)}=${stamp}=${domain}=${local}`;
}

/** libsrs2's hash: HMAC-SHA1 over the lower-cased parts, the first characters of its base64. */
function hash(secret: string, ...parts: readonly string[]): string {
  const hmac = createHmac('sha1', secret);
  for (const part of parts) hmac.update(part.toLowerCase());
  return hmac.digest('base64').slice(0, HASH_LENGTH);
}

function hashMatches(settings: SrsSettings, given: string, ...parts: readonly string[]): boolean {
  const wanted = given.toLowerCase();
  return settings.secrets.some((secret) => hash(secret, ...parts).toLowerCase() === wanted);
}

/** The day number, modulo 1024, in two base32 characters. */
function timestamp(now: number): string {
  const day = Math.floor(now / DAY_MS);
  return TIME_CHARS[(day >> 5) & 31]! + TIME_CHARS[day & 31]!;
}

/** Not older than `maxAgeDays`, and not from the future (the 1024-day wrap makes that "old"). */
function timestampFresh(stamp: string, maxAgeDays: number, now: number): boolean {
  if (stamp.length !== 2) return false;
  let then = 0;
  for (const char of stamp.toUpperCase()) {
    const value = TIME_CHARS.indexOf(char);
    if (value === -1) return false;
    then = (then << 5) | value;
  }
  let today = Math.floor(now / DAY_MS) % TIME_SLOTS;
  while (today < then) today += TIME_SLOTS;
  return today <= then + maxAgeDays;
}

/** Local part and domain at the last `@` (a quoted local part may hold one). */
function split(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf('@');
  return at === -1
    ? { local: address, domain: '' }
    : { local: address.slice(0, at), domain: address.slice(at + 1) };
}

function refused(reason: string): SrsReversal {
  return { ok: false, reason };
}
