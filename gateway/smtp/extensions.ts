// The EHLO reply: the service extensions the gateway advertises (RFC 5321 §4.1.1.1).
import { AUTH_MECHANISMS, authOffered } from './auth.ts';
import type { Reply } from './reply.ts';
import type { SessionContext, SessionSettings } from './session-state.ts';
import { XCLIENT_ATTRIBUTES } from './xclient.ts';

export function ehloReply(
  settings: SessionSettings,
  ctx: SessionContext,
  clientName: string,
): Reply {
  const lines = [
    `${settings.hostname} greets ${clientName}`,
    'PIPELINING', // RFC 2920
    `SIZE ${settings.maxMessageBytes}`, // RFC 1870
    '8BITMIME', // RFC 6152
    'SMTPUTF8', // RFC 6531
    'ENHANCEDSTATUSCODES', // RFC 2034
    'CHUNKING', // RFC 3030
  ];
  // DSN (RFC 3461) only with outbound delivery: without it there is no notice to send, so the
  // sending MTA must keep that duty and report the message "relayed" itself (RFC 3461 §4.1).
  if (settings.dsn) lines.push('DSN');
  if (settings.tlsAvailable && ctx.info.tls === null) lines.push('STARTTLS'); // RFC 3207
  if (authOffered(settings, ctx)) lines.push(`AUTH ${AUTH_MECHANISMS.join(' ')}`); // RFC 4954
  if (settings.xclient) lines.push(`XCLIENT ${XCLIENT_ATTRIBUTES.join(' ')}`); // Postfix XCLIENT_README
  for (const verb of settings.extraVerbs?.values() ?? [])
    if (verb.ehlo !== null) lines.push(verb.ehlo);
  lines.push('HELP');
  // RFC 2034 §3: no enhanced code on the EHLO reply.
  return { code: 250, enhanced: null, lines };
}
