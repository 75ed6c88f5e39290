// From accept to session: the PROXY header of a trusted proxy, admission before the banner, the implicit-TLS handshake.
import { isIPv4, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Endpoint, TlsInfo } from '../../functions/sdk/wire.ts';
import { formatReply, reply } from '../smtp/reply.ts';
import type { Admission, AdmittedClient, NetworkList } from './admission.ts';
import type { GatewayObserver } from './observer.ts';
import { type ProxyReadResult, readProxyHeader } from './proxy-reader.ts';
import { tlsInfoOf } from './starttls.ts';
import type { TlsStore } from './tls-store.ts';

/** What the intake needs of a listener (gateway.ts `ListenAddress`). */
export interface IntakeListener {
  readonly implicitTls: boolean;
}

/** The client of a session: the real one, after any PROXY header. */
export interface Client extends AdmittedClient {
  readonly port: number;
}

/** What a session starts from once the connection is admitted (and, on SMTPS, in TLS). */
export interface SessionStart<L extends IntakeListener> {
  readonly client: Client;
  /** What the client connected to, from a PROXY header; null for our socket's own address. */
  readonly server: Endpoint | null;
  readonly tls: TlsInfo | null;
  readonly listen: L;
  /** Frees the client's per-address slot; call once the session is over (idempotent). */
  readonly release: () => void;
}

export interface IntakeOptions<L extends IntakeListener> {
  readonly maxConnections: number;
  readonly proxyHeaderTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly trustedProxies: NetworkList | null;
  readonly admission: Admission;
  readonly tls: TlsStore;
  readonly observer: GatewayObserver;
  readonly log: Logger;
  /** Sessions open now, for the global connection cap. */
  readonly sessionCount: () => number;
  readonly stopping: () => boolean;
  /** Takes over the socket (the TLS socket on SMTPS); a socket paused for the header is resumed after. */
  readonly startSession: (socket: Socket, start: SessionStart<L>) => void;
}

/** How long a refused client gets to close after our 421 before its socket is destroyed. */
const REFUSAL_LINGER_MS = 2_000;

/** RFC 5321 §3.8: 421, service not available; RFC 3463 §3.8 4.7.0 security policy. */
const tooManyConnections = formatReply(
  reply(421, '4.7.0', 'Too many connections, try again later'),
);

/** Errors before the session owns the socket are only disconnects; one function for every socket. */
function ignoreSocketError(): void {}

export class Intake<L extends IntakeListener> {
  readonly #options: IntakeOptions<L>;
  /** Accepted sockets not yet a session: reading a PROXY header or in the TLS handshake. */
  readonly #pending = new Set<Socket>();

  /** One 'close' listener for every pending socket (called with the socket as `this`). */
  readonly #forgetPending: (this: Socket) => void;

