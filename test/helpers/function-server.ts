// A real HTTP function on 127.0.0.1:0 for bridge tests: records every request byte for byte, answers per step by script.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { RequestFor, Step, StepRequest } from '../../functions/sdk/wire.ts';
import { Arrivals, WAIT_MS } from './wait.ts';

/** How the function answers one request. */
export type Behaviour =
  /**
   * HTTP `status` (default 200) with `body` as JSON, after `delayMs` (default 0). With
   * `closeAfter`, the connection is dropped right after the answer without announcing it (no
   * `Connection: close`), as a server that restarts or times the connection out would. With
   * `resetNext`, the next request on the same connection is reset unread and unrecorded, as when
   * the server times an idle connection out just as the caller reuses it.
   */
  | {
      readonly kind: 'json';
      readonly body: unknown;
      readonly status?: number;
      readonly delayMs?: number;
      readonly closeAfter?: boolean;
      readonly resetNext?: boolean;
    }
  /** An HTTP status with a short text body. */
  /** `status` with `body` as JSON, or a short text when there is none. */
  | { readonly kind: 'status'; readonly status: number; readonly body?: unknown }
  /** 200 with `body` exactly as given (e.g. not JSON). */
  | { readonly kind: 'raw'; readonly body: string | Uint8Array; readonly contentType?: string }
  /** 200 with a valid JSON answer padded to `bytes` bytes. */
  | { readonly kind: 'oversized'; readonly bytes: number }
  /** Headers and half a body, then `socket.destroy()`. */
  | { readonly kind: 'destroy-mid-response' }
  /** `status`, then a chunked body that never ends: 16 KiB every 10 ms until the client goes. */
  | { readonly kind: 'endless'; readonly status: number }
  /** Never answers; the connection stays open until the caller gives up or the server closes. */
  | { readonly kind: 'hang' };

/** A behaviour, or a function choosing one for the request (it may wait, e.g. on a test's gate). */
export type Responder = Behaviour | ((request: RecordedRequest) => Behaviour | Promise<Behaviour>);

export interface RecordedRequest<Body = StepRequest> {
  readonly method: string;
  /** The request path, e.g. `/hooks/rcpt`. */
  readonly path: string;
  /** The last path segment: the step the gateway called. */
  readonly step: string;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The exact body bytes received. */
  readonly raw: Buffer;
  /** The body parsed as JSON, typed as what the gateway promises to send (the tests check it does). */
  readonly body: Body;
  /** Which TCP connection carried the request, numbered from 1 in accept order. */
  readonly connection: number;
  /** Resolves when the caller closed the connection before the answer was complete. */
  readonly aborted: Promise<void>;
}

export interface FunctionServer {
  readonly server: Server;
  /** Base URL to give as MXHOOK_FUNCTION_URL (ends in `/`). */
  readonly url: string;
  readonly port: number;
  readonly requests: readonly RecordedRequest[];
  /** TCP connections accepted so far. */
  readonly connectionCount: number;
  /** TCP connections open right now. */
  readonly openConnections: number;
  /** Requests reset unread because of `resetNext`; not in `requests`. */
  readonly droppedRequests: number;
  requestsFor<S extends Step>(step: S): RecordedRequest<RequestFor<S>>[];
  /** Answers every later request for `step` this way (replacing any earlier `answer`). */
  answer(step: Step, responder: Responder): void;
  /** Answers the next request for `step` this way, once, before falling back to `answer`. */
  answerOnce(step: Step, responder: Responder): void;
  /** Resolves with the `count`-th request for `step` (1-based), waiting for it if needed. */
  waitForRequest<S extends Step>(
    step: S,
    count?: number,
    timeoutMs?: number,
  ): Promise<RecordedRequest<RequestFor<S>>>;
  close(): Promise<void>;
}

export interface FunctionServerOptions {
  /** A path prefix the URL carries, e.g. `/hooks`; default none. */
  readonly basePath?: string;
  /** Listen on this port (e.g. one a closed function server used); default a free one. */
  readonly port?: number;
}

/** Accepts every step; `data` needs an explicit accept, as any real function must give. */
export const ACCEPT: Behaviour = { kind: 'json', body: { action: 'accept' } };

const running = new Set<FunctionServer>();

/** Every request recorded by the function servers still open, in no particular order. */
export function recordedRequests(): RecordedRequest[] {
  return [...running].flatMap((server) => server.requests);
}

/** Closes every function server this test file started and has not closed; for `afterEach`. */
export async function closeAllFunctionServers(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.all(all.map((server) => server.close()));
}

