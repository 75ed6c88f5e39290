// Admin HTTP for operators: liveness, readiness, metrics and the JWKS consumers verify signatures with.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SEND_PATH } from '../../functions/sdk/send-message.ts';
import type { PublicJwks } from '../../functions/sdk/sign.ts';
import type { RawRoute } from '../archive/raw-route.ts';
import { type AuditAdmin, auditRequest, isAuditPath } from '../audit/audit-routes.ts';
import { MxhookError } from '../errors.ts';
import { VERSION } from '../version.ts';
import { isQueuePath, type QueueAdmin, queueRequest } from './queue-routes.ts';

/** What each endpoint is for, listed at `/` so an operator opening the admin URL finds them. */
const ENDPOINTS = {
  '/healthz': 'liveness: 200 while the process runs',
  '/readyz':
    'readiness: 200 while accepting mail, 503 while draining or the queue cannot be written',
  '/metrics': 'Prometheus metrics',
  '/.well-known/jwks.json': "the public keys that verify the gateway's Ed25519 signatures",
  '/queue': 'the outbound queue (GET; /queue/<id>: GET, DELETE; /queue/<id>/retry, /bounce: POST)',
  [SEND_PATH]: 'the send API (POST a message as JSON; bearer token or signed request)',
  '/v1/audit': 'the live audit stream: /v1/audit/stream (server-sent events); GET, PUT the switch',
} as const;

export interface AdminServerOptions {
  readonly host: string;
  readonly port: number;
  /** Listeners bound and not draining. */
  readonly isReady: () => boolean;
  readonly jwks: PublicJwks;
  /** Prometheus text exposition, when metrics are collected. */
  readonly metrics?: { readonly contentType: string; readonly render: () => Promise<string> };
  /** The outbound queue, for /queue (as private as this listener: it takes no token). */
  readonly queue?: QueueAdmin;
  /** The live audit stream, for /v1/audit (token-protected: audit-routes.ts). */
  readonly audit?: AuditAdmin;
  /** Archived messages by signed URL, /v1/messages/<key>/raw (the URL is the credential). */
  readonly rawMessages?: RawRoute;
  /** The send API at /v1/send; absent: answered 404 ERR_SEND_OFF. */
  readonly send?: { handle(request: IncomingMessage, response: ServerResponse): Promise<void> };
}

export class AdminServer {
  readonly #server: Server;
  readonly #options: AdminServerOptions;

  constructor(options: AdminServerOptions) {
    this.#options = options;
    this.#server = createServer((request, response) => {
      this.#route(request, response).catch(() =>
        send(response, 500, 'text/plain', 'internal error\n'),
      );
    });
  }

  async start(): Promise<AddressInfo> {
    const { host, port } = this.#options;
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', (cause) =>
        reject(
          new MxhookError(
            'ERR_LISTEN_FAILED',
            `cannot listen on ${host}:${port}: ${cause.message}`,
            { cause },
          ),
        ),
      );
      this.#server.listen(port, host, () => resolve());
    });
    return this.#server.address() as AddressInfo;
  }

  stop(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  async #route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://admin');
    if (await this.#options.rawMessages?.handle(request, response, url)) return;
    if (isAuditPath(url.pathname))
      return auditRequest(this.#options.audit ?? null, request, response, url);
    if (url.pathname === SEND_PATH) {
      if (this.#options.send !== undefined) return this.#options.send.handle(request, response);
      const off = {
        error: {
          code: 'ERR_SEND_OFF',
          message: 'the send API is off: set MXHOOK_SEND_TOKEN (or MXHOOK_SEND_SIGNED=true)',
        },
      };
      return send(response, 404, 'application/json', `${JSON.stringify(off)}\n`);
    }
    if (isQueuePath(url.pathname)) {
      const { status, body } = await queueRequest(this.#options.queue ?? null, request, url);
      return send(response, status, 'application/json', `${JSON.stringify(body, null, 2)}\n`);
    }
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return send(response, 405, 'text/plain', 'method not allowed\n');
    switch (url.pathname) {
      case '/': {
        const listed = Object.entries(ENDPOINTS).filter(
          ([endpoint]) =>
            (endpoint !== '/metrics' || this.#options.metrics !== undefined) &&
            (endpoint !== '/queue' || this.#options.queue !== undefined) &&
            (endpoint !== SEND_PATH || this.#options.send !== undefined) &&
            (endpoint !== '/v1/audit' || this.#options.audit !== undefined),
        );
        const index = {
          service: 'mxhook',
          version: VERSION,
          endpoints: Object.fromEntries(listed),
        };
        return send(response, 200, 'application/json', `${JSON.stringify(index, null, 2)}\n`);
      }
      case '/healthz':
        return send(response, 200, 'text/plain', 'ok\n');
      case '/readyz':
        return this.#options.isReady()
          ? send(response, 200, 'text/plain', 'ready\n')
          : send(response, 503, 'text/plain', 'not ready\n');
      case '/.well-known/jwks.json':
        // Consumers cache the key set; rotation publishes the new key before it signs.
        response.setHeader('cache-control', 'public, max-age=300');
        return send(response, 200, 'application/jwk-set+json', JSON.stringify(this.#options.jwks));
      case '/metrics': {
        const metrics = this.#options.metrics;
        if (metrics === undefined)
          return send(response, 404, 'text/plain', 'metrics not enabled\n');
        return send(response, 200, metrics.contentType, await metrics.render());
      }
      default:
        return send(response, 404, 'text/plain', 'not found\n');
    }
  }
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
