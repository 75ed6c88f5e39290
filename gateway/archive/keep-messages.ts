// The archive's middleware: keeps every message the function accepts, durably before the 250, the
// same promise the relay's queue makes. Inside Return-Path, so it keeps the bytes the function got.
//
// A message small enough to go inline is written once accepted, so mail the function refuses never
// touches the archive. A larger one (over MXHOOK_INLINE_MAX) is written before the data call,
// because the call carries a signed URL to it (`message.rawRef`) that must work when the function
// fetches it; if the function then does not accept it, the copy is removed again.
import type { Logger } from 'pino';
import { MxhookError } from '../errors.ts';
import type { HookArgs } from '../handler.ts';
import type { Middleware } from '../middleware.ts';
import { isAccepted } from '../outbound/relay.ts';
import type { Archive, ArchivedMessage } from './archive.ts';

/** How long a by-reference URL works: the data call, or a queue consumer of the function soon after. */
export const REFERENCE_TTL_MS = 15 * 60 * 1000;

export interface KeepMessagesOptions {
  readonly archive: Archive;
  /** Messages over this many bytes go by reference. */
  readonly inlineMaxBytes: number;
  /** Told when a write failed (for readiness). */
  readonly failed?: () => void;
  readonly log: Logger;
}

type DataCall = HookArgs<'data'>;

export function keepMessages(options: KeepMessagesOptions): Middleware {
  const { archive, log } = options;
  const keep = async (call: DataCall): Promise<ArchivedMessage> => {
    const { message } = call;
    try {
      return await archive.put(message.queueId, recipientsOf(call), message.chunks, new Date());
    } catch (error) {
      options.failed?.();
      throw new MxhookError('ERR_ARCHIVE_WRITE', `could not archive ${message.queueId}`, {
        cause: error,
      });
    }
  };
  // The answer stands whatever happens here: a copy left behind is removed by retention.
  const discard = async (kept: ArchivedMessage, call: DataCall): Promise<void> => {
    await archive.remove(kept.key, recipientsOf(call)).catch((error: unknown) => {
      log.warn({ err: error, key: kept.key }, 'could not remove an archived message not accepted');
    });
  };
  return async (c, next) => {
    if (c.step !== 'data') return next();
    const call = c.call;
    let kept: ArchivedMessage | null = null;
    if (call.message.sizeBytes > options.inlineMaxBytes) {
      kept = await keep(call);
      const expires = new Date(Date.now() + REFERENCE_TTL_MS);
      const url = await archive.referenceUrl(kept.key, expires);
      c.call = {
        ...call,
        rawReference: { url, sha256: kept.sha256, expires: Math.floor(expires.getTime() / 1000) },
      };
    }
    try {
      await next();
    } catch (error) {
      if (kept !== null) await discard(kept, call);
      throw error;
    }
    if (!isAccepted(c.answer)) {
      if (kept !== null) await discard(kept, call);
      return;
    }
    if (kept === null) await keep(call);
  };
}

function recipientsOf(call: DataCall): string[] {
  return call.envelope.rcptTo.map((rcpt) => rcpt.address);
}
