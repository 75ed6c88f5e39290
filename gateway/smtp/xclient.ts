// XCLIENT (Postfix XCLIENT_README): a trusted proxy or filter tells us the real client's attributes.
import type { SessionInfo } from '../../functions/sdk/wire.ts';
import { replies } from './replies.ts';
import { type Refuse, respond } from './respond.ts';
import type { PhaseState, SessionSettings, Transition } from './session-state.ts';

export const XCLIENT_ATTRIBUTES = ['NAME', 'ADDR', 'PORT', 'PROTO', 'HELO', 'LOGIN'] as const;
type Attribute = (typeof XCLIENT_ATTRIBUTES)[number];

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;
const IPV6 = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$/;
// "[UNAVAILABLE]" and "[TEMPUNAVAIL]" mean the proxy does not know the value.
const UNKNOWN = /^\[(?:UNAVAILABLE|TEMPUNAVAIL)\]$/i;

export function onXclient(
  state: PhaseState<'command'>,
  args: string,
  settings: SessionSettings,
  error: Refuse,
): Transition {
  const { ctx, tx } = state;
  if (!settings.xclient) return respond(state, replies.xclientDenied);
  if (tx !== null) return error(replies.transactionInProgress);
  const attributes = parseAttributes(args);
  if (attributes === null) return error(replies.syntax('XCLIENT attribute=value ...'));
  const info = applyAttributes(ctx.info, attributes);
  if (info === null) return error(replies.syntax('XCLIENT attribute value is not valid'));
  const esmtp = (attributes.get('PROTO') ?? '').toUpperCase() === 'ESMTP';
  const next = { ...ctx, info, esmtp: info.helo !== null && esmtp };
  // The session starts over as the real client: its connect step decides the new 220 greeting.
  return {
    state: { phase: 'waiting', ctx: next, pending: { step: 'connect' } },
    actions: [
      {
        type: 'hook',
        call: { step: 'connect', session: info, envelope: { mailFrom: null, rcptTo: [] } },
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

function applyAttributes(
  info: SessionInfo,
  attributes: Map<Attribute, string>,
): SessionInfo | null {
  // The session starts over as the real client: what it said as the proxy (HELO, AUTH) is dropped
  // unless XCLIENT restates it.
  let client = { ...info.client };
  let helo: string | null = null;
  let auth: SessionInfo['auth'] = null;
  for (const [name, value] of attributes) {
    const known = !UNKNOWN.test(value);
    switch (name) {
      case 'ADDR': {
        const address = value.replace(/^IPV6:/i, '');
        if (known && !IPV4.test(address) && !IPV6.test(address)) return null;
        if (known) client = { address, port: client.port };
        break;
      }
      case 'PORT': {
        if (known && !/^\d{1,5}$/.test(value)) return null;
        if (known) client = { ...client, port: Number(value) };
        break;
      }
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
        if (known && !/^E?SMTP$/i.test(value)) return null;
        break;
    }
  }
  return { ...info, client, helo, auth, proxied: true };
}

/** RFC 3461 §4 xtext: "+XX" escapes a byte. */
function decodeXtext(value: string): string | null {
  if (!/^(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-Fa-f]{2})*$/.test(value)) return null;
  return value.replace(/\+([0-9A-Fa-f]{2})/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}
