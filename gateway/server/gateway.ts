// The gateway's lifecycle: listeners, sessions, certificates, and graceful shutdown.
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import pino, { type Logger } from 'pino';
import type { SessionInfo } from '../../functions/sdk/wire.ts';
import { MxhookError } from '../errors.ts';
import type { Handler } from '../handler.ts';
import type { BareLfPolicy, LongLinePolicy } from '../smtp/data-decoder.ts';
import type { Reply } from '../smtp/reply.ts';
import type { AuthSettings } from '../smtp/session-state.ts';
import { Admission, type NetworkList } from './admission.ts';
import { AuthLockout } from './auth-lockout.ts';
import { type ConnectionOptions, SmtpConnection } from './connection.ts';
import { Intake, normalizeAddress, type SessionStart } from './intake.ts';
import { MemoryBudget } from './memory-budget.ts';
import type { GatewayObserver } from './observer.ts';
import { newSessionId } from './session-id.ts';
import { type TlsPair, TlsStore } from './tls-store.ts';

export type { NetworkList } from './admission.ts';
export { normalizeAddress } from './intake.ts';
export type { TlsPair } from './tls-store.ts';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
  /** SMTPS: TLS from the first byte (RFC 8314 §3.3). */
  readonly implicitTls: boolean;
  /** MAIL needs STARTTLS first on this listener (RFC 3207 §4, 530 5.7.0); or-ed with `GatewayOptions.requireTls`. */
  readonly requireTls?: boolean;
  /** MAIL needs AUTH first on this listener (submission, RFC 6409 §4.3); or-ed with `GatewayOptions.requireAuth`. */
  readonly requireAuth?: boolean;
}

export interface GatewayOptions {
  readonly listen: readonly ListenAddress[];
  readonly hostname: string;
  readonly handler: Handler;
  /**
   * PEM certificate chain and key, or several, chosen per handshake by SNI (the first is the
   * default); enables STARTTLS and implicit-TLS listeners.
   */
  readonly tls?: TlsPair | readonly TlsPair[] | null;
  readonly maxMessageBytes?: number;
  readonly maxRecipients?: number;
  readonly maxConnections?: number;
  /** Concurrent sessions per client address; direct loopback clients are exempt (admission.ts). */
  readonly maxConnectionsPerIp?: number;
  /** New connections per minute per client address, 0 for no limit; direct loopback clients are exempt. */
  readonly maxConnectionsPerIpPerMinute?: number;
  /**
   * Connections from these addresses must start with a PROXY protocol v1/v2 header, whose
   * client address then stands for the session; connections from others must not carry one.
   */
  readonly trustedProxies?: NetworkList | null;
  /** Only these clients are served (checked before the banner); absent or empty serves all. */
  readonly allowNetworks?: NetworkList | null;
  /** These clients get 554 5.7.1 instead of the banner; wins over `allowNetworks`. */
  readonly denyNetworks?: NetworkList | null;
  /** How long a trusted proxy has to send its whole PROXY header. */
  readonly proxyHeaderTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  readonly dataTimeoutMs?: number;
  readonly functionTimeoutMs?: number;
  readonly maxBadCommands?: number;
  /** NOOP, VRFY, EXPN, RSET and HELP per session (until a message is accepted) before 421. */
  readonly maxJunkCommands?: number;
  /** How long a session may last before 421 (a message in flight is answered first). */
  readonly maxSessionDurationMs?: number;
  readonly bareLf?: BareLfPolicy;
  readonly longLines?: LongLinePolicy;
  readonly greetingDelayMs?: number;
  readonly shutdownGraceMs?: number;
  readonly maxBytesInFlight?: number;
  readonly requireTls?: boolean;
  /** MAIL needs AUTH first on every listener; see also `ListenAddress.requireAuth`. */
  readonly requireAuth?: boolean;
  /**
   * Offer SMTP AUTH (RFC 4954); the handler's `auth` hook decides. Over TLS only unless
   * `allowInsecure`. Absent or null: AUTH is not offered.
   */
  readonly auth?: { readonly allowInsecure: boolean } | null;
  readonly logger?: Logger;
  readonly observer?: GatewayObserver;
}

