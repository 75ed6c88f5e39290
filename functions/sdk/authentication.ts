// Helpers that read the gateway's authentication verdicts (`call.authentication`) of any step.
import type { Authentication, AuthenticationResult, ReverseDnsVerdict } from './wire.ts';

/** Any step's request, or anything else carrying the gateway's verdicts (a stored record, say). */
export interface WithAuthentication {
  readonly authentication?: Authentication | undefined;
}

export interface DmarcRejectOptions {
  /**
   * Apply the domain's `pct=` (RFC 7489 §6.3): a failing message is refused with that
   * probability (`Math.random()`), so `pct=20` refuses about one in five. Off by default: every
   * DMARC failure under `p=reject` is refused, whatever the percentage, so the answer does not
   * change when the sender retries.
   */
  readonly honourPercent?: boolean;
}

/**
 * Whether the From domain's owner asks for this message to be refused: DMARC `fail` under
 * `p=reject` (the record's `sp=` for a subdomain). False when DMARC was not checked (not yet at
 * this step, or the check is off), and for every other result, `temperror` included.
 *
 * @example
 * ```ts
 * data: (call) =>
 *   dmarcFailsWithReject(call)
 *     ? reject('DMARC policy of the From domain', { code: 550, enhanced: '5.7.1' })
 *     : accept(),
 * ```
 */
export function dmarcFailsWithReject(
  call: WithAuthentication,
  options: DmarcRejectOptions = {},
): boolean {
  const dmarc = call.authentication?.dmarc;
  if (dmarc?.result !== 'fail' || dmarc.policy !== 'reject') return false;
  // A record without pct= applies to all failing mail (RFC 7489 §6.3: the default is 100).
  const percent = dmarc.percent ?? 100;
  return options.honourPercent !== true || Math.random() * 100 < percent;
}

/** One word per check, for logs and lists; null where the call carries no result for the check. */
export interface VerdictSummary {
  readonly rdns: ReverseDnsVerdict['result'] | null;
  readonly spf: AuthenticationResult | null;
  /** See {@link verdictSummary}: the best result of any signature, `none` when unsigned. */
  readonly dkim: AuthenticationResult | null;
  readonly dmarc: AuthenticationResult | null;
  readonly arc: AuthenticationResult | null;
  /** `sender.acceptsMail`: false for a domain that cannot receive a bounce; null when unknown. */
  readonly senderAcceptsMail: boolean | null;
}

// Most favourable first (lowest rank): a pass; then a check a retry may pass; then the
// non-committal results; then the failures, one that could not be evaluated before one that did
// not verify. A Record, so a result keyword added to the wire contract must be ranked here.
const DKIM_RANK: Readonly<Record<AuthenticationResult, number>> = {
  pass: 0,
  temperror: 1,
  neutral: 2,
  softfail: 3,
  policy: 4,
  permerror: 5,
  fail: 6,
  none: 7,
};

function bestDkimResult(signatures: Authentication['dkim']): AuthenticationResult | null {
  if (signatures === undefined) return null;
  // RFC 8601 §2.7.1: `none` is a message that is not signed.
  if (signatures.length === 0) return 'none';
  return signatures
    .map((signature) => signature.result)
    .reduce((best, result) => (DKIM_RANK[result] < DKIM_RANK[best] ? result : best));
}

/**
 * The verdicts as one word each. `dkim` is the best result of any of the message's signatures
 * (`pass` when one passes, aligned or not: whether a passing signature aligns with the From domain
 * is what `dmarc` judges), `none` for a message without signatures. A null is a check this call
 * has no result for: off (`MXHOOK_AUTH_CHECKS`) or not run yet at this step.
 *
 * @example
 * ```ts
 * console.log(call.id, verdictSummary(call)); // { rdns: 'pass', spf: 'pass', dkim: 'pass', … }
 * ```
 */
export function verdictSummary(call: WithAuthentication): VerdictSummary {
  const verdicts = call.authentication;
  return {
    rdns: verdicts?.rdns?.result ?? null,
    spf: verdicts?.spf?.result ?? null,
    dkim: bestDkimResult(verdicts?.dkim),
    dmarc: verdicts?.dmarc?.result ?? null,
    arc: verdicts?.arc?.result ?? null,
    senderAcceptsMail: verdicts?.sender?.acceptsMail ?? null,
  };
}
