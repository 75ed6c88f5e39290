// `mxhook serve`: wires configuration into the gateway, the webhook bridge and the admin HTTP server.
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { publicJwks, signBody } from '../functions/sdk/sign.ts';
import { AdminServer } from './admin/admin-server.ts';
import { createBridgeHandler } from './bridge/bridge-handler.ts';
import { FunctionClient } from './bridge/function-client.ts';
import type { GatewayConfig } from './config/types.ts';
import { ConfigError, MxhookError } from './errors.ts';
import type { Handler } from './handler.ts';
import { createGateway, type Gateway } from './server/gateway.ts';
import type { GatewayObserver } from './server/observer.ts';
import { importConfiguredKeys } from './signing-keys.ts';

export interface ServeOptions {
  readonly logger?: Logger;
  readonly observer?: GatewayObserver;
  readonly metrics?: { readonly contentType: string; readonly render: () => Promise<string> };
}

export interface RunningGateway {
  readonly gateway: Gateway;
  readonly smtpAddresses: readonly AddressInfo[];
  readonly adminAddress: AddressInfo | null;
  /** Graceful: drains sessions within the configured grace period, then closes everything. */
  stop(): Promise<void>;
}

export async function serve(
  config: GatewayConfig,
  options: ServeOptions = {},
): Promise<RunningGateway> {
  const log = options.logger ?? pino({ level: config.logLevel });
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
    sign: (body) => signBody(body, signingKey),
    timeoutMs: config.functionTimeoutMs,
  });
  const handler: Handler = createBridgeHandler({
    client,
    steps: config.steps,
    payload: config.payload,
  });
  const gateway = createGateway({
    listen: config.listen,
    hostname: config.hostname,
    handler,
    tls: config.tls,
    maxMessageBytes: config.maxMessageBytes,
    maxRecipients: config.maxRecipients,
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    idleTimeoutMs: config.idleTimeoutMs,
    dataTimeoutMs: config.dataTimeoutMs,
    functionTimeoutMs: config.functionTimeoutMs,
    maxBadCommands: config.maxBadCommands,
    bareLf: config.bareLf,
    longLines: config.longLines,
    shutdownGraceMs: Math.max(config.shutdownGraceMs, 1),
    maxBytesInFlight: config.maxBytesInFlight,
    requireTls: config.requireTls,
    logger: log,
    ...(options.observer ? { observer: options.observer } : {}),
  });
  const smtpAddresses = await listenOrExplain(() => gateway.start(), 'MXHOOK_LISTEN');
  let admin: AdminServer | null = null;
  let adminAddress: AddressInfo | null = null;
  if (config.httpListen !== null) {
    admin = new AdminServer({
      ...config.httpListen,
      isReady: () => gateway.listening,
      jwks: publicJwks(keys),
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });
    const started = admin;
    adminAddress = await listenOrExplain(() => started.start(), 'MXHOOK_HTTP_LISTEN').catch(
      async (error) => {
        await gateway.stop();
        throw error;
      },
    );
  }
  log.info(
    {
      functionUrl: config.functionUrl.href,
      steps: config.steps,
      kid: signingKey.kid,
      alg: signingKey.alg,
    },
    'mxhook ready',
  );
  return {
    gateway,
    smtpAddresses,
    adminAddress,
    async stop() {
      await gateway.stop();
      await admin?.stop();
      await client.close();
    },
  };
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
