// Bounces to forwarded mail: a recipient that is an SRS address of ours (srs.ts) is a bounce (or
// an automatic reply) to a message we forwarded with that envelope sender. The gateway answers
// for it itself, without the function, which decided when it forwarded: a valid address is
// accepted and the message relayed to the original sender, from the null sender as bounces are
// sent; a forged or expired one gets 550 5.1.1 at RCPT. Runs outside the relay middleware, so
// what the function and the relay see are the other recipients only.
import { MxhookError } from '../errors.ts';
import type { HookArgs } from '../handler.ts';
import type { Middleware } from '../middleware.ts';
import type { OutboundQueue } from './queue.ts';
import { isAccepted, transportParams } from './relay.ts';
import { isSrsAddress, type SrsSettings, srsReverse } from './srs.ts';

export interface SrsBounceOptions {
  readonly srs: SrsSettings;
  readonly queue: OutboundQueue;
  /** Told when the queue refused a message (for readiness). */
  readonly queueFailed?: () => void;
}

const ACCEPTED_RCPT = { code: 250, enhanced: '2.1.5', message: 'Bounce address OK' } as const;
const RETURNED = { code: 250, enhanced: '2.0.0', message: 'Returned to the original sender' };

export function srsBounces(options: SrsBounceOptions): Middleware {
  return async function srsBounces(c, next) {
    if (c.step === 'rcpt') {
      const { address } = c.call.rcpt;
      if (!isSrsAddress(address, options.srs)) return next();
      const reversal = srsReverse(address, options.srs);
      c.answer = reversal.ok ? ACCEPTED_RCPT : noSuchAddress(reversal.reason);
      return;
    }
    if (c.step !== 'data') return next();
    const { envelope, message } = c.call;
    const bounced = envelope.rcptTo.filter((rcpt) => isSrsAddress(rcpt.address, options.srs));
    if (bounced.length === 0) return next();
    const returnTo = new Set<string>();
    for (const rcpt of bounced) {
      const reversal = srsReverse(rcpt.address, options.srs);
      // Only without the rcpt step (then no RCPT was checked): the message as a whole is refused.
      if (!reversal.ok) {
        c.answer = noSuchAddress(reversal.reason);
        return;
      }
      returnTo.add(reversal.address);
    }
    const others = envelope.rcptTo.filter((rcpt) => !bounced.includes(rcpt));
    if (others.length > 0) {
      c.call = { ...c.call, envelope: { ...envelope, rcptTo: others } } as HookArgs<'data'>;
      await next();
      if (!isAccepted(c.answer)) return;
    }
    try {
      await options.queue.enqueue({
        sender: '',
        recipients: [...returnTo].map((address) => ({ address })),
        body: message.chunks,
        ...transportParams(envelope.mailFrom),
        origin: message.queueId,
      });
    } catch (error) {
      options.queueFailed?.();
      throw new MxhookError('ERR_QUEUE_WRITE', `could not queue ${c.call.session.id}'s bounce`, {
        cause: error,
      });
    }
    if (others.length === 0) c.answer = RETURNED;
  };
}

/** The relay (or any middleware) with SRS bounces handled around it, as one middleware. */
export function withSrsBounces(options: SrsBounceOptions, inner: Middleware): Middleware {
  const bounces = srsBounces(options);
  return (c, next) => bounces(c, () => Promise.resolve(inner(c, next)));
}

function noSuchAddress(reason: string) {
  return { code: 550, enhanced: '5.1.1', message: `No such address: ${reason}` };
}
