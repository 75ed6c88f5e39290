// Shared set-up for the operator tests: the real `mxhook serve` stack with a local function, a
// certificate on disk, and SMTP sessions that count every byte they send.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DestinationStream, Logger } from 'pino';
import { loadConfig } from '../../../gateway/config/index.ts';
import { type RunningGateway, serve } from '../../../gateway/serve.ts';
import type { GatewayObserver } from '../../../gateway/server/observer.ts';
import { type TestCertificate, testCertificate } from '../../helpers/certs.ts';
import type { FunctionServer } from '../../helpers/function-server.ts';
import { SmtpClient, type SmtpReply } from '../../helpers/smtp-client.ts';
import { waitUntil } from '../../helpers/wait.ts';

export interface OpsStack {
  readonly running: RunningGateway;
  readonly port: number;
  readonly adminUrl: string;
  readonly certificate: TestCertificate;
  stop(): Promise<void>;
}

export interface OpsStackOptions {
  readonly fn: FunctionServer;
  readonly secret: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly observer?: GatewayObserver;
  readonly metrics?: { readonly contentType: string; readonly render: () => Promise<string> };
  readonly logger?: Logger;
  readonly logDestination?: DestinationStream;
}

export async function startOpsStack(options: OpsStackOptions): Promise<OpsStack> {
  const certificate = await testCertificate();
  const dir = await mkdtemp(join(tmpdir(), 'mxhook-ops-'));
  await writeFile(join(dir, 'cert.pem'), certificate.cert);
  await writeFile(join(dir, 'key.pem'), certificate.key, { mode: 0o600 });
  const config = loadConfig({
    env: {
      MXHOOK_LISTEN: '127.0.0.1:0',
      MXHOOK_HTTP_LISTEN: '127.0.0.1:0',
      MXHOOK_HOSTNAME: 'mx.test',
      MXHOOK_FUNCTION_URL: options.fn.url,
      MXHOOK_SIGNING_SECRET: options.secret,
      MXHOOK_TLS_CERT: join(dir, 'cert.pem'),
      MXHOOK_TLS_KEY: join(dir, 'key.pem'),
      MXHOOK_SHUTDOWN_GRACE: '5',
      // Test traffic stays on loopback: no checks (no system DNS); authentication tests bring their own DNS server.
      MXHOOK_AUTH_CHECKS: 'none',
      ...options.env,
    },
  });
  let running: RunningGateway;
  try {
    running = await serve(config, {
      ...(options.observer ? { observer: options.observer } : {}),
      ...(options.metrics ? { metrics: options.metrics } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.logDestination ? { logDestination: options.logDestination } : {}),
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  let stopped: Promise<void> | null = null;
  return {
    running,
    port: running.smtpAddresses[0]!.port,
    adminUrl: `http://127.0.0.1:${running.adminAddress!.port}`,
    certificate,
    stop() {
      stopped ??= running.stop().finally(() => rm(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}

/** Resolves once the gateway has no session open (the server side closed them all). */
export function allSessionsClosed(stack: OpsStack): Promise<void> {
  return waitUntil(() => stack.running.gateway.sessionCount === 0, 'every session to close');
}

/** An SMTP session that adds every byte it sends to `counter.bytes`. */
export class CountingSession {
  readonly client: SmtpClient;
  readonly #counter: { bytes: number };

  private constructor(client: SmtpClient, counter: { bytes: number }) {
    this.client = client;
    this.#counter = counter;
  }

  /** Connected, past a 220 banner. */
  static async open(port: number, counter: { bytes: number }): Promise<CountingSession> {
    const client = await SmtpClient.connect(port);
    const session = new CountingSession(client, counter);
    await session.expect(await client.readReply(), 220, 'the banner');
    return session;
  }

  async send(data: string | Buffer): Promise<void> {
    this.#counter.bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    await this.client.send(data);
  }

  async command(line: string): Promise<SmtpReply> {
    await this.send(`${line}\r\n`);
    return this.client.readReply();
  }

  /** Sends `line` and fails unless the reply has `code`. */
  async expectCommand(line: string, code: number): Promise<SmtpReply> {
    return this.expect(await this.command(line), code, line);
  }

  async quit(): Promise<void> {
    await this.expectCommand('QUIT', 221);
    await this.client.readUntilClosed();
  }

  expect(reply: SmtpReply, code: number, after: string): SmtpReply {
    if (reply.code !== code)
      throw new Error(`expected ${code} after ${after}, got ${JSON.stringify(reply.raw)}`);
    return reply;
  }
}
