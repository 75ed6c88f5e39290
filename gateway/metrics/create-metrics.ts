// Prometheus metrics for operators: a private prom-client registry fed by the gateway's observer.
import {
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  Registry,
  type RegistryContentType,
} from 'prom-client';
import { STEPS } from '../../functions/sdk/wire.ts';
import type { GatewayObserver } from '../server/observer.ts';
import { VERSION } from '../version.ts';
import {
  AUTHENTICATION_RESULTS,
  CODE_CLASSES,
  DELIVERY_ATTEMPTS,
  DSN_ACTIONS,
  labelValue,
  REJECTION_REASONS,
  REPLY_STEPS,
  STEP_OUTCOMES,
  TRANSACTION_OUTCOMES,
  VERDICT_CHECKS,
} from './labels.ts';
import { MetricsObserver } from './metrics-observer.ts';

export const METRIC_PREFIX = 'mxhook_';

/**
 * prom-client's default metrics that are gauges named `…_total`, a suffix Prometheus reserves for
 * counters. Each is the sum over its unsuffixed sibling's `type` label (`nodejs_active_handles`
 * …), so removing it loses nothing a query cannot add up.
 */
const MISNAMED_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;

/**
 * Function call latency buckets, in seconds: from a function on the same host (about 1 ms) to the
 * default MXHOOK_FUNCTION_TIMEOUT (30 s), roughly ×2.5 apart.
 */
export const CALL_LATENCY_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

export interface MetricsOptions {
  /**
   * Also export prom-client's process and Node.js metrics (CPU, memory, event loop lag, GC) under
   * their usual names (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes` …), without the
   * `mxhook_` prefix, so existing Node.js dashboards and alerts work unchanged; default true.
   */
  readonly processMetrics?: boolean;
}

export interface GatewayMetrics {
  /** Pass to the gateway (`createGateway({ observer })` or `serve(config, { observer })`). */
  readonly observer: GatewayObserver;
  /** The `Content-Type` of `render()`'s output. */
  readonly contentType: string;
  /** The Prometheus text exposition of every metric. */
  render(): Promise<string>;
  /** The registry, to add application metrics to. */
  readonly registry: Registry<RegistryContentType>;
}

/**
 * Creates a registry of its own (never prom-client's global one, so two gateways in one process,
 * or a host application's metrics, do not collide) and the observer that feeds it.
 *
 * @example
 * const metrics = createMetrics();
 * await serve(config, { observer: metrics.observer, metrics });
 */
