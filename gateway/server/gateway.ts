// The gateway's lifecycle: listeners, admission limits, implicit TLS, and graceful shutdown.
import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer, isIPv4, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext, TLSSocket } from 'node:tls';
import pino, { type Logger } from 'pino';
import type { SessionInfo, TlsInfo } from '../../functions/sdk/wire.ts';
import { MxhookError } from '../errors.ts';
import type { Handler } from '../handler.ts';
import type { BareLfPolicy, LongLinePolicy } from '../smtp/data-decoder.ts';
import { formatReply, reply } from '../smtp/reply.ts';
import { SmtpConnection, tlsInfoOf } from './connection.ts';
import { MemoryBudget } from './memory-budget.ts';
import type { GatewayObserver } from './observer.ts';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
  /** SMTPS: TLS from the first byte (RFC 8314 §3.3). */
  readonly implicitTls: boolean;
}

export interface GatewayOptions {
  readonly listen: readonly ListenAddress[];
  readonly hostname: string;
  readonly handler: Handler;
  /** PEM certificate chain and key; enables STARTTLS and implicit-TLS listeners. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer } | null;
  readonly maxMessageBytes?: number;
  readonly maxRecipients?: number;
  readonly maxConnections?: number;
  /** Loopback clients are exempt, as Postfix exempts its own networks. */
  readonly maxConnectionsPerIp?: number;
  readonly idleTimeoutMs?: number;
  readonly dataTimeoutMs?: number;
  readonly functionTimeoutMs?: number;
  readonly maxBadCommands?: number;
  readonly bareLf?: BareLfPolicy;
  readonly longLines?: LongLinePolicy;
  readonly greetingDelayMs?: number;
  readonly shutdownGraceMs?: number;
  readonly maxBytesInFlight?: number;
  readonly requireTls?: boolean;
  readonly logger?: Logger;
  readonly observer?: GatewayObserver;
}

const DEFAULTS = {
  maxMessageBytes: 10 * 1024 * 1024,
  maxRecipients: 100,
  maxConnections: 1000,
  maxConnectionsPerIp: 50,
  idleTimeoutMs: 300_000,
  dataTimeoutMs: 600_000,
  functionTimeoutMs: 30_000,
  maxBadCommands: 20,
  greetingDelayMs: 0,
  shutdownGraceMs: 30_000,
  maxBytesInFlight: 256 * 1024 * 1024,
} as const;

/** After the grace period, how long aborted sessions get to send their 451 before sockets are destroyed. */
const ABORT_WAIT_MS = 2_000;

const tooManyConnections = formatReply(
  reply(421, '4.7.0', 'Too many connections, try again later'),
);
const tooManyFromAddress = formatReply(
  reply(421, '4.7.0', 'Too many connections from your address, try again later'),
);

export class Gateway {
  readonly #options: GatewayOptions;
  readonly #limits: typeof DEFAULTS;
  readonly #log: Logger;
  readonly #observer: GatewayObserver;
  readonly #memory: MemoryBudget;
  readonly #servers: { server: Server; listen: ListenAddress }[] = [];
  readonly #sessions = new Set<SmtpConnection>();
  readonly #perIp = new Map<string, number>();
  #secureContext: SecureContext | null;
  #stopping: Promise<void> | null = null;

  constructor(options: GatewayOptions) {
    this.#limits = validate(options);
    this.#options = options;
    this.#log = options.logger ?? pino({ level: 'silent' });
    this.#observer = options.observer ?? {};
    this.#memory = new MemoryBudget(this.#limits.maxBytesInFlight);
    this.#secureContext = options.tls ? secureContextOf(options.tls) : null;
  }

  /** Sessions open right now. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Message bytes held across all sessions. */
  get bytesInFlight(): number {
    return this.#memory.heldBytes;
  }

  /** The bound addresses, in `listen` order (port 0 becomes the port the system chose). */
  get addresses(): AddressInfo[] {
    return this.#servers.map(({ server }) => server.address() as AddressInfo);
  }

  get listening(): boolean {
    return this.#servers.length > 0 && this.#stopping === null;
  }

  /** Replaces the certificate for new handshakes; open sessions keep theirs. */
  setTls(tls: { readonly cert: string | Buffer; readonly key: string | Buffer }): void {
    this.#secureContext = secureContextOf(tls);
  }

  async start(): Promise<AddressInfo[]> {
    for (const listen of this.#options.listen) {
      const server = createServer({ noDelay: true, pauseOnConnect: false }, (socket) =>
        this.#onConnection(socket, listen),
      );
      await new Promise<void>((resolve, reject) => {
        server.once('error', (cause) =>
          reject(
            new MxhookError(
              'ERR_LISTEN_FAILED',
              `cannot listen on ${listen.host}:${listen.port}: ${cause.message}`,
              { cause },
            ),
          ),
        );
        server.listen(listen.port, listen.host, () => resolve());
      });
      this.#servers.push({ server, listen });
      this.#log.info({ address: server.address(), implicitTls: listen.implicitTls }, 'listening');
    }
    return this.addresses;
  }

  /** Stops accepting, tells idle sessions 421, lets transactions finish within the grace period, then cancels the rest. */
  stop(): Promise<void> {
    this.#stopping ??= this.#drain();
    return this.#stopping;
  }

