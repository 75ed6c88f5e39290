// Starts the real `mxhook serve` stack (config → gateway → signed webhook bridge → admin HTTP) on 127.0.0.1:0.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { loadConfig } from '../../gateway/config/index.ts';
import type { GatewayConfig } from '../../gateway/config/types.ts';
import type { Middleware } from '../../gateway/middleware.ts';
import { type RunningGateway, serve } from '../../gateway/serve.ts';
import { type FunctionServer, startFunctionServer } from './function-server.ts';

export const BRIDGE_HOSTNAME = 'mx.test';

export interface BridgeOptions {
  /** MXHOOK_FUNCTION_URL */
  readonly functionUrl: string;
  /** How calls are signed: a 40-character HS256 secret (default) or a generated Ed25519 key file. */
  readonly signing?: 'HS256' | 'EdDSA';
  /** More MXHOOK_ variables, applied over the test defaults. */
  readonly env?: Readonly<Record<string, string>>;
  /** Middleware around the bridge's hooks, as `serve()` takes it. */
  readonly middleware?: readonly Middleware[];
  /** Where the stack logs; default nowhere. */
  readonly logger?: Logger;
}

export interface TestBridge {
  readonly running: RunningGateway;
  readonly config: GatewayConfig;
  /** The SMTP listener's port. */
  readonly port: number;
  /** `http://127.0.0.1:<admin port>` */
  readonly adminUrl: string;
  /** The HS256 secret, when signing with one. */
  readonly secret: string | null;
  /** The Ed25519 private key file (PKCS#8 PEM), when signing with one. */
  readonly keyFile: string | null;
  /** Graceful stop (idempotent). */
  stop(): Promise<void>;
}

const running = new Set<TestBridge>();

/** Stops every bridge this test file started and has not stopped; for `afterEach`. */
export async function stopAllBridges(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.all(all.map((bridge) => bridge.stop()));
}

/** A fresh HS256 secret of 40 characters. */
export function newSecret(): string {
  return randomBytes(30).toString('base64url');
}

export async function startBridge(options: BridgeOptions): Promise<TestBridge> {
  const signing = options.signing ?? 'HS256';
  const keyDir = signing === 'EdDSA' ? await mkdtemp(join(tmpdir(), 'mxhook-key-')) : null;
  const keyFile = keyDir === null ? null : join(keyDir, 'signing-key.pem');
  if (keyFile !== null) {
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' });
    await writeFile(keyFile, pem, { mode: 0o600 });
  }
  const secret = signing === 'HS256' ? newSecret() : null;
  const env: Record<string, string> = {
    MXHOOK_LISTEN: '127.0.0.1:0',
    MXHOOK_HTTP_LISTEN: '127.0.0.1:0',
    MXHOOK_HOSTNAME: BRIDGE_HOSTNAME,
    MXHOOK_FUNCTION_URL: options.functionUrl,
    MXHOOK_LOG_LEVEL: 'silent',
    MXHOOK_SHUTDOWN_GRACE: '5',
    // Test traffic stays on loopback: no checks (no system DNS); authentication tests bring their own DNS server.
    MXHOOK_AUTH_CHECKS: 'none',
    ...(secret === null ? {} : { MXHOOK_SIGNING_SECRET: secret }),
    ...(keyFile === null ? {} : { MXHOOK_SIGNING_KEY: keyFile }),
    ...options.env,
  };
  const config = loadConfig({ env });
  let runningGateway: RunningGateway;
  try {
    runningGateway = await serve(config, {
      logger: options.logger ?? pino({ level: 'silent' }),
      ...(options.middleware ? { middleware: options.middleware } : {}),
    });
  } catch (error) {
    if (keyDir !== null) await rm(keyDir, { recursive: true, force: true });
    throw error;
  }
  const admin = runningGateway.adminAddress;
  let stopped: Promise<void> | null = null;
  const bridge: TestBridge = {
    running: runningGateway,
    config,
    port: runningGateway.smtpAddresses[0]!.port,
    adminUrl: admin === null ? '' : `http://127.0.0.1:${admin.port}`,
    secret,
    keyFile,
    stop() {
      running.delete(bridge);
      stopped ??= runningGateway.stop().finally(async () => {
        if (keyDir !== null) await rm(keyDir, { recursive: true, force: true });
      });
      return stopped;
    },
  };
  running.add(bridge);
  return bridge;
}

/**
 * `mxhook serve` relaying mail from `client` through the queue at `queue` to the MX hosts
 * `dnsServer` names, listening on `port`, retrying within half a second; its function server
 * answers with the default. `env` adds or overrides settings.
 */
export async function startRelayingBridge(
  relay: {
    readonly queue: string;
    readonly client: string;
    readonly port: number;
    readonly dnsServer: string;
  },
  env: Readonly<Record<string, string>> = {},
): Promise<{ fn: FunctionServer; bridge: TestBridge }> {
  const fn = await startFunctionServer();
  const bridge = await startBridge({
    functionUrl: fn.url,
    env: {
      MXHOOK_QUEUE: relay.queue,
      MXHOOK_RELAY_NETWORKS: `${relay.client}/32`,
      MXHOOK_DELIVERY_PORT: String(relay.port),
      MXHOOK_DNS_SERVERS: relay.dnsServer,
      MXHOOK_RETRY_MIN: '0.2',
      MXHOOK_RETRY_MAX: '0.4',
      ...env,
    },
  });
  return { fn, bridge };
}
