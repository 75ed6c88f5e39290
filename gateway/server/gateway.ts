// The gateway's lifecycle: listeners, sessions, certificates, and graceful shutdown.
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import pino, { type Logger } from 'pino';
import type { SessionInfo } from '../../functions/sdk/wire.ts';
import type { AuthenticationSettings } from '../authentication/session-checks.ts';
import {
  checkOption,
  type GatewaySettingsInput,
  resolveGatewaySettings,
} from '../config/gateway-options.ts';
import { seconds } from '../config/parse-scalars.ts';
import type { GatewaySettings } from '../config/types.ts';
import { MxhookError } from '../errors.ts';
import type { Handler } from '../handler.ts';
import { applyMiddleware, type Middleware } from '../middleware.ts';
import { DnsLookups } from '../net/dns-lookups.ts';
import { DnsResolver } from '../net/dns-resolver.ts';
import type { Reply } from '../smtp/reply.ts';
import type { AuthSettings, ExtraVerb } from '../smtp/session-state.ts';
import { Admission, type NetworkList } from './admission.ts';
import { AuthLockout } from './auth-lockout.ts';
import { type ConnectionOptions, SmtpConnection } from './connection.ts';
import { compileExtraVerbs, type ExtraVerbDefinition } from './extra-verbs.ts';
import { type AccessListRole, HostNetworkList } from './host-networks.ts';
import { Intake, normalizeAddress, type SessionStart } from './intake.ts';
import type { ListenAddress } from './listen-address.ts';
import { MemoryBudget } from './memory-budget.ts';
import type { GatewayObserver } from './observer.ts';
import { newSessionId } from './session-id.ts';
import { type TlsPair, TlsStore } from './tls-store.ts';

export type { NetworkList } from './admission.ts';
export type { ListenAddress } from './listen-address.ts';
export type { TlsPair } from './tls-store.ts';

/**
 * Every setting marked as an option in gateway/config/variables.ts, under its config field name
 * (`maxMessageBytes`, `shutdownGraceMs`, …), in the same units and held to the same rules as the
 * MXHOOK_ variable (whose `--help` text describes it); absent or null takes the same default.
 */
export interface GatewayOptions extends GatewaySettingsInput {
  readonly listen: readonly ListenAddress[];
  readonly hostname: string;
  readonly handler: Handler;
  /**
   * Runs around each of the handler's hooks, the first outermost (m1 → m2 → hook → m2 → m1).
   * Steps the handler has no hook for are decided without a call, and no middleware runs for them.
   */
  readonly middleware?: readonly Middleware[];
  /**
   * PEM certificate chain and key, or several, chosen per handshake by SNI (the first is the
   * default); enables STARTTLS and implicit-TLS listeners.
   */
  readonly tls?: TlsPair | readonly TlsPair[] | null;
  /** How long a trusted proxy has to send its whole PROXY header. */
  readonly proxyHeaderTimeoutMs?: number;
  /** How long the banner waits, catching clients that talk before it; default 0. */
  readonly greetingDelayMs?: number;
  /**
   * The shortest wait before a host name in the access lists is resolved again, whatever its
   * TTL, and the wait before retrying a failed resolution; default 30 s.
   */
  readonly hostTtlFloorMs?: number;
  /**
   * Offer SMTP AUTH (RFC 4954); the handler's `auth` hook decides. Over TLS only unless
   * `allowInsecure`. Absent or null: AUTH is not offered.
   */
  readonly auth?: { readonly allowInsecure: boolean } | null;
  /** Commands the gateway does not implement, added by this program, by verb (`XSTATUS`, `ETRN`). */
  readonly verbs?: Readonly<Record<string, ExtraVerbDefinition>>;
  /**
   * Offer DSN (RFC 3461) and accept RET, ENVID, NOTIFY and ORCPT: only for a program that sends
   * the notices they ask for (`mxhook serve` with an outbound queue); default false.
   */
  readonly dsn?: boolean;
  /**
   * The DNS cache the authentication checks use, to share it with other lookups of the program
   * (`mxhook serve`'s outbound delivery); absent, the gateway makes its own on MXHOOK_DNS_SERVERS.
   */
  readonly dnsLookups?: DnsLookups;
  readonly logger?: Logger;
  readonly observer?: GatewayObserver;
}

/** A session's client address, which XCLIENT may change after the session started. */
interface ClientIdentity {
  address: string;
}

// Failed AUTH attempts in one session before 421 (the per-address lockout is in auth-lockout.ts).
const AUTH_FAILURES_PER_SESSION = 3;

/** The options, checked and with every default filled in. */
interface Limits extends GatewaySettings {
  readonly proxyHeaderTimeoutMs: number;
  readonly greetingDelayMs: number;
  readonly hostTtlFloorMs: number;
}

/** After the grace period, how long aborted sessions get to send their 451 before sockets are destroyed. */
const ABORT_WAIT_MS = 2_000;

export class Gateway {
  readonly #options: GatewayOptions;
  /** The handler wrapped in the middleware. */
  readonly #handler: Handler;
  readonly #limits: Limits;
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
  /** The resolver every DNS query of this gateway goes through (MXHOOK_DNS_SERVERS). */
  readonly #dns: DnsResolver;
  /** Mail authentication (MXHOOK_AUTH_CHECKS) and its cached lookups; null when no check is on. */
  readonly #authentication: AuthenticationSettings | null;
  /** The access lists with host names, resolved at start and kept current until stop. */
  readonly #hostLists: HostNetworkList[] = [];
  readonly #extraVerbs: ReadonlyMap<string, ExtraVerb>;
  #stopping: Promise<void> | null = null;

