// What the forward and reply tests share: `mxhook serve` with a queue, every authentication check
// on, a loopback DNS server with the authentication zone (auth-zone.ts) plus MX hosts, receiving
// MTAs on 127.0.0.x, and the ARC/DKIM key of the gateway's own domain (mx.test).
import { generateKeyPairSync } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { type AuthFixtures, createAuthFixtures } from '../../helpers/auth-zone.ts';
import { dkimKeyRecord } from '../../helpers/dkim-signer.ts';
import { mxHost, startDnsServer, type TestDnsServer } from '../../helpers/dns-server.ts';
import {
  closeAllFunctionServers,
  type FunctionServer,
  startFunctionServer,
} from '../../helpers/function-server.ts';
import {
  closeAllReceivingMtas,
  freePort,
  type ReceivingMta,
  startReceivingMta,
} from '../../helpers/receiving-mta.ts';
import { destroyAllClients, inTransaction, sendData } from '../../helpers/smtp-client.ts';
import {
  BRIDGE_HOSTNAME,
  startBridge,
  stopAllBridges,
  type TestBridge,
} from '../../helpers/start-bridge.ts';

/** forward destinations: dest.test's MX. */
export const DEST_ADDRESS = '127.0.0.2';
/** reject.test's MX (the original senders, where bounces and replies go). */
export const SENDER_MX_ADDRESS = '127.0.0.4';
export const SRS_SECRET = 'an-srs-secret-for-tests-only-0123456789';
/** The gateway's own domain: SRS domain, ARC sealer, the domain replies come from. */
export const OWN_DOMAIN = BRIDGE_HOSTNAME;
export const OWN_SELECTOR = 'mx2026';

export interface SendOnWorld {
  readonly fixtures: AuthFixtures;
  readonly dns: TestDnsServer;
  readonly resolver: Resolver;
  readonly port: number;
  /** Where MXHOOK_DKIM_SIGN's key file for mx.test is. */
  readonly keyFile: string;
  close(): Promise<void>;
}

async function startWorld(): Promise<SendOnWorld> {
  const fixtures = createAuthFixtures();
  const own = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const dir = await mkdtemp(join(tmpdir(), 'mxhook-send-on-'));
  const keyFile = join(dir, 'mx.test.pem');
  await writeFile(keyFile, own.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const dns = await startDnsServer({
    ...fixtures.zone,
    'reject.test': [
      ...(fixtures.zone['reject.test'] ?? []),
      { type: 'MX', exchange: 'mx.reject.test', priority: 10 },
    ],
    'mx.reject.test': [{ type: 'A', address: SENDER_MX_ADDRESS }],
    ...mxHost('dest.test', DEST_ADDRESS),
    [`${OWN_SELECTOR}._domainkey.${OWN_DOMAIN}`]: [
      { type: 'TXT', data: dkimKeyRecord(own.publicKey) },
    ],
  });
  const resolver = new Resolver({ timeout: 2_000, tries: 1 });
  resolver.setServers([dns.server]);
  const port = await freePort([DEST_ADDRESS, SENDER_MX_ADDRESS]);
  return {
    fixtures,
    dns,
    resolver,
    port,
    keyFile,
    async close() {
      await dns.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Registers the test file's hooks: the world started before its tests and closed after them,
 * everything a test started stopped after it. Returns the world, for use once the tests run.
 */
export function useSendOnWorld(): () => SendOnWorld {
  let world: SendOnWorld | undefined;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world?.close());
  afterEach(cleanUpAfterTest);
  return () => {
    if (world === undefined) throw new Error('the send-on world is not started yet');
    return world;
  };
}

export async function startMtas(world: SendOnWorld): Promise<{
  dest: ReceivingMta;
  senderMx: ReceivingMta;
}> {
  return {
    dest: await startReceivingMta(DEST_ADDRESS, world.port),
    senderMx: await startReceivingMta(SENDER_MX_ADDRESS, world.port),
  };
}

/** The gateway with a fresh queue directory (removed by `removeQueues`). */
export async function startSendOnBridge(
  world: SendOnWorld,
  env: Readonly<Record<string, string>> = {},
  logger?: Logger,
): Promise<{ fn: FunctionServer; bridge: TestBridge; queue: string }> {
  const fn = await startFunctionServer();
  const queue = await mkdtemp(join(tmpdir(), 'mxhook-queue-'));
  queues.push(queue);
  const bridge = await startBridge({
    functionUrl: fn.url,
    ...(logger === undefined ? {} : { logger }),
    env: {
      MXHOOK_QUEUE: queue,
      MXHOOK_DELIVERY_PORT: String(world.port),
      MXHOOK_DNS_SERVERS: world.dns.server,
      MXHOOK_AUTH_CHECKS: 'rdns,spf,sender,dkim,dmarc,arc',
      MXHOOK_SRS_SECRET: SRS_SECRET,
      MXHOOK_DKIM_SIGN: `${OWN_DOMAIN}:${OWN_SELECTOR}:${world.keyFile}`,
      MXHOOK_RETRY_MIN: '0.2',
      MXHOOK_RETRY_MAX: '0.4',
      ...env,
    },
  });
  return { fn, bridge, queue };
}

const queues: string[] = [];

/** After each test: every client, bridge, MTA and function server stopped, the queues removed. */
async function cleanUpAfterTest(): Promise<void> {
  destroyAllClients();
  await stopAllBridges();
  await closeAllReceivingMtas();
  await closeAllFunctionServers();
  await Promise.all(queues.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** One message in one session; the final reply to the data. */
export async function sendMessage(
  port: number,
  options: { from: string; to: readonly string[]; text: string; localAddress?: string },
): Promise<{ code: number; raw: string }> {
  const client = await inTransaction(port, {
    localAddress: options.localAddress ?? '127.0.0.7',
    from: options.from,
    to: options.to,
  });
  const reply = await sendData(client, options.text);
  await client.command('QUIT');
  return reply;
}

export function messageFrom(
  from: string,
  extraHeaders = '',
  messageId = `<m1@${from.split('@')[1]}>`,
): string {
  return (
    `From: Alice <${from}>\r\nTo: bob@${OWN_DOMAIN}\r\nSubject: Quarterly figures\r\n` +
    `Date: Sun, 06 Dec 2026 12:00:00 +0000\r\nMessage-ID: ${messageId}\r\n` +
    `${extraHeaders}\r\nThe numbers are in.\r\n`
  );
}
