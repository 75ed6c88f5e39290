// Why a recipient's delivery attempt came out as it did, as one word of a small closed set: the
// `reason` label of mxhook_delivery_attempts_total, so an operator sees at a glance whether mail
// waits on DNS, on unreachable hosts, on TLS, on a policy, or on the remote servers' answers.
//
// It is read from the RFC 3463 enhanced status code of the reply that decided the attempt. Every
// failure mxhook makes itself is written with one (mx-hosts.ts, smtp-transaction.ts,
// mx-delivery.ts), and a remote server's reply with one of the same codes means the same thing,
// whoever said it. Any other reply is the remote server's answer, counted by its class. A TLS
// failure (X.7.5) is `policy` when the delivery required TLS (MXHOOK_DELIVERY_TLS or MTA-STS
// enforce, as the delivery report's `tlsPolicy` says): then it is the requirement that held the
// mail back, where an opportunistic delivery's failed handshake is `tls`. Never free text: the
// label's values stay these few whatever the replies say.
import { statusFromReply } from './dsn.ts';
import type { AttemptOutcome } from './queue.ts';

export type DeliveryReason =
  /** Delivered. */
  | 'ok'
  /** Any other 4xx reply: greylisting, a busy or rate-limiting server, a full mailbox for now. */
  | 'remote-4xx'
  /** Any other 5xx reply: no such user, refused as spam, a message the host will never take. */
  | 'remote-5xx'
  /** No TCP connection (refused, timed out, unreachable), or it was lost or timed out later. */
  | 'connection'
  /** The STARTTLS handshake failed where TLS was only opportunistic. */
  | 'tls'
  /** No MX and no address, NXDOMAIN, a null MX (RFC 7505), or DNS not answering. */
  | 'dns'
  /** The message is larger than the host takes (RFC 1870). */
  | 'size'
  /**
   * The message needs what the host does not offer and cannot be converted: SMTPUTF8 (X.6.7,
   * RFC 6531 §3.5) or another conversion (X.6.3).
   */
  | 'content'
  /** mxhook's own trouble, not the destination's: an internal error, or it is shutting down. */
  | 'local'
  /** The queue's lifetime ran out (MXHOOK_QUEUE_LIFETIME). */
  | 'expired'
  /**
   * Required TLS could not be had (no STARTTLS, a failed handshake, a certificate that did not
   * verify, no MX host the MTA-STS policy lists): MXHOOK_DELIVERY_TLS or MTA-STS enforce.
   */
  | 'policy';

/** The reasons each outcome can have: the label pairs exported, each from the start at 0. */
export const DELIVERY_REASONS: Readonly<Record<AttemptOutcome['kind'], readonly DeliveryReason[]>> =
  {
    delivered: ['ok'],
    deferred: ['remote-4xx', 'connection', 'tls', 'dns', 'size', 'policy', 'local'],
    // Not `connection` nor `tls`: ours defer, and a remote's 5.4.1 is Microsoft's "access denied".
    failed: ['remote-5xx', 'dns', 'size', 'content', 'policy'],
    expired: ['expired'],
  };

/**
 * Enhanced status codes by subject and detail (`X.4.1` → `4.1`), from RFC 3463 §3 and the IANA
 * registry of RFC 5248.
 */
const BY_STATUS: ReadonlyMap<string, DeliveryReason> = new Map([
  ['4.1', 'connection'], // X.4.1 No answer from host (our connect failures)
  ['4.2', 'connection'], // X.4.2 Bad connection (lost, timed out mid-session)
  ['4.3', 'dns'], // X.4.3 Directory server failure (DNS did not answer)
  ['4.4', 'dns'], // X.4.4 Unable to route (no MX and no address record)
  ['1.2', 'dns'], // X.1.2 Bad destination system address (NXDOMAIN)
  ['1.10', 'dns'], // X.1.10 Recipient address has null MX (RFC 7505)
  ['3.4', 'size'], // X.3.4 Message too big for system
  ['6.3', 'content'], // X.6.3 Conversion required but not supported
  ['6.7', 'content'], // X.6.7 Non-ASCII addresses not permitted (SMTPUTF8 not offered)
  ['7.5', 'tls'], // X.7.5 Cryptographic failure (the STARTTLS handshake)
  ['7.10', 'policy'], // X.7.10 Encryption needed (a TLS requirement not met)
]);

/**
 * The words of a delivery report's `tlsPolicy` (DestinationTls.policy) that mean TLS was
 * required: `setting encrypt`, `setting verify`, `mta-sts enforce`; not `opportunistic` nor
 * `mta-sts testing`, which require nothing.
 */
const REQUIRED_TLS = /\b(?:encrypt|verify|enforce)\b/;

/**
 * The reason for one recipient's attempt outcome; `tlsPolicy` is the delivery report's, the TLS
 * policy that applied to the destination (absent: opportunistic); `local`: the delivery says the
 * reply is about mxhook itself (RecipientResult.local), whose 4.3.x a remote could say too.
 */
export function deliveryReason(
  outcome: Pick<AttemptOutcome, 'kind' | 'reply'>,
  tlsPolicy?: string,
  local = false,
): DeliveryReason {
  if (outcome.kind === 'delivered') return 'ok';
  if (outcome.kind === 'expired') return 'expired';
  if (local && DELIVERY_REASONS[outcome.kind].includes('local')) return 'local';
  const fallback = outcome.kind === 'deferred' ? 'remote-4xx' : 'remote-5xx';
  // `4.4.1` → `4.1`; a reply without an enhanced code gives `4.0.0`, which no entry matches.
  const status = statusFromReply(outcome.reply);
  let reason = status === null ? undefined : BY_STATUS.get(status.slice(2));
  if (reason === 'tls' && tlsPolicy !== undefined && REQUIRED_TLS.test(tlsPolicy))
    reason = 'policy';
  return reason !== undefined && DELIVERY_REASONS[outcome.kind].includes(reason)
    ? reason
    : fallback;
}