/** A session's client address, which XCLIENT may change after the session started. */
interface ClientIdentity {
  address: string;
}

// Failed AUTH attempts in one session before 421 (the per-address lockout is in auth-lockout.ts).
const AUTH_FAILURES_PER_SESSION = 3;

const DEFAULTS = {
  maxMessageBytes: 10 * 1024 * 1024,
  maxRecipients: 100,
  maxConnections: 1000,
  maxConnectionsPerIp: 50,
  maxConnectionsPerIpPerMinute: 120,
  proxyHeaderTimeoutMs: 5_000,
  idleTimeoutMs: 300_000,
  dataTimeoutMs: 600_000,
  functionTimeoutMs: 30_000,
  maxBadCommands: 20,
  maxJunkCommands: 100,
  maxSessionDurationMs: 3_600_000,
  greetingDelayMs: 0,
  shutdownGraceMs: 30_000,
  maxBytesInFlight: 256 * 1024 * 1024,
} as const;

/** After the grace period, how long aborted sessions get to send their 451 before sockets are destroyed. */
const ABORT_WAIT_MS = 2_000;

export class Gateway {
  readonly #options: GatewayOptions;
  readonly #limits: typeof DEFAULTS;
  readonly #log: Logger;
  readonly #observer: GatewayObserver;
  readonly #memory: MemoryBudget;
  readonly #authLockout = new AuthLockout();
  readonly #sharedOptions = new Map<ListenAddress, ConnectionOptions>();
  readonly #servers: { server: Server; listen: ListenAddress }[] = [];
  /** Open sessions, each with what frees its client's per-address slot. */
  readonly #sessions = new Map<SmtpConnection, () => void>();
  /** Resolved when the last session is gone (shutdown waits on them). */
  #untilNoSessions: (() => void)[] = [];
  readonly #intake: Intake<ListenAddress>;
  /** Decides who may open a session: at connect (through the intake) and after XCLIENT. */
  readonly #admission: Admission;
  readonly #tls: TlsStore;
  #stopping: Promise<void> | null = null;

