// `mxhook serve`: wires configuration into the gateway, the webhook bridge and the admin HTTP server.
import type { AddressInfo } from 'node:net';
import type { DestinationStream, Logger } from 'pino';
import { publicJwks } from '../functions/sdk/sign.ts';
import { AdminServer } from './admin/admin-server.ts';
import { startArchive } from './archive/start-archive.ts';
import { AuditHub } from './audit/audit-hub.ts';
import { AuditObserver } from './audit/audit-observer.ts';
import { loadUsersFile, usersFileAuth } from './auth/users-file.ts';
import { createBridgeHandler } from './bridge/bridge-handler.ts';
import { FunctionClient } from './bridge/function-client.ts';
import { DEFAULT_PARSE_POOL, ParsePool } from './bridge/parse-pool.ts';
import { createSignatureHeaders } from './bridge/signature-headers.ts';
import { gatewaySettingsOf } from './config/gateway-options.ts';
import { readTlsPairs } from './config/parse-keys.ts';
import type { GatewayConfig } from './config/types.ts';
import { ConfigError, MxhookError } from './errors.ts';
import type { Handler } from './handler.ts';
import { hopLimit } from './middleware/hop-limit.ts';
import { returnPath } from './middleware/return-path.ts';
import type { Middleware } from './middleware.ts';
import { DnsLookups } from './net/dns-lookups.ts';
import { startDeliveryReports } from './outbound/delivery-reports.ts';
import { startOutbound } from './outbound/outbound.ts';
import { startSendApi } from './send/start-send-api.ts';
import { combineObservers } from './server/combine-observers.ts';
import { createGateway, type Gateway } from './server/gateway.ts';
import { createLogger } from './server/logger.ts';
import type { GatewayObserver } from './server/observer.ts';
import { TlsReloader } from './server/tls-reloader.ts';
import { importConfiguredKeys } from './signing-keys.ts';

export interface ServeOptions {
  /** Replaces the gateway's own logger (JSON on stdout at MXHOOK_LOG_LEVEL, secrets redacted). */
  readonly logger?: Logger;
  /** Where the gateway's own logger writes, instead of stdout; ignored with `logger`. */
  readonly logDestination?: DestinationStream;
  readonly observer?: GatewayObserver;
  /** Runs around the bridge's hooks, inside Return-Path (so it sees the message with it). */
  readonly middleware?: readonly Middleware[];
  readonly metrics?: { readonly contentType: string; readonly render: () => Promise<string> };
}

export interface RunningGateway {
  readonly gateway: Gateway;
  readonly smtpAddresses: readonly AddressInfo[];
  readonly adminAddress: AddressInfo | null;
  /**
   * Re-reads MXHOOK_TLS_CERT and MXHOOK_TLS_KEY (what SIGHUP does; file changes do it too).
   * False when there are none or the new files are unusable: the certificates in use stay.
   */
  reloadTls(): boolean;
  /** Graceful: drains sessions within the configured grace period, then closes everything. */
  stop(): Promise<void>;
}

