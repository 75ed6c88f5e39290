// The admin listener's audit endpoints (who may call them: admin-token.ts):
//
//   GET /v1/audit/stream[?types=session,decision,…]  the live stream (text/event-stream)
//   GET /v1/audit                                    the switch, active types, subscribers
//   PUT /v1/audit  {"enabled": true|false}           switch on or off (off ends open streams)
import type { IncomingMessage, ServerResponse } from 'node:http';
import { auditAccessRefusal } from './admin-token.ts';
import { AUDIT_TYPES, type AuditType, DEFAULT_AUDIT_TYPES, isAuditType } from './audit-events.ts';
import { type AuditHub, MAX_SUBSCRIBERS } from './audit-hub.ts';
import { sseRetry } from './sse-frame.ts';

export const AUDIT_PATH = '/v1/audit';
export const AUDIT_STREAM_PATH = '/v1/audit/stream';

/** How long `mxhook tail` and browsers wait before reconnecting. */
const RECONNECT_MS = 1_000;
/** The switch's JSON body is a few bytes; anything longer is not one. */
const MAX_BODY_BYTES = 1024;

export interface AuditAdmin {
  readonly hub: AuditHub;
  /** MXHOOK_ADMIN_TOKEN; null: loopback only. */
  readonly token: string | null;
}

export function isAuditPath(path: string): boolean {
  return path === AUDIT_PATH || path.startsWith(`${AUDIT_PATH}/`);
}

export async function auditRequest(
  admin: AuditAdmin | null,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
): Promise<void> {
  if (admin === null) return sendJson(response, 404, { error: 'no audit stream here' });
  const refusal = auditAccessRefusal(admin.token, request);
  if (refusal !== null) {
    if (refusal.status === 401) response.setHeader('www-authenticate', 'Bearer realm="mxhook"');
    return sendJson(response, refusal.status, { error: refusal.message });
  }
  const method = request.method ?? 'GET';
  if (url.pathname === AUDIT_STREAM_PATH) {
    if (method !== 'GET') return notAllowed(response, 'GET');
    return stream(admin.hub, request, response, url);
  }
  if (url.pathname !== AUDIT_PATH) return sendJson(response, 404, { error: 'not found' });
  if (method === 'GET' || method === 'HEAD') return sendJson(response, 200, admin.hub.status());
  if (method !== 'PUT' && method !== 'POST') return notAllowed(response, 'GET, PUT');
  const enabled = parseSwitch(await readBody(request));
  if (enabled === null)
    return sendJson(response, 400, {
      error: 'the body must be {"enabled": true} or {"enabled": false}',
    });
  admin.hub.setEnabled(enabled);
  return sendJson(response, 200, admin.hub.status());
}

function stream(hub: AuditHub, request: IncomingMessage, response: ServerResponse, url: URL): void {
  const types = typesOf(url.searchParams.get('types'));
  if (typeof types === 'string') {
    sendJson(response, 400, { error: types });
    return;
  }
  if (hub.subscriberCount >= MAX_SUBSCRIBERS) {
    sendJson(response, 503, { error: `${MAX_SUBSCRIBERS} audit streams are open already` });
    return;
  }
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    // Proxies such as nginx would otherwise hold events back to fill their buffers.
    'x-accel-buffering': 'no',
  });
  response.write(sseRetry(RECONNECT_MS));
  const lastEventId = request.headers['last-event-id'];
  hub.subscribe(response, types, typeof lastEventId === 'string' ? lastEventId : null);
}

/** `?types=a,b`; absent or empty: DEFAULT_AUDIT_TYPES. */
export function typesOf(text: string | null): ReadonlySet<AuditType> | string {
  if (text === null || text.trim() === '') return new Set(DEFAULT_AUDIT_TYPES);
  const types = new Set<AuditType>();
  for (const word of text.split(',')) {
    const type = word.trim().toLowerCase();
    if (!isAuditType(type))
      return `unknown type ${JSON.stringify(type)}; the types are ${AUDIT_TYPES.join(', ')}`;
    types.add(type);
  }
  return types;
}

function parseSwitch(body: string | null): boolean | null {
  if (body === null) return null;
  try {
    const parsed = JSON.parse(body) as { enabled?: unknown } | null;
    return typeof parsed?.enabled === 'boolean' ? parsed.enabled : null;
  } catch {
    return null;
  }
}

/** The request body as text, or null past MAX_BODY_BYTES. */
async function readBody(request: IncomingMessage): Promise<string | null> {
  let text = '';
  for await (const chunk of request) {
    text += String(chunk);
    if (text.length > MAX_BODY_BYTES) return null;
  }
  return text;
}

function notAllowed(response: ServerResponse, allowed: string): void {
  response.setHeader('allow', allowed);
  sendJson(response, 405, { error: `method not allowed (${allowed})` });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}