export function createMetrics(options: MetricsOptions = {}): GatewayMetrics {
  const registry = new Registry();
  const registers = [registry];
  const latency = new Histogram({
    name: `${METRIC_PREFIX}function_call_duration_seconds`,
    help: 'Time the function took to answer one step, by step and outcome (accepted, rejected, deferred, failed).',
    labelNames: ['step', 'outcome'] as const,
    buckets: [...CALL_LATENCY_BUCKETS],
    registers,
  });
  // Bound once per label pair, so an observation does not build a label object.
  const latencyByLabels = STEPS.flatMap((step) =>
    STEP_OUTCOMES.map((outcome) => latency.labels(step, outcome)),
  );
  const observer = new MetricsObserver((step, outcome, seconds) =>
    latencyByLabels[step * STEP_OUTCOMES.length + outcome]!.observe(seconds),
  );

  new Gauge({
    name: `${METRIC_PREFIX}sessions_open`,
    help: 'SMTP sessions open now.',
    registers,
    collect() {
      this.set(observer.sessionsOpen);
    },
  });
  counter(registry, 'sessions_total', 'SMTP sessions opened.', [], () => [
    [{}, observer.sessionsTotal],
  ]);
  const build = new Gauge({
    name: `${METRIC_PREFIX}build_info`,
    help: 'Always 1; the labels say which mxhook version runs on which Node.js version.',
    labelNames: ['version', 'node_version'] as const,
    registers,
  });
  build.set({ version: VERSION, node_version: process.versions.node }, 1);
  const transactionLabels = TRANSACTION_OUTCOMES.map((outcome) => ({
    outcome: labelValue(outcome),
  }));
  counter(
    registry,
    'transactions_total',
    'Mail transactions ended, by outcome: accepted, rejected, deferred or failed (the data function), too_large, or refused (bare LF, long line).',
    ['outcome'],
    () => transactionLabels.map((labels, i) => [labels, observer.transactions[i]!]),
  );
  const replyLabels = REPLY_STEPS.flatMap((step) => CODE_CLASSES.map((code) => ({ step, code })));
  counter(
    registry,
    'replies_total',
    'SMTP replies sent, by the step they answer (command: any other command or event) and code class.',
    ['step', 'code'],
    () => replyLabels.map((labels, i) => [labels, observer.replies[i]!]),
  );
  const rejectionLabels = REJECTION_REASONS.map((reason) => ({ reason: labelValue(reason) }));
  counter(
    registry,
    'rejections_total',
    "Refusals the gateway made itself (not its function's), by reason: limits, access, smuggling defences, timeouts. One per refused connection or refusing reply.",
    ['reason'],
    () => rejectionLabels.map((labels, i) => [labels, observer.rejections[i]!]),
  );
  const tlsLabels = [{ result: 'success' }, { result: 'failure' }];
  counter(
    registry,
    'tls_handshakes_total',
    'TLS handshakes (STARTTLS and implicit TLS), by result.',
    ['result'],
    () => tlsLabels.map((labels, i) => [labels, observer.tlsHandshakes[i]!]),
  );
  const verdictLabels = VERDICT_CHECKS.flatMap((check) =>
    AUTHENTICATION_RESULTS.map((result) => ({ check, result })),
  );
  counter(
    registry,
    'authentication_verdicts_total',
    'Mail authentication verdicts of the messages that reached their data call, by check (rdns, spf, dkim per signature, dmarc, arc) and RFC 8601 result.',
    ['check', 'result'],
    () => verdictLabels.map((labels, i) => [labels, observer.verdicts[i]!]),
  );
  counter(
    registry,
    'received_bytes_total',
    'Bytes read from SMTP clients (after TLS decryption).',
    [],
    () => [[{}, observer.receivedBytes]],
  );
  // The outbound queue's families appear once serve() attaches a queue (MXHOOK_QUEUE), not before:
  // a gateway that only receives has no queue to report on. The gauges are read from the queue at
  // each scrape, so every node of a shared PostgreSQL queue reports the whole queue: aggregate
  // them with max, not sum.
  const queueStats = async (): Promise<{ pending: number; oldestAgeMs: number | null }> => {
    try {
      return (await observer.queue?.stats(Date.now())) ?? { pending: 0, oldestAgeMs: null };
    } catch {
      // A queue that cannot be read (database down) says so through /readyz and the logs.
      return { pending: 0, oldestAgeMs: null };
    }
  };
  const deliveryLabels = DELIVERY_ATTEMPTS.map(([outcome, reason]) => ({
    outcome,
    reason: labelValue(reason),
  }));
  const dsnLabels = DSN_ACTIONS.map((action) => ({ action }));
  const queueFamilies = [
    new Gauge({
      name: `${METRIC_PREFIX}queue_messages_pending`,
      help: 'Recipients in the outbound queue not delivered, failed or expired yet (queued or being delivered).',
      registers: [],
      async collect() {
        this.set((await queueStats()).pending);
      },
    }),
    new Gauge({
      name: `${METRIC_PREFIX}queue_oldest_age_seconds`,
      help: 'Age of the oldest message in the outbound queue with a recipient not final; 0 when none.',
      registers: [],
      async collect() {
        this.set(((await queueStats()).oldestAgeMs ?? 0) / 1000);
      },
    }),
    mirroredCounter(
      'delivery_attempts_total',
      "Outbound delivery attempts, one per recipient, by outcome: delivered, deferred (to be retried), failed (given up: 5xx, no such domain, null MX), expired (the queue's lifetime ran out); and by reason: ok, remote_4xx, remote_5xx, connection, tls, dns, size, content, policy, local, expired.",
      ['outcome', 'reason'],
      () => deliveryLabels.map((labels, i) => [labels, observer.deliveryAttempts[i]!]),
    ),
    mirroredCounter(
      'dsn_sent_total',
      'Delivery status notifications (RFC 3464) queued for senders, by action, the worst news each carries: failed (a bounce), delayed, delivered (asked for with NOTIFY=SUCCESS).',
      ['action'],
      () => dsnLabels.map((labels, i) => [labels, observer.dsnsQueued[i]!]),
    ),
  ];
  observer.onFirstQueue = () => {
    for (const family of queueFamilies) registry.registerMetric(family);
  };
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(name);
  }

  return {
    observer,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    registry,
  };
}

type Series = readonly [Readonly<Record<string, string>>, number];

/** A counter whose values are read from the observer at scrape time. */
function counter(
  registry: Registry<RegistryContentType>,
  name: string,
  help: string,
  labelNames: readonly string[],
  read: () => readonly Series[],
): void {
  registry.registerMetric(mirroredCounter(name, help, labelNames, read));
}

/** The same, not registered yet: for families that appear later (the queue's). */
function mirroredCounter(
  name: string,
  help: string,
  labelNames: readonly string[],
  read: () => readonly Series[],
): Counter {
  return new Counter({
    name: `${METRIC_PREFIX}${name}`,
    help,
    labelNames,
    registers: [],
    collect() {
      // The observer holds the running totals; the counter only mirrors them for this scrape.
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}