  constructor(options: GatewayOptions) {
    this.#limits = validate(options);
    this.#options = options;
    this.#log = options.logger ?? pino({ level: 'silent' });
    this.#observer = options.observer ?? {};
    this.#memory = new MemoryBudget(this.#limits.maxBytesInFlight);
    this.#tls = new TlsStore(tlsPairsOf(options.tls));
    this.#admission = new Admission({
      allow: options.allowNetworks ?? null,
      deny: options.denyNetworks ?? null,
      maxConnectionsPerIp: this.#limits.maxConnectionsPerIp,
      maxConnectionsPerIpPerMinute: this.#limits.maxConnectionsPerIpPerMinute,
    });
    this.#intake = new Intake({
      maxConnections: this.#limits.maxConnections,
      proxyHeaderTimeoutMs: this.#limits.proxyHeaderTimeoutMs,
      handshakeTimeoutMs: this.#limits.idleTimeoutMs,
      trustedProxies: options.trustedProxies ?? null,
      admission: this.#admission,
      tls: this.#tls,
      observer: this.#observer,
      log: this.#log,
      sessionCount: () => this.#sessions.size,
      stopping: () => this.#stopping !== null,
      startSession: (socket, start) => this.#startSession(socket, start),
    });
  }

  /** Sessions open right now. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Message bytes held across all sessions. */
  get bytesInFlight(): number {
    return this.#memory.heldBytes;
  }

  /**
   * The most bytes ever charged at once: message bytes never take it above
   * MXHOOK_MAX_BYTES_IN_FLIGHT; a running parse's charge can, as its message was already taken.
   */
  get bytesInFlightHighWater(): number {
    return this.#memory.highWaterBytes;
  }

  /** The budget behind maxBytesInFlight, for what holds memory on the sessions' behalf (parsing). */
  get memoryBudget(): MemoryBudget {
    return this.#memory;
  }

  /** The bound addresses, in `listen` order (port 0 becomes the port the system chose). */
  get addresses(): AddressInfo[] {
    return this.#servers.map(({ server }) => server.address() as AddressInfo);
  }

  get listening(): boolean {
    return this.#servers.length > 0 && this.#stopping === null;
  }

  /**
   * Replaces the certificates for new handshakes (STARTTLS in sessions already open included);
   * sessions already in TLS keep theirs, and no session is dropped.
   *
   * @throws Error when a pair is unusable; the certificates in use are then kept.
   */
  setTls(tls: TlsPair | readonly TlsPair[]): void {
    this.#tls.replace(tlsPairsOf(tls));
    this.#sharedOptions.clear(); // `tlsAvailable` may have changed
  }

  async start(): Promise<AddressInfo[]> {
    for (const listen of this.#options.listen) {
      const server = createServer({ noDelay: true, pauseOnConnect: false }, (socket) =>
        this.#intake.accept(socket, listen),
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
    this.#intake.destroyPending();
    for (const session of this.#sessions.keys()) session.shutdown();
    const allClosed = (): Promise<void> =>
      this.#sessions.size === 0
        ? Promise.resolve()
        : new Promise((resolve) => this.#untilNoSessions.push(resolve));
    if (!(await settlesWithin(allClosed(), this.#limits.shutdownGraceMs))) {
      this.#log.warn({ sessions: this.#sessions.size }, 'grace period over, cancelling sessions');
      for (const session of this.#sessions.keys()) session.abort();
      await settlesWithin(allClosed(), ABORT_WAIT_MS);
    }
    await closedListeners;
    this.#log.info('stopped');
  }

  /** AUTH settings for a session, locked out by its client's address as it is at each attempt. */
  #authSettings(client: ClientIdentity): AuthSettings | null {
    const auth = this.#options.auth;
    if (!auth) return null;
    return {
      allowInsecure: auth.allowInsecure,
      maxFailures: AUTH_FAILURES_PER_SESSION,
      isLockedOut: () => this.#authLockout.isLockedOut(client.address, performance.now()),
    };
  }

  /**
   * Sessions on one listener share one options object unless AUTH or XCLIENT makes their
   * settings depend on the client: an idle session then costs only its own state (the
   * benchmark's target is 8 KiB of memory per idle connection).
   */
  #optionsFor(
    listen: ListenAddress,
    socket: Socket,
    client: ClientIdentity,
    session: () => SmtpConnection | undefined,
  ): ConnectionOptions {
    let shared = this.#sharedOptions.get(listen);
    if (shared === undefined) {
      shared = this.#listenerOptions(listen);
      this.#sharedOptions.set(listen, shared);
    }
    const auth = this.#authSettings(client);
    // XCLIENT is for the same hosts trusted to speak PROXY protocol: they vouch for the client.
    const xclient =
      this.#options.trustedProxies?.contains(normalizeAddress(socket.remoteAddress ?? '')) ?? false;
    if (auth === null && !xclient) return shared;
    return {
      ...shared,
      settings: { ...shared.settings, auth, xclient },
      onAuthAttempt: () => this.#authLockout.begin(client.address),
      onAuthResult: (ok) => this.#authLockout.record(client.address, ok, performance.now()),
      ...(xclient
        ? { readmit: (address: string) => this.#readmit(session(), client, address) }
        : {}),
    };
  }

  /**
   * XCLIENT named a new client: it is admitted as a new connection would be, after the same
   * checks (access lists, rate, concurrent cap). Admitted, the session's per-address slot moves
   * from the proxy's address to it, and the AUTH lockout counts against it from now on.
   */
  #readmit(
    session: SmtpConnection | undefined,
    client: ClientIdentity,
    address: string,
  ): Reply | null {
    const verdict = this.#admission.admit({ address, proxied: true }, performance.now());
    if (!verdict.admitted) {
      this.#observer.refused?.(verdict.reason);
      this.#log.info({ client: address, reason: verdict.reason }, 'XCLIENT client refused');
      return verdict.reply;
    }
    const previous = session === undefined ? undefined : this.#sessions.get(session);
    if (session === undefined || previous === undefined) {
      verdict.release(); // the session is already gone
      return null;
    }
    previous();
    this.#sessions.set(session, verdict.release);
    client.address = address;
    return null;
  }

  #listenerOptions(listen: ListenAddress): ConnectionOptions {
    const limits = this.#limits;
    return {
      settings: {
        hostname: this.#options.hostname,
        maxMessageBytes: limits.maxMessageBytes,
        maxRecipients: limits.maxRecipients,
        maxBadCommands: limits.maxBadCommands,
        maxJunkCommands: limits.maxJunkCommands,
        tlsAvailable: this.#tls.available,
        requireTls: (this.#options.requireTls ?? false) || (listen.requireTls ?? false),
        requireAuth: (this.#options.requireAuth ?? false) || (listen.requireAuth ?? false),
        isOverMemoryBudget: () => this.#memory.isOver(),
      },
      handler: this.#options.handler,
      functionTimeoutMs: limits.functionTimeoutMs,
      idleTimeoutMs: limits.idleTimeoutMs,
      dataTimeoutMs: limits.dataTimeoutMs,
      maxSessionDurationMs: limits.maxSessionDurationMs,
      bareLf: this.#options.bareLf ?? 'normalize',
      longLines: this.#options.longLines ?? 'accept',
      greetingDelayMs: limits.greetingDelayMs,
      tls: this.#tls,
      memory: this.#memory,
      observer: this.#observer,
      log: this.#log,
      onClosed: (session) => this.#onSessionClosed(session),
    };
  }

  #onSessionClosed(session: SmtpConnection): void {
    this.#sessions.get(session)?.();
    this.#sessions.delete(session);
    if (this.#sessions.size > 0) return;
    for (const resolve of this.#untilNoSessions) resolve();
    this.#untilNoSessions = [];
  }

  #startSession(socket: Socket, start: SessionStart<ListenAddress>): void {
    const { client, server, listen } = start;
    const info: SessionInfo = {
      id: newSessionId(),
      client: { address: client.address, port: client.port },
      server: {
        address: server?.address ?? normalizeAddress(socket.localAddress ?? ''),
        port: server?.port ?? socket.localPort ?? 0,
        hostname: this.#options.hostname,
      },
      helo: null,
      tls: start.tls,
      auth: null,
      proxied: client.proxied,
    };
    const identity: ClientIdentity = { address: client.address };
    const session: SmtpConnection = new SmtpConnection(
      socket,
      info,
      this.#optionsFor(listen, socket, identity, () => session),
    );
    this.#sessions.set(session, start.release);
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
    const zeroAllowed = key === 'greetingDelayMs' || key === 'maxConnectionsPerIpPerMinute';
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
  if (options.listen.some((l) => l.implicitTls) && !hasTls(options.tls)) {
    throw new MxhookError(
      'ERR_CONFIG_INVALID',
      'option listen has an implicit-TLS address but option tls is missing',
    );
  }
  if (options.listen.some((l) => l.requireTls) && !hasTls(options.tls)) {
    throw new MxhookError(
      'ERR_CONFIG_INVALID',
      'option listen has a require-TLS address but option tls is missing',
    );
  }
  if (typeof options.handler?.data !== 'function')
    throw new MxhookError('ERR_CONFIG_INVALID', 'option handler needs a data hook');
  return limits;
}

function tlsPairsOf(tls: TlsPair | readonly TlsPair[] | null | undefined): readonly TlsPair[] {
  if (!tls) return [];
  return isPairList(tls) ? tls : [tls];
}

function isPairList(tls: TlsPair | readonly TlsPair[]): tls is readonly TlsPair[] {
  return Array.isArray(tls);
}

function hasTls(tls: TlsPair | readonly TlsPair[] | null | undefined): boolean {
  return tlsPairsOf(tls).length > 0;
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
