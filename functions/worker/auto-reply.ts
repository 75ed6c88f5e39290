// The inbox's optional auto-reply (AUTO_REPLY): after a message is stored, a short text goes back
// to its envelope sender through the gateway's send API, by RFC 3834's rules (never to a bounce,
// to automatic or list mail, or to a mail system's own mailbox), threaded to the original.
import type { Context } from 'hono';
import {
  autoReplyDecision,
  createSendClient,
  replyThreading,
  type SendClient,
} from '../sdk/index.ts';
import type { AppEnv, Bindings } from './env.ts';
import type { StoredMessage } from './message-record.ts';

/**
 * Sends the auto-reply in the background (`waitUntil`), so the gateway's data call is answered at
 * once; a failed send is logged, never turned into a refusal of the message already stored. Does
 * nothing unless AUTO_REPLY and MXHOOK_SEND_URL are set, and a way to authenticate (below).
 */
export function scheduleAutoReply(record: StoredMessage, c: Context<AppEnv>): void {
  const { AUTO_REPLY: text, MXHOOK_SEND_URL: url } = c.env;
  if (!text || !url) return;
  const client = sendClientFor(url, c.env);
  if (client === null) return;
  const sender = record.envelope.mailFrom;
  const decision = autoReplyDecision({
    sender,
    headers: record.headers,
    ownAddresses: record.envelope.rcptTo,
  });
  // The reply comes from the address the message was sent to (the first one served here).
  const from = record.envelope.rcptTo[0];
  if (!decision.reply || from === undefined) return;
  const header = (name: string) =>
    record.headers.find((field) => field.name === name)?.value ?? null;
  const threading = replyThreading({
    subject: record.subject,
    messageId: record.messageId,
    references: header('references'),
    inReplyTo: header('in-reply-to'),
  });
  const sending = client
    .send(
      {
        from,
        to: sender,
        subject: threading.subject,
        text,
        headers: {
          // RFC 3834 §5: marks the reply automatic, so other responders do not answer it in turn.
          'Auto-Submitted': 'auto-replied',
          ...(threading.inReplyTo === undefined ? {} : { 'In-Reply-To': threading.inReplyTo }),
          ...(threading.references === undefined ? {} : { References: threading.references }),
        },
      },
      // One reply per stored message, however often the send is retried.
      { idempotencyKey: `auto-reply:${record.id}` },
    )
    .then(
      () => undefined,
      (error: unknown) => console.error(`mxhook inbox: auto-reply for ${record.id} failed:`, error),
    );
  c.executionCtx.waitUntil(sending);
}

/**
 * MXHOOK_SEND_TOKEN as a bearer token when set; else requests signed with the newest of the
 * secrets the Worker verifies the gateway's calls with (MXHOOK_SIGNING_SECRET, newest first), which
 * a gateway with MXHOOK_SEND_SIGNED=true takes: no second secret to keep. Null with neither (or
 * with a JWKS, whose private key only the gateway holds).
 */
function sendClientFor(url: string, env: Bindings): SendClient | null {
  if (env.MXHOOK_SEND_TOKEN) return createSendClient({ url, token: env.MXHOOK_SEND_TOKEN });
  if (env.MXHOOK_JWKS_URL?.trim()) return null;
  const newest = env.MXHOOK_SIGNING_SECRET?.split(',')[0]?.trim();
  return newest ? createSendClient({ url, secret: newest }) : null;
}