  async #drain(): Promise<void> {
    const closedListeners = Promise.all(
      this.#servers.map(({ server }) => new Promise((resolve) => server.close(resolve))),
    );
    this.#log.info({ sessions: this.#sessions.size }, 'shutting down');
    for (const session of this.#sessions) session.shutdown();
    const allClosed = (): Promise<unknown> => Promise.all([...this.#sessions].map((s) => s.closed));
    if (!(await settlesWithin(allClosed(), this.#limits.shutdownGraceMs))) {
      this.#log.warn({ sessions: this.#sessions.size }, 'grace period over, cancelling sessions');
      for (const session of this.#sessions) session.abort();
      await settlesWithin(allClosed(), ABORT_WAIT_MS);
    }
    await closedListeners;
    this.#log.info('stopped');
  }

  #onConnection(socket: Socket, listen: ListenAddress): void {
    socket.on('error', () => {}); // errors before the session owns the socket are only disconnects
    if (this.#stopping !== null) return void socket.destroy();
    const address = normalizeAddress(socket.remoteAddress ?? '');
    if (this.#sessions.size >= this.#limits.maxConnections) {
      this.#observer.refused?.('max-connections');
      return void socket.end(tooManyConnections);
    }
    const count = this.#perIp.get(address) ?? 0;
    if (count >= this.#limits.maxConnectionsPerIp && !isLoopback(address)) {
      this.#observer.refused?.('max-connections-per-ip');
      return void socket.end(tooManyFromAddress);
    }
    if (!listen.implicitTls) return void this.#startSession(socket, address, null);
    if (this.#secureContext === null) return void socket.destroy();
    const secure = new TLSSocket(socket, { isServer: true, secureContext: this.#secureContext });
    secure.setTimeout(this.#limits.idleTimeoutMs, () => secure.destroy());
    secure.once('error', () => this.#observer.tlsHandshake?.(false));
    secure.once('secure', () => {
      secure.setTimeout(0);
      this.#observer.tlsHandshake?.(true);
      this.#startSession(secure, address, tlsInfoOf(secure));
    });
  }

  #startSession(socket: Socket, clientAddress: string, tls: TlsInfo | null): void {
    const info: SessionInfo = {
      id: randomBytes(8).toString('hex'),
      client: { address: clientAddress, port: socket.remotePort ?? 0 },
      server: {
        address: normalizeAddress(socket.localAddress ?? ''),
        port: socket.localPort ?? 0,
        hostname: this.#options.hostname,
      },
      helo: null,
      tls,
      auth: null,
      proxied: false,
    };
    this.#perIp.set(clientAddress, (this.#perIp.get(clientAddress) ?? 0) + 1);
    const limits = this.#limits;
    const session = new SmtpConnection(socket, info, {
      settings: {
        hostname: this.#options.hostname,
        maxMessageBytes: limits.maxMessageBytes,
        maxRecipients: limits.maxRecipients,
        maxBadCommands: limits.maxBadCommands,
        tlsAvailable: this.#secureContext !== null,
        requireTls: this.#options.requireTls ?? false,
        isOverMemoryBudget: () => this.#memory.isOver(),
      },
      handler: this.#options.handler,
      functionTimeoutMs: limits.functionTimeoutMs,
      idleTimeoutMs: limits.idleTimeoutMs,
      dataTimeoutMs: limits.dataTimeoutMs,
      bareLf: this.#options.bareLf ?? 'normalize',
      longLines: this.#options.longLines ?? 'accept',
      greetingDelayMs: limits.greetingDelayMs,
      secureContext: this.#secureContext,
      memory: this.#memory,
      observer: this.#observer,
      log: this.#log,
    });
    this.#sessions.add(session);
    void session.closed.then(() => {
      this.#sessions.delete(session);
      const left = (this.#perIp.get(clientAddress) ?? 1) - 1;
      if (left === 0) this.#perIp.delete(clientAddress);
      else this.#perIp.set(clientAddress, left);
    });
    if (this.#stopping !== null) session.shutdown();
  }
}

/** Creates a gateway; call `start()` to listen. */
export function createGateway(options: GatewayOptions): Gateway {
  return new Gateway(options);
}

function validate(options: GatewayOptions): typeof DEFAULTS {
  const limits = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    const value = options[key];
    if (value === undefined) continue;
    const zeroAllowed = key === 'greetingDelayMs';
    if (!Number.isFinite(value) || value < 0 || (!zeroAllowed && value === 0)) {
      throw new MxhookError(
        'ERR_CONFIG_INVALID',
        `option ${key} must be a positive number, got ${value}`,
      );
    }
    (limits as Record<string, number>)[key] = value;
  }
  if (options.listen.length === 0)
    throw new MxhookError('ERR_CONFIG_INVALID', 'option listen needs at least one address');
  if (options.listen.some((l) => l.implicitTls) && !options.tls) {
    throw new MxhookError(
      'ERR_CONFIG_INVALID',
      'option listen has an implicit-TLS address but option tls is missing',
    );
  }
  if (typeof options.handler?.data !== 'function')
    throw new MxhookError('ERR_CONFIG_INVALID', 'option handler needs a data hook');
  return limits;
}

function secureContextOf(tls: {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}): SecureContext {
  // RFC 8996 deprecates TLS 1.0 and 1.1.
  return createSecureContext({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' });
}

/** `::ffff:192.0.2.1` (an IPv4 client on a dual-stack socket) is reported as `192.0.2.1`. */
export function normalizeAddress(address: string): string {
  const mapped = address.startsWith('::ffff:') ? address.slice(7) : address;
  return isIPv4(mapped) ? mapped : address;
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}

function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