  constructor(options: GatewayOptions) {
    this.#limits = validate(options);
    this.#options = options;
    this.#handler = applyMiddleware(options.handler, options.middleware ?? []);
    this.#log = options.logger ?? pino({ level: 'silent' });
    this.#observer = options.observer ?? {};
    this.#extraVerbs = compileExtraVerbs(options.verbs ?? {}, this.#log);
    this.#memory = new MemoryBudget(this.#limits.maxBytesInFlight);
    this.#tls = new TlsStore(tlsPairsOf(options.tls));
    this.#dns = new DnsResolver({ servers: this.#limits.dnsServers });
    this.#authentication = authenticationOf(this.#limits, options.hostname, options.dnsLookups);
    this.#admission = new Admission({
      allow: this.#withHosts('allow', this.#limits.allowNetworks),
      deny: this.#withHosts('deny', this.#limits.denyNetworks),
      maxConnectionsPerIp: this.#limits.maxConnectionsPerIp,
      maxConnectionsPerIpPerMinute: this.#limits.maxConnectionsPerIpPerMinute,
    });
    this.#intake = new Intake({
      maxConnections: this.#limits.maxConnections,
      proxyHeaderTimeoutMs: this.#limits.proxyHeaderTimeoutMs,
      handshakeTimeoutMs: this.#limits.idleTimeoutMs,
      trustedProxies: this.#limits.trustedProxies,
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
    // Before any listener: the first client is judged with the names already resolved.
    await Promise.all(this.#hostLists.map((list) => list.start())).catch((error) => {
      for (const list of this.#hostLists) list.stop();
      throw error;
    });
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
    for (const list of this.#hostLists) list.stop();
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

  /** `list` itself, or, when it names hosts, a list that matches their addresses as they resolve. */
  #withHosts(role: AccessListRole, list: NetworkList): NetworkList {
    if ((list.hosts?.length ?? 0) === 0) return list;
    const resolving = new HostNetworkList({
      role,
      list,
      resolver: this.#dns,
      floorMs: this.#limits.hostTtlFloorMs,
      log: this.#log,
    });
    this.#hostLists.push(resolving);
    return resolving;
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
    const xclient = this.#limits.trustedProxies.contains(
      normalizeAddress(socket.remoteAddress ?? ''),
    );
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
        banner: limits.banner,
        maxMessageBytes: limits.maxMessageBytes,
        bareLf: limits.bareLf,
        longLines: limits.longLines,
        maxRecipients: limits.maxRecipients,
        maxBadCommands: limits.maxBadCommands,
        maxJunkCommands: limits.maxJunkCommands,
        tlsAvailable: this.#tls.available,
        requireTls: limits.requireTls || (listen.requireTls ?? false),
        requireAuth: limits.requireAuth || (listen.requireAuth ?? false),
        isOverMemoryBudget: () => this.#memory.isOver(),
        extraVerbs: this.#extraVerbs,
        dsn: this.#options.dsn ?? false,
      },
      handler: this.#handler,
      functionTimeoutMs: limits.functionTimeoutMs,
      idleTimeoutMs: limits.idleTimeoutMs,
      dataTimeoutMs: limits.dataTimeoutMs,
      maxSessionDurationMs: limits.maxSessionDurationMs,
      greetingDelayMs: limits.greetingDelayMs,
      tls: this.#tls,
      memory: this.#memory,
      observer: this.#observer,
      log: this.#log,
      authentication: this.#authentication,
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

/** The checks to run and the one cache their lookups share, for every session of this gateway. */
function authenticationOf(
  limits: Limits,
  hostname: string,
  given: DnsLookups | undefined,
): AuthenticationSettings | null {
  if (limits.authChecks.length === 0) return null;
  const lookups =
    given ?? new DnsLookups({ servers: limits.dnsServers, timeoutMs: limits.dnsTimeoutMs });
  return {
    checks: new Set(limits.authChecks),
    resolve: lookups.resolve,
    hostname,
    timeoutMs: limits.dnsTimeoutMs,
  };
}

/** Creates a gateway; call `start()` to listen. */
export function createGateway(options: GatewayOptions): Gateway {
  return new Gateway(options);
}

function validate(options: GatewayOptions): Limits {
  const limits: Limits = {
    ...resolveGatewaySettings(options),
    proxyHeaderTimeoutMs: checkOption(
      'proxyHeaderTimeoutMs',
      seconds(),
      options.proxyHeaderTimeoutMs ?? 5_000,
    ),
    greetingDelayMs: checkOption(
      'greetingDelayMs',
      seconds({ zeroAllowed: true }),
      options.greetingDelayMs ?? 0,
    ),
    hostTtlFloorMs: checkOption('hostTtlFloorMs', seconds(), options.hostTtlFloorMs ?? 30_000),
  };
  if (limits.listen.some((l) => l.implicitTls) && !hasTls(options.tls)) {
    throw new MxhookError(
      'ERR_CONFIG_INVALID',
      'option listen has an implicit-TLS address but option tls is missing',
    );
  }
  if (limits.listen.some((l) => l.requireTls) && !hasTls(options.tls)) {
    throw new MxhookError(
      'ERR_CONFIG_INVALID',
      'option listen has a require-TLS address but option tls is missing',
    );
  }
  if (typeof options.handler?.data !== 'function')
    throw new MxhookError('ERR_CONFIG_INVALID', 'option handler needs a data hook');
  if (options.middleware?.some((middleware) => typeof middleware !== 'function'))
    throw new MxhookError('ERR_CONFIG_INVALID', 'option middleware must be a list of functions');
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
