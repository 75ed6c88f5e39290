// Response headers for every inbox page and API answer: nothing loads from elsewhere, one known script runs.
import type { MiddlewareHandler } from 'hono';
import { LIVE_UPDATE_SCRIPT_HASH } from './pages/live-update.ts';

const BASE_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'";

/**
 * The inbox's Content-Security-Policy. No script but the list's live update (by its hash, which
 * may only ask the inbox's own API), images only as `data:` URIs, inline styles only, forms
 * posting only to the inbox itself (its search and delete buttons). A `srcdoc` iframe inherits its
 * parent's policy (HTML §7.1.5, "policy container"), so this also binds the message HTML shown in
 * one: no remote loads, no tracking pixels.
 */
export const INBOX_CSP = `${BASE_CSP}; script-src ${LIVE_UPDATE_SCRIPT_HASH}; connect-src 'self'; form-action 'self'`;

/** The policy repeated inside the message HTML's frame: no script, no fetch, no form at all. */
export const MESSAGE_FRAME_CSP = `${BASE_CSP}; form-action 'none'`;

/**
 * Sets the inbox's security headers. Framing is refused with X-Frame-Options rather than the CSP
 * `frame-ancestors` directive, which a `srcdoc` iframe would inherit and could then refuse itself.
 */
export function securityHeaders(): MiddlewareHandler {
  return async function securityHeadersMiddleware(c, next) {
    await next();
    c.header('Content-Security-Policy', INBOX_CSP);
    c.header('X-Frame-Options', 'DENY');
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    // Private mail: never kept by a browser or proxy cache.
    c.header('Cache-Control', 'no-store');
  };
}
