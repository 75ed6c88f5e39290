// Response headers for every inbox page and API answer: nothing loads from elsewhere, nothing runs.
import type { MiddlewareHandler } from 'hono';

/**
 * The inbox's Content-Security-Policy. No scripts at all, images only as `data:` URIs, inline
 * styles only. A `srcdoc` iframe inherits its parent's policy (HTML §7.1.5, "policy container"),
 * so this also binds the message HTML shown in one: no remote loads, no tracking pixels.
 */
export const INBOX_CSP =
  "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

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
