// Who may use the audit endpoints. With MXHOOK_ADMIN_TOKEN set, every request must carry it as a
// bearer token (RFC 6750 §2.1), from loopback too: the listener may be bound to every address for
// metrics scraping, and loopback may be a proxy or `kubectl port-forward` for anyone. Without a
// token, only loopback peers that are not web browsers (no Origin, no Sec-Fetch-Site: a page can
// neither read the stream through DNS rebinding nor switch it), as the /queue endpoints do.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isLoopback } from '../server/admission.ts';
import { normalizeAddress } from '../server/intake.ts';

export interface AccessRefusal {
  readonly status: 401 | 403;
  readonly message: string;
}

export function auditAccessRefusal(
  token: string | null,
  request: Pick<IncomingMessage, 'headers'> & {
    readonly socket: { readonly remoteAddress?: string | undefined };
  },
): AccessRefusal | null {
  if (token !== null) {
    const given = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? '')?.[1];
    return given !== undefined && sameToken(given, token)
      ? null
      : { status: 401, message: 'a bearer token (MXHOOK_ADMIN_TOKEN) is required' };
  }
  if (!isLoopback(normalizeAddress(request.socket.remoteAddress ?? '')))
    return {
      status: 403,
      message: 'without MXHOOK_ADMIN_TOKEN, the audit endpoints answer on loopback only',
    };
  if (request.headers.origin !== undefined || request.headers['sec-fetch-site'] !== undefined)
    return { status: 403, message: 'without MXHOOK_ADMIN_TOKEN, no requests from web browsers' };
  return null;
}

/** In constant time: both sides are hashed first, so neither length nor content leaks. */
function sameToken(given: string, token: string): boolean {
  return timingSafeEqual(digest(given), digest(token));
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
