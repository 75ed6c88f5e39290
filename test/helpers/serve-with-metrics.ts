// `mxhook serve` run in the test's own process (not a child), so a test can read its metrics
// observer directly as well as scrape /metrics.
import pino from 'pino';
import { loadConfig } from '../../gateway/config/index.ts';
import { createMetrics, type MetricsObserver } from '../../gateway/metrics/index.ts';
import { type RunningGateway, serve } from '../../gateway/serve.ts';
import { newSecret } from './start-bridge.ts';

/**
 * A silent gateway on loopback with metrics and no authentication checks, calling `functionUrl`;
 * `env` adds the settings the test is about (the queue, relay networks, DNS servers).
 */
export async function serveWithMetrics(
  functionUrl: string,
  env: Readonly<Record<string, string>>,
): Promise<{ running: RunningGateway; observer: MetricsObserver }> {
  const metrics = createMetrics({ processMetrics: false });
  const config = loadConfig({
    env: {
      MXHOOK_LISTEN: '127.0.0.1:0',
      MXHOOK_HTTP_LISTEN: '127.0.0.1:0',
      MXHOOK_HOSTNAME: 'mx.test',
      MXHOOK_FUNCTION_URL: functionUrl,
      MXHOOK_SIGNING_SECRET: newSecret(),
      MXHOOK_LOG_LEVEL: 'silent',
      MXHOOK_SHUTDOWN_GRACE: '5',
      MXHOOK_AUTH_CHECKS: 'none',
      ...env,
    },
  });
  const running = await serve(config, {
    logger: pino({ level: 'silent' }),
    observer: metrics.observer,
    metrics,
  });
  return { running, observer: metrics.observer as MetricsObserver };
}
