// Starts the real gateway in-process (serve()) on 127.0.0.1:0, pointed at a Worker.
import pino from 'pino';
import { loadConfig } from '../../../gateway/config/index.ts';
import { type RunningGateway, serve } from '../../../gateway/serve.ts';

export interface TestGateway {
  readonly running: RunningGateway;
  /** The SMTP port. */
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * The gateway as `mxhook serve` would run it, configured through the MXHOOK_ variables; `env`
 * adds to or overrides them (e.g. `MXHOOK_PAYLOAD`).
 */
export async function startTestGateway(
  functionUrl: string,
  secret: string,
  env: Readonly<Record<string, string>> = {},
): Promise<TestGateway> {
  const config = loadConfig({
    env: {
      MXHOOK_LISTEN: '127.0.0.1:0',
      MXHOOK_HTTP_LISTEN: 'off',
      MXHOOK_HOSTNAME: 'mx.test',
      MXHOOK_FUNCTION_URL: functionUrl,
      MXHOOK_SIGNING_SECRET: secret,
      MXHOOK_FUNCTION_TIMEOUT: '20',
      MXHOOK_SHUTDOWN_GRACE: '1',
      // Test traffic stays on loopback: no checks (no system DNS); authentication tests bring their own DNS server.
      MXHOOK_AUTH_CHECKS: 'none',
      ...env,
    },
  });
  const running = await serve(config, { logger: pino({ level: 'silent' }) });
  return { running, port: running.smtpAddresses[0]!.port, stop: () => running.stop() };
}
