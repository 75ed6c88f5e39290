// XCLIENT (Postfix XCLIENT_README): a trusted proxy or filter tells us the real client's attributes.
import type { SessionInfo } from '../../functions/sdk/wire.ts';
import { isIPv4Address, isIPv6Address } from './ip-address.ts';
import { isHeloName } from './path.ts';
import { replies } from './replies.ts';
import { closing, type Reply } from './reply.ts';
import { CLOSED, type Refuse, respond } from './respond.ts';
import type { PhaseState, Transition } from './session-state.ts';
import { decodeXtext } from './xtext.ts';

export const XCLIENT_ATTRIBUTES = ['NAME', 'ADDR', 'PORT', 'PROTO', 'HELO', 'LOGIN'] as const;
type Attribute = (typeof XCLIENT_ATTRIBUTES)[number];

// [UNAVAILABLE]: the proxy does not know the value; [TEMPUNAVAIL]: a name lookup failed for now,
// so Postfix allows it for NAME only.
const UNAVAILABLE = /^\[UNAVAILABLE\]$/i;
const TEMPUNAVAIL = /^\[TEMPUNAVAIL\]$/i;
// C0 controls, DEL and C1 controls: they would reach the signed payload and our Received header.
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
// A DNS host name (RFC 1123 §2.1), with the underscores real PTR records carry, and a final dot.
const HOST_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const MAX_HOST_BYTES = 253;
const MAX_PORT = 65_535;

export function onXclient(state: PhaseState<'command'>, args: string, error: Refuse): Transition {
  const { ctx } = state;
  const attributes = parseAttributes(args);
  if (attributes === null) return error(replies.syntax('XCLIENT attribute=value ...'));
  const invalid = [...attributes].find(([name, value]) => !isValid(name, value));
  if (invalid !== undefined)
    return error(replies.syntax(`XCLIENT ${invalid[0]} value is not valid`));
  const info = applyAttributes(ctx.info, attributes);
  const esmtp = (attributes.get('PROTO') ?? '').toUpperCase() === 'ESMTP';
  const next = { ...ctx, info, esmtp: info.helo !== null && esmtp };
  const restart: PhaseState<'waiting'> = {
    phase: 'waiting',
    ctx: next,
    pending: { step: 'connect' },
  };
  // A new address is a new client: the shell admits it as it admitted the connection (access
  // lists, per-address limits) before the connect step runs; see `onAdmission`.
  if (info.client.address !== ctx.info.client.address)
    return { state: restart, actions: [{ type: 'admit', address: info.client.address }] };
  return onAdmission(restart, null);
}

/**
 * The shell's answer to `admit`: the refusal admission gives (then the session ends), or null,
 * and the session starts over as the real client, its connect step deciding the new 220.
 */
export function onAdmission(state: PhaseState<'waiting'>, refusal: Reply | null): Transition {
  if (refusal !== null) return respond(CLOSED, closing(refusal));
  const session = state.ctx.info;
  return {
    state,
    actions: [
      {
        type: 'hook',
        call: { step: 'connect', session, envelope: { mailFrom: null, rcptTo: [] } },
      },
    ],
  };
}

function parseAttributes(args: string): Map<Attribute, string> | null {
  const words = args.split(' ').filter((w) => w !== '');
  if (words.length === 0) return null;
  const out = new Map<Attribute, string>();
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq <= 0) return null;
    const name = word.slice(0, eq).toUpperCase() as Attribute;
    if (!XCLIENT_ATTRIBUTES.includes(name)) return null;
    const value = decodeXtext(word.slice(eq + 1));
    if (value === null) return null;
    out.set(name, value);
  }
  return out;
}

/** Each value by its own grammar (Postfix XCLIENT_README); none may hold a control character. */
function isValid(name: Attribute, value: string): boolean {
  if (CONTROL.test(value)) return false;
  if (UNAVAILABLE.test(value)) return true;
  switch (name) {
    case 'ADDR':
      return isClientAddress(value);
    case 'PORT':
      return /^\d{1,5}$/.test(value) && Number(value) <= MAX_PORT;
    case 'NAME':
      return TEMPUNAVAIL.test(value) || isHostName(value);
    case 'HELO':
      return isHeloName(value);
    case 'LOGIN':
      return value !== '' && !value.includes(' ');
    case 'PROTO':
      return /^E?SMTP$/i.test(value);
  }
}

/**
 * A real IPv4 or IPv6 address (`IPV6:` prefixed or not), in the one reading every parser agrees
 * on, since the access lists and per-address limits are decided on it.
 */
function isClientAddress(value: string): boolean {
  const address = stripIpv6Tag(value);
  return isIPv4Address(address, true) || isIPv6Address(address, true);
}

function isHostName(value: string): boolean {
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  return (
    name !== '' && name.length <= MAX_HOST_BYTES && name.split('.').every((l) => HOST_LABEL.test(l))
  );
}

const stripIpv6Tag = (value: string): string => value.replace(/^IPV6:/i, '');

/** The session as the real client, from values already checked by `isValid`. */
function applyAttributes(info: SessionInfo, attributes: Map<Attribute, string>): SessionInfo {
  // The session starts over as the real client: what it said as the proxy (HELO, AUTH) is dropped
  // unless XCLIENT restates it.
  let client = { ...info.client };
  let helo: string | null = null;
  let auth: SessionInfo['auth'] = null;
  for (const [name, value] of attributes) {
    const known = !UNAVAILABLE.test(value) && !TEMPUNAVAIL.test(value);
    switch (name) {
      case 'ADDR':
        if (known) client = { address: stripIpv6Tag(value), port: client.port };
        break;
      case 'PORT':
        if (known) client = { ...client, port: Number(value) };
        break;
      case 'NAME': {
        const { hostname: _, ...rest } = client;
        client = known ? { ...rest, hostname: value } : rest;
        break;
      }
      case 'HELO':
        helo = known ? value : null;
        break;
      case 'LOGIN':
        auth = known ? { username: value, mechanism: 'XCLIENT' } : null;
        break;
      case 'PROTO':
        break;
    }
  }
  return { ...info, client, helo, auth, proxied: true };
}
