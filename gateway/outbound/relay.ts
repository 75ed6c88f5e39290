// Relay: the middleware that sends accepted mail onward. Outermost around the data hook, it sees
// the function's answer and, when the message is to be delivered, forwarded or answered, stores
// what goes out durably in the queue before the answer goes back: the 250 the client then gets
// means "accepted and queued", and a queue that cannot take it makes the call fail, which the
// client sees as 451.
import type { Logger } from 'pino';
import { interpretResponse } from '../../functions/sdk/interpret.ts';
import type { DeliverRequest, PathWithParams } from '../../functions/sdk/wire.ts';
import { MxhookError } from '../errors.ts';
import type { HookAnswer, HookArgs } from '../handler.ts';
import type { Middleware } from '../middleware.ts';
import type { NetworkList } from '../server/admission.ts';
import { noticeFor } from './bounce-policy.ts';
import { buildDsn } from './dsn.ts';
import { type ForwardSettings, forwardAddresses, forwardedMessage } from './forward.ts';
import type { NewMessage, OutboundQueue, RecipientRequest } from './queue.ts';
import { planReply, type ReplySettings, replyRequestOf } from './reply.ts';

export interface RelayOptions {
  /** The outbound queue; null when MXHOOK_QUEUE is not set (then nothing can be delivered). */
  readonly queue: OutboundQueue | null;
  /** Clients whose mail is delivered as an authenticated session's is (MXHOOK_RELAY_NETWORKS). */
  readonly relayNetworks: NetworkList | null;
  /** Signs the message for its From domain (MXHOOK_DKIM_SIGN), or returns it as it is. */
  readonly sign: (message: readonly Buffer[]) => Promise<readonly Buffer[]>;
  /** Our host name: the reporting MTA of the success notices sent from here. */
  readonly hostname: string;
  /** `forward` answers: SRS, the ARC key, the address cap. */
  readonly forward: ForwardSettings;
  /** `reply` answers: the once-per-sender window. */
  readonly reply: Omit<ReplySettings, 'sign'>;
  /** Where forwards left unsealed and replies skipped are told. */
  readonly log?: Logger;
  /** Told when the queue refused a message (for readiness). */
  readonly queueFailed?: () => void;
}

type DataCall = HookArgs<'data'>;

export function relay(options: RelayOptions): Middleware {
  const replySettings: ReplySettings = { ...options.reply, sign: options.sign };
  return async (c, next) => {
    if (c.step !== 'data') return next();
    // Taken before the inner middleware add their own view of the message (Return-Path).
    const call = c.call;
    const { message, envelope, session } = call;
    await next();
    const answer = c.answer;
    if (!isAccepted(answer)) {
      // A reply to mail we refuse would be backscatter, a forward of it a relay of refused mail.
      const asked = answer as { forward?: unknown; reply?: unknown } | undefined;
      if (asked?.forward != null || asked?.reply != null) {
        options.log?.warn(
          { session: session.id },
          'forward and reply ignored: the data answer does not accept the message',
        );
      }
      return;
    }
    // Without a queue nothing is delivered unless asked for (and then it cannot be: 451).
    const trusted = options.queue !== null && isTrusted(options, call);
    const recipients = recipientsToDeliver(call, answer, trusted);
    const forwardTo = forwardAddresses(answer, options.forward.maxAddresses);
    const replyRequest = replyRequestOf(answer);
    const { queue } = options;
    if (queue === null) {
      if (recipients.length === 0 && forwardTo.length === 0 && replyRequest === null) return;
      throw new MxhookError(
        'ERR_QUEUE_OFF',
        'the data answer asks to send the message on, but MXHOOK_QUEUE is not set',
      );
    }
    const mailFrom = envelope.mailFrom;
    const sender = mailFrom?.address ?? '';
    const params = transportParams(mailFrom);
    // Everything that can refuse the answer is made before anything is queued.
    const forwarded =
      forwardTo.length === 0
        ? null
        : await forwardedMessage(call, forwardTo, options.forward, params);
    if (forwarded?.unsealed) {
      options.log?.warn(
        { session: session.id, reason: forwarded.unsealed },
        'forwarded without an ARC seal',
      );
    }
    const reply = replyRequest === null ? null : await planReply(call, replyRequest, replySettings);
    if (reply?.send === false) {
      options.log?.info(
        { session: session.id, sender, skip: reply.skip },
        'automatic reply not sent (RFC 3834)',
      );
    }
    const requested = new Map(envelope.rcptTo.map((rcpt) => [rcpt.address, dsnRequestOf(rcpt)]));
    const onward = new Set(recipients);
    // The accepted recipients not sent on were delivered here, to the function (RFC 3461 §5.2.2).
    const deliveredHere = [...requested.values()].filter(
      (recipient) => !onward.has(recipient.address) && noticeFor(sender, recipient, 'delivered'),
    );
    const outgoing: NewMessage[] = [];
    if (recipients.length > 0) {
      outgoing.push({
        sender,
        recipients: recipients.map((address) => requested.get(address) ?? { address }),
        body: await options.sign(message.chunks),
        ...dsnEnvelopeOf(mailFrom),
        ...params,
        origin: message.queueId,
      });
    }
    if (forwarded !== null) outgoing.push(forwarded.message);
    if (reply?.send) outgoing.push(reply.message);
    try {
      if (deliveredHere.length > 0) {
        await queueNotice(queue, options.hostname, message.chunks, mailFrom, deliveredHere);
      }
      // One after the other, each durable before the next: a failure part-way makes the client
      // retry, and what was queued already goes out twice (at least once, as with every MTA).
      for (const outbound of outgoing) await queue.enqueue(outbound);
    } catch (error) {
      options.queueFailed?.();
      throw new MxhookError('ERR_QUEUE_WRITE', `could not queue ${session.id}'s message`, {
        cause: error,
      });
    }
    if (reply?.send) {
      options.log?.info(
        { session: session.id, to: sender },
        'automatic reply queued, unless one went to this sender within MXHOOK_REPLY_WINDOW',
      );
    }
  };
}

