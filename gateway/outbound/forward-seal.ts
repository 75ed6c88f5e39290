// The ARC set (RFC 8617) a forwarded message gets: ARC-Authentication-Results with the verdicts
// we reached, an ARC-Message-Signature over the message as we pass it on, and an ARC-Seal over
// the chain, signed with mailauth (whose verifier the gateway already runs on incoming chains).
import { Readable } from 'node:stream';
import { createSeal } from 'mailauth';
import type { HookArgs } from '../handler.ts';

/** The key that seals: MXHOOK_DKIM_SIGN's entry for the SRS domain (or a domain it is under). */
export interface ArcSealKey {
  readonly domain: string;
  readonly selector: string;
  /** PEM. */
  readonly privateKey: string;
  readonly algorithm: 'rsa-sha256' | 'ed25519-sha256';
}

/** cv= of our seal (RFC 8617 §5.1.1): the incoming chain's validation; null when not checked. */
export type ChainValidation = 'none' | 'pass' | 'fail';

/**
 * The incoming chain's state from the gateway's ARC verdict: `none` without a chain, `pass`, and
 * `fail` for anything else (a chain we could not validate is not vouched for). Null when the ARC
 * check is off: then only a message without any ARC set can be sealed (as i=1, cv=none).
 */
export function chainValidationOf(call: HookArgs<'data'>): ChainValidation | null {
  const verdict = call.authentication?.arc;
  if (verdict === undefined) return null;
  if (verdict.result === 'none' || verdict.result === 'pass') return verdict.result;
  return 'fail';
}

/**
 * The message with an ARC set on top, or why it could not be sealed (a chain of 50 sets already,
 * a newest seal that says cv=fail, an existing chain we did not validate).
 */
export async function sealForwarded(
  body: readonly Buffer[],
  key: ArcSealKey,
  authResults: string,
  cv: ChainValidation | null,
): Promise<{ body: readonly Buffer[] } | { error: string }> {
  const result = await createSeal(Readable.from(body), {
    seal: {
      signingDomain: key.domain,
      selector: key.selector,
      privateKey: key.privateKey,
      algorithm: key.algorithm,
      // RFC 8601 values may be folded; the AAR carries them as one logical line either way.
      authResults: authResults.replace(/\r\n(?=[ \t])/g, ''),
      ...(cv === null ? {} : { cv }),
    },
  });
  if (result.headers.length === 0) {
    const reasons = result.errors.map((error) => error.err.message);
    return { error: `ARC sealing refused: ${reasons.join('; ') || 'no ARC set was made'}` };
  }
  return { body: [Buffer.from(`${result.headers.join('\r\n')}\r\n`), ...body] };
}
