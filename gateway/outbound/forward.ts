// Forwarding: a data answer's `"forward": [addresses]`. The message goes on as it was received
// (the bytes the function saw, with our Received and Authentication-Results), so the original's
// DKIM signature still verifies; its envelope sender is rewritten with SRS, so SPF at the
// destination passes for us and a bounce comes back to us (srs-bounces.ts routes it); and an ARC
// set records what we verified, so a DMARC-protected message that no longer passes SPF there can
// still be trusted by a receiver that trusts us (RFC 8617).
import { MxhookError } from '../errors.ts';
import type { HookAnswer, HookArgs } from '../handler.ts';
import { parsePathArgument } from '../smtp/path.ts';
import { type ArcSealKey, chainValidationOf, sealForwarded } from './forward-seal.ts';
import type { NewMessage } from './queue.ts';
import { type SrsSettings, srsForward } from './srs.ts';

export interface ForwardSettings {
  /** Null when MXHOOK_SRS_SECRET is not set: then nothing can be forwarded. */
  readonly srs: SrsSettings | null;
  /** Null when no MXHOOK_DKIM_SIGN key covers the SRS domain: forwarded mail is not sealed. */
  readonly seal: ArcSealKey | null;
  /** At most this many addresses per answer (MXHOOK_MAX_RECIPIENTS). */
  readonly maxAddresses: number;
  /** Our host name: the authserv-id of the ARC-Authentication-Results when no check ran. */
  readonly hostname: string;
}

type DataCall = HookArgs<'data'>;

/**
 * The answer's `forward` addresses, each once (compared case-insensitively); empty when it has
 * none.
 *
 * @throws MxhookError ERR_HOOK_RESPONSE when `forward` is not a list of mailboxes, or too long.
 */
export function forwardAddresses(answer: HookAnswer, maxAddresses: number): readonly string[] {
  const forward = (answer as { forward?: unknown } | undefined)?.forward;
  if (forward === undefined || forward === null) return [];
  if (!Array.isArray(forward) || !forward.every((entry) => typeof entry === 'string')) {
    throw new MxhookError('ERR_HOOK_RESPONSE', '"forward" must be a list of addresses');
  }
  if (forward.length > maxAddresses) {
    throw new MxhookError(
      'ERR_HOOK_RESPONSE',
      `"forward" lists ${forward.length} addresses; at most ${maxAddresses} (MXHOOK_MAX_RECIPIENTS)`,
    );
  }
  const byLowerCase = new Map<string, string>();
  for (const address of forward as readonly string[]) {
    if (!isMailbox(address)) {
      throw new MxhookError(
        'ERR_HOOK_RESPONSE',
        `"forward" names ${JSON.stringify(address.slice(0, 100))}, which is not a mailbox local@domain`,
      );
    }
    if (!byLowerCase.has(address.toLowerCase())) byLowerCase.set(address.toLowerCase(), address);
  }
  return [...byLowerCase.values()];
}

/** A mailbox as RCPT TO would take it, with a domain (`postmaster` alone is not one). */
export function isMailbox(address: string): boolean {
  if (/[<>\s]/.test(address)) return false;
  const parsed = parsePathArgument(`TO:<${address}>`, 'TO');
  return parsed.ok && parsed.path.address.includes('@');
}

export interface ForwardedMessage {
  readonly message: NewMessage;
  /** Why the message goes unsealed, when it does (logged by the caller); null when sealed. */
  readonly unsealed: string | null;
}

/**
 * The message to queue for `addresses`: SRS sender, ARC set on top, body as received.
 *
 * @throws MxhookError ERR_SRS_OFF when MXHOOK_SRS_SECRET is not set.
 */
export async function forwardedMessage(
  call: DataCall,
  addresses: readonly string[],
  settings: ForwardSettings,
  params: Pick<NewMessage, 'smtputf8' | 'eightBit'>,
): Promise<ForwardedMessage> {
  if (settings.srs === null) {
    throw new MxhookError(
      'ERR_SRS_OFF',
      'the data answer asks to forward the message, but MXHOOK_SRS_SECRET is not set',
    );
  }
  const sender = srsForward(call.envelope.mailFrom?.address ?? '', settings.srs);
  const sealed = await seal(call, settings);
  return {
    message: {
      sender,
      recipients: addresses.map((address) => ({ address })),
      body: sealed.body,
      ...params,
      origin: call.message.queueId,
    },
    unsealed: sealed.unsealed,
  };
}

async function seal(
  call: DataCall,
  settings: ForwardSettings,
): Promise<{ body: readonly Buffer[]; unsealed: string | null }> {
  const body = call.message.chunks;
  if (settings.seal === null) {
    return { body, unsealed: 'no MXHOOK_DKIM_SIGN key covers MXHOOK_SRS_DOMAIN' };
  }
  // The same results as our Authentication-Results header (RFC 8617 §4.1.1).
  const authResults = call.authentication?.header ?? `${settings.hostname}; none`;
  const result = await sealForwarded(body, settings.seal, authResults, chainValidationOf(call));
  return 'error' in result
    ? { body, unsealed: result.error }
    : { body: result.body, unsealed: null };
}