/** A success notice for recipients the function took (NOTIFY=SUCCESS), sent from the queue. */
async function queueNotice(
  queue: OutboundQueue,
  hostname: string,
  body: readonly Buffer[],
  mailFrom: PathWithParams | null,
  recipients: readonly RecipientRequest[],
): Promise<void> {
  const now = Date.now();
  const envelope = dsnEnvelopeOf(mailFrom);
  const notice = await buildDsn({
    hostname,
    message: {
      sender: mailFrom?.address ?? '',
      createdAt: now,
      eightBit: isEightBit(mailFrom),
      returnContent: envelope.returnContent ?? 'headers',
      envelopeId: envelope.envelopeId ?? null,
    },
    body,
    recipients: recipients.map((recipient) => ({
      recipient,
      action: 'delivered',
      reply: '250 2.0.0 delivered to the function',
      lastAttemptAt: now,
    })),
    now,
  });
  await queue.enqueue({
    sender: notice.sender,
    recipients: [{ address: notice.recipient }],
    body: [notice.body],
    eightBit: notice.eightBit,
    origin: 'dsn',
  });
}

/** RCPT's DSN parameters (RFC 3461 §4.1, §4.2), as the queue keeps them. */
function dsnRequestOf(rcpt: PathWithParams): RecipientRequest {
  const notify = rcpt.params.NOTIFY;
  const original = rcpt.params.ORCPT;
  return {
    address: rcpt.address,
    ...(typeof notify === 'string'
      ? { notify: notify.toLowerCase().split(',') as RecipientRequest['notify'] }
      : {}),
    ...(typeof original === 'string' ? { originalRecipient: original } : {}),
  };
}

/** MAIL's DSN parameters (RFC 3461 §4.3, §4.4). */
function dsnEnvelopeOf(mailFrom: PathWithParams | null): {
  returnContent?: 'full' | 'headers';
  envelopeId?: string;
} {
  const ret = mailFrom?.params.RET;
  const envid = mailFrom?.params.ENVID;
  return {
    ...(typeof ret === 'string' ? { returnContent: /^full$/i.test(ret) ? 'full' : 'headers' } : {}),
    ...(typeof envid === 'string' ? { envelopeId: envid } : {}),
  };
}

function isEightBit(mailFrom: PathWithParams | null): boolean {
  return /^8BITMIME$/i.test(String(mailFrom?.params.BODY ?? ''));
}

/** What the message needs of the next server, from MAIL's parameters (RFC 6531, RFC 6152). */
export function transportParams(
  mailFrom: PathWithParams | null,
): Pick<NewMessage, 'smtputf8' | 'eightBit'> {
  return { smtputf8: hasParam(mailFrom, 'SMTPUTF8'), eightBit: isEightBit(mailFrom) };
}

/** Authenticated sessions and clients in MXHOOK_RELAY_NETWORKS may relay. */
function isTrusted(options: RelayOptions, call: DataCall): boolean {
  if (call.session.auth !== null) return true;
  return options.relayNetworks?.contains(call.session.client.address) ?? false;
}

/**
 * The accepted recipients the message goes to: none unless the answer accepts it, then as its
 * `deliver` says, or, when it says nothing, all of them for a trusted client and none otherwise.
 *
 * @throws MxhookError ERR_HOOK_RESPONSE when `deliver` is malformed or names an address that is
 *   not an accepted recipient (forwarding elsewhere is not what `deliver` means).
 */
export function recipientsToDeliver(
  call: DataCall,
  answer: HookAnswer,
  trusted: boolean,
): readonly string[] {
  if (!isAccepted(answer)) return [];
  const accepted = call.envelope.rcptTo.map((rcpt) => rcpt.address);
  const deliver = (answer as { deliver?: unknown } | undefined)?.deliver;
  if (deliver === undefined || deliver === null) return trusted ? accepted : [];
  if (typeof deliver === 'boolean') return deliver ? accepted : [];
  return narrowed(accepted, deliver);
}

function narrowed(accepted: readonly string[], deliver: unknown): readonly string[] {
  if (!Array.isArray(deliver) || !deliver.every((entry) => typeof entry === 'string')) {
    throw new MxhookError(
      'ERR_HOOK_RESPONSE',
      '"deliver" must be true, false or a list of addresses',
    );
  }
  const byLowerCase = new Map(accepted.map((address) => [address.toLowerCase(), address]));
  const chosen = new Set<string>();
  for (const address of deliver as DeliverRequest & readonly string[]) {
    const found = byLowerCase.get(address.toLowerCase());
    if (found === undefined) {
      throw new MxhookError(
        'ERR_HOOK_RESPONSE',
        `"deliver" names ${JSON.stringify(address)}, which is not an accepted recipient`,
      );
    }
    chosen.add(found);
  }
  return [...chosen];
}

/** The data answer accepts the message (a 250); anything else leaves it with the sender. */
export function isAccepted(answer: HookAnswer): boolean {
  const interpreted = interpretResponse('data', answer);
  return interpreted.ok && interpreted.reply.code === 250;
}

function hasParam(path: PathWithParams | null, name: string): boolean {
  return path?.params[name] !== undefined;
}
