// SPF (RFC 7208) at MAIL: the MAIL FROM identity, or the HELO identity for the null sender.
import { type SPFResult, spf } from 'mailauth';
import type { AuthenticationResult, SpfVerdict } from '../../functions/sdk/wire.ts';
import type { Resolve } from './resolve.ts';

export interface SpfQuestion {
  /** The MAIL FROM address; `""` for the null sender. */
  readonly sender: string;
  /** The HELO/EHLO name, or null when the client never gave one. */
  readonly helo: string | null;
  readonly clientAddress: string;
  /** Our host name: the comment of the result names it. */
  readonly hostname: string;
  /** The most the evaluation may take, in all; then it is `temperror` (RFC 7208 §4.6.4). */
  readonly timeoutMs: number;
}

/** What DMARC needs later (mailauth's own result) and what the function sees. */
export interface SpfOutcome {
  readonly verdict: SpfVerdict;
  readonly result: SPFResult;
}

export async function checkSpf(question: SpfQuestion, resolve: Resolve): Promise<SpfOutcome> {
  const { sender, helo, clientAddress } = question;
  const result = await spf({
    sender: sender === '' ? undefined : sender,
    ip: clientAddress,
    // mailauth checks `postmaster@<helo>` for the null sender, and the address literal when
    // the client gave no usable name.
    helo: helo ?? `[${clientAddress}]`,
    mta: question.hostname,
    resolver: resolve as never,
    maxElapsedTime: question.timeoutMs,
  });
  const explanation = result.explanation;
  const verdict: SpfVerdict = {
    result: keyword(result.status.result),
    domain: result.domain,
    identity: sender === '' ? 'helo' : 'mailfrom',
    ...(explanation === undefined ? {} : { explanation }),
  };
  return { verdict, result };
}

/**
 * mailauth's result words as RFC 8601 keywords: `temperr` is its old spelling of `temperror`, and
 * `skipped`/`declined` (BIMI's) never come from SPF or DKIM but keep the union closed.
 */
export function keyword(result: string): AuthenticationResult {
  switch (result) {
    case 'temperr':
      return 'temperror';
    case 'skipped':
    case 'declined':
      return 'none';
    default:
      return result as AuthenticationResult;
  }
}
