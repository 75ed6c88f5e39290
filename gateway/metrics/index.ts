// Prometheus metrics for the gateway.
export {
  CALL_LATENCY_BUCKETS,
  createMetrics,
  type GatewayMetrics,
  METRIC_PREFIX,
  type MetricsOptions,
} from './create-metrics.ts';
export { MetricsObserver } from './metrics-observer.ts';