  constructor(options: IntakeOptions<L>) {
    this.#options = options;
    const pending = this.#pending;
    this.#forgetPending = function forgetPending(this: Socket) {
      pending.delete(this);
    };
  }

  /** Shutdown: drops the connections that are not sessions yet. */
  destroyPending(): void {
    for (const socket of this.#pending) socket.destroy();
  }

  accept(socket: Socket, listen: L): void {
    const options = this.#options;
    socket.on('error', ignoreSocketError);
    if (options.stopping()) return void socket.destroy();
    if (options.sessionCount() + this.#pending.size >= options.maxConnections) {
      options.observer.refused?.('max-connections');
      return void refuse(socket, listen, tooManyConnections);
    }
    this.#pending.add(socket);
    socket.on('close', this.#forgetPending);
    const peer: Client = {
      address: normalizeAddress(socket.remoteAddress ?? ''),
      port: socket.remotePort ?? 0,
      proxied: false,
    };
    if (!options.trustedProxies?.contains(peer.address)) {
      // A PROXY header from anyone else is refused by the session, at its first bytes.
      return void this.#admit(socket, listen, peer, null);
    }
    void readProxyHeader(socket, options.proxyHeaderTimeoutMs).then((result) =>
      this.#onProxyHeader(socket, listen, peer, result),
    );
  }

  /**
   * A trusted proxy's connection starts with the header (haproxy proxy-protocol.txt §2: the
   * receiver must not guess, and must drop a connection whose header is missing or invalid).
   * The header is not SMTP, so a bad one gets no SMTP reply.
   */
  #onProxyHeader(socket: Socket, listen: L, peer: Client, result: ProxyReadResult): void {
    const { observer, log } = this.#options;
    if (result.status === 'closed' || this.#options.stopping()) return void socket.destroy();
    if (result.status !== 'done') {
      observer.refused?.('proxy-header');
      const reason =
        result.status === 'timeout'
          ? `no complete header within ${this.#options.proxyHeaderTimeoutMs} ms`
          : result.reason;
      log.warn({ proxy: peer.address, reason }, 'bad PROXY protocol header, closing');
      return void socket.destroy();
    }
    const { header } = result;
    // LOCAL (v2) and UNKNOWN (v1): the proxy speaks for itself, a health check; its address stands.
    if (header.kind === 'local') return void this.#admit(socket, listen, peer, null);
    const client: Client = {
      address: normalizeAddress(header.source.address),
      port: header.source.port,
      proxied: true,
    };
    this.#admit(socket, listen, client, header.destination);
  }

  /** Access lists and per-address limits on the real client, then the session (after TLS on SMTPS). */
  #admit(socket: Socket, listen: L, client: Client, server: Endpoint | null): void {
    const { admission, observer, log } = this.#options;
    const verdict = admission.admit(client, performance.now());
    if (!verdict.admitted) {
      observer.refused?.(verdict.reason);
      log.info(
        { client: client.address, proxied: client.proxied, reason: verdict.reason },
        'connection refused',
      );
      return void refuse(socket, listen, formatReply(verdict.reply));
    }
    // The slot is held from here, through the handshake, until the session is over: released
    // here if the connection closes before the session starts, by the session after that. The
    // listeners that served until then are removed, so an idle session does not carry them.
    const { release } = verdict;
    socket.on('close', release);
    const begin = (session: Socket, tls: TlsInfo | null): void => {
      this.#pending.delete(socket);
      socket.off('close', this.#forgetPending).off('close', release);
      session.off('close', release);
      // The session listens for errors itself; a TLS session's raw socket keeps this one.
      if (session === socket) socket.off('error', ignoreSocketError);
      this.#options.startSession(session, { client, server, tls, listen, release });
    };
    if (!listen.implicitTls) {
      begin(socket, null);
      socket.resume(); // paused if a PROXY header was read off it
      return;
    }
    this.#handshake(socket, release, (secure) => begin(secure, tlsInfoOf(secure)));
  }

  /** SMTPS (RFC 8314 §3.3): TLS from the first byte after any PROXY header. */
  #handshake(socket: Socket, release: () => void, done: (secure: TLSSocket) => void): void {
    const { observer, tls } = this.#options;
    const tlsOptions = tls.serverOptions();
    if (tlsOptions === null) return void socket.destroy();
    // Bytes put back after the PROXY header (a coalesced ClientHello) are read by the TLS socket.
    const secure = new TLSSocket(socket, { isServer: true, ...tlsOptions });
    secure.on('close', release);
    // The handshake's own deadline; removed once it is done, or the session's idle timeout
    // would also fire it and destroy the socket before the 421 goes out.
    const handshakeTimeout = (): void => {
      observer.tlsHandshake?.(false);
      secure.destroy();
    };
    secure.setTimeout(this.#options.handshakeTimeoutMs);
    secure.once('timeout', handshakeTimeout);
    let handshaken = false;
    // An error after the handshake (a reset mid-session) is not a handshake failure.
    secure.once('error', () => {
      if (!handshaken) observer.tlsHandshake?.(false);
    });
    secure.once('secure', () => {
      handshaken = true;
      secure.setTimeout(0);
      secure.off('timeout', handshakeTimeout);
      observer.tlsHandshake?.(true);
      done(secure);
    });
  }
}

/** `::ffff:192.0.2.1` (an IPv4 client on a dual-stack socket) is reported as `192.0.2.1`. */
export function normalizeAddress(address: string): string {
  const mapped = address.startsWith('::ffff:') ? address.slice(7) : address;
  return isIPv4(mapped) ? mapped : address;
}

/**
 * A refusal before the session: the reply, then close; a client that never closes its side
 * must not keep the socket. On an implicit-TLS listener the client expects a handshake, so
 * clear text would only be a protocol error to it, and completing a handshake just to refuse
 * costs more than the client deserves: the socket is closed, which a sending MTA treats as a
 * temporary failure too.
 */
function refuse(socket: Socket, listen: IntakeListener, text: string): void {
  if (listen.implicitTls) return void socket.destroy();
  socket.end(text);
  // Cleared as soon as the client closes, so a flood of refused connections is not kept in memory.
  const linger = setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
  socket.once('close', () => clearTimeout(linger));
}
