// The admin listener's /queue endpoints, JSON in and out, the same operations as `mxhook queue`:
//
//   GET    /queue[?limit=N]   messages with a recipient not final, oldest first
//   GET    /queue/<id>        one message, its recipients with their state
//   POST   /queue/<id>/retry  every queued recipient due now
//   POST   /queue/<id>/bounce returned to its sender (a notice), then out of the queue
//   DELETE /queue/<id>        out of the queue, nobody told
//
// They show addresses and change the queue, and take no token, so they answer loopback peers only
// (the CLI, `kubectl port-forward`, `docker exec`), even where the listener is bound to every
// address so that /metrics can be scraped (the image and the Kubernetes manifests do that).
// Requests a web browser makes are refused too (they carry Origin or Sec-Fetch-Site), so a page
// the operator visits can neither change the queue (cross-site POST) nor read it (DNS rebinding
// onto 127.0.0.1).
import type { IncomingMessage } from 'node:http';
import type { OutboundQueue } from '../outbound/queue.ts';
import {
  bounceMessage,
  DEFAULT_LIST_LIMIT,
  deleteMessage,
  listMessages,
  retryMessage,
  showMessage,
} from '../outbound/queue-operations.ts';
import { isLoopback } from '../server/admission.ts';
import { normalizeAddress } from '../server/intake.ts';

export interface QueueAdmin {
  readonly queue: OutboundQueue;
  /** This MTA's host name: the Reporting-MTA of the notices a bounce sends. */
  readonly hostname: string;
}

export interface QueueResponse {
  readonly status: number;
  readonly body: unknown;
}

/** Queue ids are URL-safe: `[0-9a-f]` today; anything else is no id of ours. */
const ID = '[A-Za-z0-9_.-]{1,128}';
const ROUTE = new RegExp(`^/queue(?:/(${ID})(?:/(retry|bounce))?)?/?$`);

export function isQueuePath(path: string): boolean {
  return path === '/queue' || path.startsWith('/queue/');
}

export async function queueRequest(
  admin: QueueAdmin | null,
  request: Pick<IncomingMessage, 'method' | 'headers'> & {
    readonly socket: { readonly remoteAddress?: string | undefined };
  },
  url: URL,
): Promise<QueueResponse> {
  if (!isLoopback(normalizeAddress(request.socket.remoteAddress ?? '')))
    return error(403, 'the queue endpoints answer on loopback only');
  if (request.headers.origin !== undefined || request.headers['sec-fetch-site'] !== undefined)
    return error(403, 'the queue endpoints take no requests from web browsers');
  if (admin === null) return error(404, 'no outbound queue: MXHOOK_QUEUE is off');
  const match = ROUTE.exec(url.pathname);
  if (match === null) return error(404, 'not found');
  const [, id, action] = match;
  const method = request.method ?? 'GET';
  const { queue, hostname } = admin;
  if (id === undefined) {
    if (method !== 'GET' && method !== 'HEAD') return notAllowed('GET');
    const limitText = url.searchParams.get('limit');
    const limit = limitText === null ? DEFAULT_LIST_LIMIT : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1)
      return error(400, 'limit must be a positive integer');
    return { status: 200, body: { messages: await listMessages(queue, limit) } };
  }
  if (action === undefined) {
    if (method === 'GET' || method === 'HEAD') {
      const message = await showMessage(queue, id);
      return message === null ? noSuch(id) : { status: 200, body: message };
    }
    if (method === 'DELETE')
      return (await deleteMessage(queue, id))
        ? { status: 200, body: { id, deleted: true } }
        : noSuch(id);
    return notAllowed('GET, DELETE');
  }
  if (method !== 'POST') return notAllowed('POST');
  if (action === 'retry')
    return (await retryMessage(queue, id))
      ? { status: 200, body: { id, retried: true } }
      : noSuch(id);
  const bounced = await bounceMessage(queue, id, { hostname });
  return bounced === null ? noSuch(id) : { status: 200, body: bounced };
}

function error(status: number, message: string): QueueResponse {
  return { status, body: { error: message } };
}

function noSuch(id: string): QueueResponse {
  return error(404, `no message ${id} in the queue`);
}

function notAllowed(allowed: string): QueueResponse {
  return { status: 405, body: { error: `method not allowed (${allowed})` } };
}