export async function startFunctionServer(
  options: FunctionServerOptions = {},
): Promise<FunctionServer> {
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  const requests: RecordedRequest[] = [];
  const standing = new Map<string, Responder>();
  const once = new Map<string, Responder[]>();
  const arrivals = new Arrivals();
  const connectionIds = new WeakMap<Socket, number>();
  let connections = 0;
  const open = new Set<Socket>();
  const doomed = new WeakSet<Socket>();
  let dropped = 0;

  const responderFor = (step: string): Responder =>
    once.get(step)?.shift() ?? standing.get(step) ?? ACCEPT;

  const server = createServer((request, response) => {
    void handle(request, response);
  });
  server.on('connection', (socket) => {
    connections += 1;
    connectionIds.set(socket, connections);
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (doomed.has(request.socket)) {
      dropped += 1;
      request.socket.resetAndDestroy();
      return;
    }
    const connection = connectionIds.get(request.socket) ?? 0;
    let markAborted!: () => void;
    const aborted = new Promise<void>((resolve) => {
      markAborted = resolve;
    });
    response.on('close', () => {
      if (!response.writableFinished) markAborted();
    });
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
    } catch {
      return; // the caller went away before the body was complete: nothing to record or answer
    }
    const raw = Buffer.concat(chunks);
    const path = new URL(request.url ?? '/', 'http://function').pathname;
    const recorded: RecordedRequest = {
      method: request.method ?? '',
      path,
      step: path.slice(path.lastIndexOf('/') + 1),
      headers: { ...request.headers },
      raw,
      body: parseJson(raw) as StepRequest,
      connection,
      aborted,
    };
    requests.push(recorded);
    arrivals.notify();
    const responder = responderFor(recorded.step);
    const behaviour = typeof responder === 'function' ? await responder(recorded) : responder;
    if (behaviour.kind === 'json' && behaviour.resetNext) doomed.add(request.socket);
    await perform(behaviour, response);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | null = null;

  const requestsFor = <S extends Step>(step: S): RecordedRequest<RequestFor<S>>[] =>
    requests.filter((request) => request.step === step) as RecordedRequest<RequestFor<S>>[];

  const functionServer: FunctionServer = {
    server,
    url: `http://127.0.0.1:${port}${basePath}/`,
    port,
    requests,
    get connectionCount() {
      return connections;
    },
    get openConnections() {
      return open.size;
    },
    get droppedRequests() {
      return dropped;
    },
    requestsFor,
    answer(step, responder) {
      standing.set(step, responder);
    },
    answerOnce(step, responder) {
      const queue = once.get(step) ?? [];
      queue.push(responder);
      once.set(step, queue);
    },
    waitForRequest<S extends Step>(step: S, count = 1, timeoutMs = WAIT_MS) {
      return arrivals.nth(
        () => requestsFor(step),
        count,
        timeoutMs,
        () =>
          `no ${step} request #${count} (saw ${requests.map((r) => r.step).join(', ') || 'none'})`,
      );
    },
    close() {
      running.delete(functionServer);
      closing ??= new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
  running.add(functionServer);
  return functionServer;
}

/** Shorthand for a JSON answer. */
export function json(
  body: unknown,
  options: { status?: number; delayMs?: number; closeAfter?: boolean; resetNext?: boolean } = {},
): Behaviour {
  return { kind: 'json', body, ...options };
}

/** A responder that holds each request until the test calls `open`, then answers with `behaviour`. */
export function gated(): { readonly responder: Responder; open(behaviour: Behaviour): void } {
  let release!: (behaviour: Behaviour) => void;
  const opened = new Promise<Behaviour>((resolve) => {
    release = resolve;
  });
  return { responder: () => opened, open: (behaviour) => release(behaviour) };
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

async function perform(behaviour: Behaviour, response: ServerResponse): Promise<void> {
  switch (behaviour.kind) {
    case 'json': {
      if (behaviour.delayMs !== undefined && behaviour.delayMs > 0) {
        const gone = await delayUnlessClosed(behaviour.delayMs, response);
        if (gone) return;
      }
      send(response, behaviour.status ?? 200, 'application/json', JSON.stringify(behaviour.body));
      if (behaviour.closeAfter) response.once('finish', () => response.socket?.destroy());
      return;
    }
    case 'status':
      return behaviour.body === undefined
        ? send(response, behaviour.status, 'text/plain', `HTTP ${behaviour.status}\n`)
        : send(response, behaviour.status, 'application/json', JSON.stringify(behaviour.body));
    case 'raw':
      return send(response, 200, behaviour.contentType ?? 'application/json', behaviour.body);
    case 'oversized': {
      const padding = 'x'.repeat(Math.max(0, behaviour.bytes - 40));
      return send(response, 200, 'application/json', JSON.stringify({ action: 'accept', padding }));
    }
    case 'destroy-mid-response': {
      const body = JSON.stringify({ action: 'accept', message: 'this answer never arrives whole' });
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      // Headers and half the body reach the wire before the connection dies.
      response.write(body.slice(0, body.length >> 1), () => response.socket?.destroy());
      return;
    }
    case 'endless': {
      response.writeHead(behaviour.status, { 'content-type': 'application/json' });
      const chunk = 'x'.repeat(16 * 1024);
      const timer = setInterval(() => response.write(chunk), 10);
      response.once('close', () => clearInterval(timer));
      return;
    }
    case 'hang':
      return;
  }
}

function send(
  response: ServerResponse,
  status: number,
  contentType: string,
  body: string | Uint8Array,
): void {
  if (response.destroyed) return;
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength,
  });
  response.end(body);
}

/** Waits `ms`; resolves true early if the caller went away meanwhile. */
function delayUnlessClosed(ms: number, response: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const onClose = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      response.off('close', onClose);
      resolve(false);
    }, ms);
    response.once('close', onClose);
  });
}