export async function serve(
  config: GatewayConfig,
  options: ServeOptions = {},
): Promise<RunningGateway> {
  const log =
    options.logger ??
    createLogger({
      level: config.logLevel,
      ...(options.logDestination ? { destination: options.logDestination } : {}),
    });
  // Logged, not printed: the logger is the one place operators and collectors look.
  for (const warning of config.warnings) log.warn({ variable: warning.variable }, warning.message);
  if (config.functionUrl === null) throw new ConfigError('MXHOOK_FUNCTION_URL', 'is required');
  const keys = await importConfiguredKeys(config);
  const signingKey = keys[0];
  if (signingKey === undefined) {
    throw new ConfigError(
      'MXHOOK_SIGNING_SECRET',
      'set it (or MXHOOK_SIGNING_KEY) so the function can trust its calls',
    );
  }
  const client = new FunctionClient({
    url: config.functionUrl,
    signatureHeaders: createSignatureHeaders(config.signatureFormat, signingKey),
    timeoutMs: config.functionTimeoutMs,
  });
  // A running parse is charged to the same budget as the message bytes sessions hold.
  const parser = new ParsePool({
    ...DEFAULT_PARSE_POOL,
    // So many waiting can never be refused as busy; a waiting message holds no more memory than
    // it already did (its bytes are in the budget).
    maxQueued: config.maxConnections,
    budget: { change: (deltaBytes) => gateway.memoryBudget.change(deltaBytes) },
  });
  if (config.payload !== 'raw') parser.warm();
  const bridge = createBridgeHandler({
    client,
    steps: config.steps,
    payload: config.payload,
    parser,
  });
  // MXHOOK_AUTH=users decides AUTH locally; =function sends it to the function (the auth step).
  const handler: Handler =
    config.auth === 'users' && config.authUsersPath !== null
      ? { ...bridge, auth: usersFileAuth(await loadUsersFile(config.authUsersPath)) }
      : bridge;
  // One DNS cache for the authentication checks and for delivery.
  const lookups = new DnsLookups({ servers: config.dnsServers, timeoutMs: config.dnsTimeoutMs });
  // The audit stream lives on the admin listener: without one, there is nothing to make events for.
  const audit = config.httpListen === null ? null : new AuditHub(config.audit === 'on');
  const observer = combineObservers(
    options.observer,
    audit === null ? undefined : new AuditObserver(audit),
  );
  const reports = startDeliveryReports(config, client, log);
  const outbound = await startOutbound(
    config,
    log,
    lookups,
    observer,
    reports === null ? undefined : (attempt) => reports.report(attempt),
  );
  const sendApi = startSendApi(config, { keys, queue: outbound.queue, sign: outbound.sign, log });
  // Its by-reference URLs point at the HTTP listener, whose address is known once it listens.
  const archive = await startArchive(
    config,
    log,
    signingKey.keyObject,
    () => config.publicUrl ?? listenerUrl(adminAddress),
  );
  if (outbound.queue !== null) observer.queueAttached?.(outbound.queue);
  const gateway = createGateway({
    ...gatewaySettingsOf(config),
    handler,
    // Relay outermost: it queues the message as received, and only once the function (and every
    // other middleware) accepted it. The function is where the message is delivered, so its raw
    // message carries the Return-Path.
    // The archive keeps what the function got (with Return-Path), inside the relay for the same
    // reason; a message the queue then refuses (451) stays archived, and its retry is archived again.
    // The hop count first: a looping message is refused before it is relayed or forwarded again.
    middleware: [
      hopLimit(),
      outbound.middleware,
      returnPath(),
      ...(archive === null ? [] : [archive.middleware]),
      ...(options.middleware ?? []),
    ],
    // The library takes every certificate and the AUTH switch in its own shapes.
    tls: config.tlsCertificates,
    auth: config.auth === 'off' ? null : { allowInsecure: config.authAllowInsecure },
    // Notices need a queue to be sent from.
    dsn: config.queue !== null,
    dnsLookups: lookups,
    logger: log,
    observer,
  });
  const smtpAddresses = await listenOrExplain(() => gateway.start(), 'MXHOOK_LISTEN').catch(
    async (error) => {
      // The listeners bound before the one that failed must not stay open.
      await gateway.stop();
      await outbound.stop(0);
      await archive?.stop();
      throw error;
    },
  );
  const certificates = certificateReloader(config, gateway, log);
  certificates?.watch();
  let admin: AdminServer | null = null;
  let adminAddress: AddressInfo | null = null;
  if (config.httpListen !== null) {
    admin = new AdminServer({
      ...config.httpListen,
      isReady: () => gateway.listening && outbound.ready() && (archive?.ready() ?? true),
      jwks: publicJwks(keys),
      // As private as the listener: MXHOOK_HTTP_LISTEN must not be reachable from the internet.
      ...(outbound.queue ? { queue: { queue: outbound.queue, hostname: config.hostname } } : {}),
      ...(options.metrics ? { metrics: options.metrics } : {}),
      ...(audit === null ? {} : { audit: { hub: audit, token: config.adminToken } }),
      ...(archive?.route ? { rawMessages: archive.route } : {}),
      ...(sendApi === null ? {} : { send: sendApi }),
    });
    const started = admin;
    adminAddress = await listenOrExplain(() => started.start(), 'MXHOOK_HTTP_LISTEN').catch(
      async (error) => {
        certificates?.close();
        await gateway.stop();
        await outbound.stop(0);
        await archive?.stop();
        throw error;
      },
    );
  } else {
    // Said once, so nobody goes looking for probes, metrics or the JWKS on the default port.
    log.info('admin HTTP off (MXHOOK_HTTP_LISTEN=off): no health, readiness, metrics or JWKS');
  }
  log.info(
    {
      functionUrl: config.functionUrl.href,
      steps: config.steps,
      kid: signingKey.kid,
      alg: signingKey.alg,
      signatureFormat: config.signatureFormat,
    },
    'mxhook ready',
  );
  return {
    gateway,
    smtpAddresses,
    adminAddress,
    reloadTls: () => certificates?.reload('signal') ?? false,
    async stop() {
      certificates?.close();
      await gateway.stop();
      // Sessions are done, so nothing more is queued; deliveries get the same grace sessions had.
      observer.queueAttached?.(null);
      await outbound.stop(config.shutdownGraceMs);
      // Reports of the last deliveries get a moment; the function client closes after them.
      await reports?.close(Math.min(config.shutdownGraceMs, 2_000));
      await archive?.stop();
      audit?.close();
      await admin?.stop();
      await client.close();
      await parser.close();
    },
  };
}

/** `http://host:port` of the HTTP listener, the default MXHOOK_PUBLIC_URL. */
function listenerUrl(address: AddressInfo | null): string {
  if (address === null) return '';
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** The certificate files, re-read and checked exactly as at start-up. */
function certificateReloader(
  config: GatewayConfig,
  gateway: Gateway,
  log: Logger,
): TlsReloader | null {
  if (config.tlsCertificates.length === 0) return null;
  const certPaths = config.tlsCertificates.map((files) => files.certPath);
  const keyPaths = config.tlsCertificates.map((files) => files.keyPath);
  return new TlsReloader({
    paths: [...certPaths, ...keyPaths],
    read: () => readTlsPairs('MXHOOK_TLS_CERT', 'MXHOOK_TLS_KEY', certPaths, keyPaths),
    apply: (pairs) => gateway.setTls(pairs),
    initial: config.tlsCertificates,
    log,
  });
}

/** A listener that cannot bind is a configuration problem: name the variable. */
async function listenOrExplain<T>(start: () => Promise<T>, variable: string): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (error instanceof MxhookError && error.code === 'ERR_LISTEN_FAILED') {
      throw new ConfigError(variable, error.message, { cause: error });
    }
    throw error;
  }
}
