// The gateway's side of the inbox: RCPT accepts only served addresses, DATA refuses DMARC failures
// under p=reject and stores the rest.
import type { Hono } from 'hono';
import { accept, defer, dmarcFailsWithReject, mxhook, reject } from '../sdk/index.ts';
import { audienceFrom } from './audience.ts';
import { scheduleAutoReply } from './auto-reply.ts';
import type { AppEnv } from './env.ts';
import { KvSeenIdStore } from './kv-seen-id-store.ts';
import { newMessageId } from './message-id.ts';
import { buildMessage } from './message-record.ts';
import { MessageStore, MessageTooLargeError } from './message-store.ts';
import { isServed, recipientPolicy } from './recipients.ts';
import { verifyKeysFrom } from './verify-keys.ts';

/**
 * The Hono app mounted at `/mxhook`: the gateway POSTs `/mxhook/<step>` (MXHOOK_FUNCTION_URL is
 * `https://<worker>/mxhook/`). Every call is verified, its audience included (401 otherwise), and its id recorded in
 * the SEEN namespace, so a captured call cannot be replayed (see KvSeenIdStore for the limits).
 */
export function createHookApp(): Hono<AppEnv> {
  return mxhook<AppEnv>(
    {
      rcpt(call, c) {
        if (isServed(call.rcpt.address, recipientPolicy(c.env))) return accept();
        return reject(`No mailbox here by the name ${call.rcpt.address}`, {
          code: 550,
          enhanced: '5.1.1',
        });
      },

      async data(call, c) {
        // The From domain's owner asks for this message to be refused: say so now, so the sender
        // gets the bounce instead of the message sitting in the inbox as if it were theirs.
        if (c.env.REJECT_DMARC_FAILURES !== 'false' && dmarcFailsWithReject(call)) {
          return reject('Message fails the DMARC policy (p=reject) of its From domain', {
            code: 550,
            enhanced: '5.7.1',
          });
        }
        // RCPT already filtered, unless the gateway does not send that step (MXHOOK_STEPS=data).
        const policy = recipientPolicy(c.env);
        const recipients = call.envelope.rcptTo
          .map((rcpt) => rcpt.address)
          .filter((address) => isServed(address, policy));
        if (recipients.length === 0) {
          return reject('No recipient of this message is served here', {
            code: 554,
            enhanced: '5.1.1',
          });
        }
        const id = newMessageId();
        try {
          const { record, summary, raw } = await buildMessage(call, id, new Date(), recipients);
          await new MessageStore(c.env.MESSAGES).save(record, summary, raw);
          scheduleAutoReply(record, c);
          return accept(`Stored as ${id}`);
        } catch (error) {
          if (error instanceof MessageTooLargeError) {
            return reject('Message too large for this inbox', { code: 552, enhanced: '5.3.4' });
          }
          // Never 250 without the message safely stored: the sender keeps it and retries.
          console.error(`mxhook inbox: storing ${id} failed:`, error);
          return defer('Could not store the message; try again later', {
            code: 451,
            enhanced: '4.3.0',
          });
        }
      },
    },
    {
      keys: (c) => verifyKeysFrom(c.env),
      audience: (c) => audienceFrom(c.env, c.req.url),
      replay: (c) => new KvSeenIdStore(c.env.SEEN),
    },
  );
}
