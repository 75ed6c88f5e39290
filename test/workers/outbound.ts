// Runs in Node: answers the fetches that Worker tests make, standing in for a gateway's JWKS endpoint.
import type { Request as MiniflareRequest } from 'miniflare';

/** Where tests publish key sets: `PUT https://jwks.test/<name>` stores one, `GET` serves it. */
export const JWKS_ORIGIN = 'https://jwks.test';
/** An endpoint that always fails, for "the JWKS could not be fetched". */
export const BROKEN_JWKS_URL = 'https://jwks-down.test/.well-known/jwks.json';

const published = new Map<string, string>();

/**
 * Miniflare's `outboundService`: every `fetch` a test Worker makes ends here, so nothing leaves
 * the machine. Unknown hosts get 502.
 */
export async function outbound(request: MiniflareRequest): Promise<Response> {
  const url = new URL(request.url);
  if (url.origin !== JWKS_ORIGIN)
    return new Response('no such host in the Worker tests', { status: 502 });
  if (request.method === 'PUT') {
    published.set(url.pathname, await request.text());
    return new Response(null, { status: 204 });
  }
  const body = published.get(url.pathname);
  if (body === undefined) return new Response('not found', { status: 404 });
  return new Response(body, { headers: { 'content-type': 'application/json' } });
}
