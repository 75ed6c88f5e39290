// The outbound queue's metrics: there once a queue is attached, the gauges read from it at each
// scrape, the attempts counted from the delivery runner's reports, and all of it documented.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createMetrics, type MetricsObserver } from '../../../../gateway/metrics/index.ts';
import { parsePrometheus } from '../../../helpers/prometheus.ts';

const QUEUE_FAMILIES = {
  mxhook_queue_messages_pending: 'gauge',
  mxhook_queue_oldest_age_seconds: 'gauge',
  mxhook_delivery_attempts_total: 'counter',
  mxhook_dsn_sent_total: 'counter',
};

async function scrape(metrics: ReturnType<typeof createMetrics>) {
  return parsePrometheus(await metrics.render());
}

function value(exposition: Awaited<ReturnType<typeof scrape>>, name: string, outcome?: string) {
  return exposition.samples.find(
    (s) => s.name === name && (outcome === undefined || s.labels['outcome'] === outcome),
  )?.value;
}

describe('queue metrics', () => {
  it('are not exported by a gateway without a queue', async () => {
    const exposition = await scrape(createMetrics({ processMetrics: false }));
    for (const name of Object.keys(QUEUE_FAMILIES))
      expect(exposition.families.has(name), name).toBe(false);
  });

  it('read the queue at each scrape and count attempts by outcome', async () => {
    const metrics = createMetrics({ processMetrics: false });
    let stats = { pending: 3, oldestAgeMs: 1_500 as number | null };
    metrics.observer.queueAttached?.({ stats: async () => stats });
    metrics.observer.deliveryAttempt?.('deferred', 'dns');
    metrics.observer.deliveryAttempt?.('deferred', 'remote-4xx');
    metrics.observer.deliveryAttempt?.('expired', 'expired');
    metrics.observer.dsnQueued?.('failed');
    let exposition = await scrape(metrics);
    for (const [name, type] of Object.entries(QUEUE_FAMILIES))
      expect(exposition.families.get(name)?.type, name).toBe(type);
    expect(value(exposition, 'mxhook_queue_messages_pending')).toBe(3);
    expect(value(exposition, 'mxhook_queue_oldest_age_seconds')).toBe(1.5);
    const attempts = exposition.select('mxhook_delivery_attempts_total');
    const byOutcome: Record<string, number> = {};
    for (const s of attempts)
      byOutcome[s.labels['outcome']!] = (byOutcome[s.labels['outcome']!] ?? 0) + s.value;
    expect(byOutcome).toEqual({ delivered: 0, deferred: 2, failed: 0, expired: 1 });
    // By reason too, every pair there from the start; hyphens exported as underscores.
    expect(attempts.filter((s) => s.value > 0).map((s) => s.labels)).toEqual([
      { outcome: 'deferred', reason: 'remote_4xx' },
      { outcome: 'deferred', reason: 'dns' },
      { outcome: 'expired', reason: 'expired' },
    ]);
    expect(attempts.map((s) => `${s.labels['outcome']} ${s.labels['reason']}`)).toEqual([
      'delivered ok',
      'deferred remote_4xx',
      'deferred connection',
      'deferred tls',
      'deferred dns',
      'deferred size',
      'deferred policy',
      'deferred local',
      'failed remote_5xx',
      'failed dns',
      'failed size',
      'failed content',
      'failed policy',
      'expired expired',
    ]);
    expect(
      Object.fromEntries(
        exposition.select('mxhook_dsn_sent_total').map((s) => [s.labels['action'], s.value]),
      ),
    ).toEqual({ failed: 1, delayed: 0, delivered: 0 });

    stats = { pending: 0, oldestAgeMs: null };
    exposition = await scrape(metrics);
    expect(value(exposition, 'mxhook_queue_messages_pending')).toBe(0);
    expect(value(exposition, 'mxhook_queue_oldest_age_seconds')).toBe(0);

    // Attached again (a restart in the same process), or a queue that cannot be read: no error.
    metrics.observer.queueAttached?.({ stats: () => Promise.reject(new Error('database down')) });
    exposition = await scrape(metrics);
    expect(value(exposition, 'mxhook_queue_messages_pending')).toBe(0);
    metrics.observer.queueAttached?.(null);
    expect((metrics.observer as MetricsObserver).queue).toBeNull();
    expect(value(await scrape(metrics), 'mxhook_delivery_attempts_total', 'expired')).toBe(1);
  });

  it('are documented in infra/README.md, every family and label value', async () => {
    const readme = await readFile(new URL('../../../../infra/README.md', import.meta.url), 'utf8');
    const metrics = createMetrics({ processMetrics: false });
    metrics.observer.queueAttached?.({ stats: async () => ({ pending: 0, oldestAgeMs: null }) });
    const exposition = await scrape(metrics);
    for (const name of Object.keys(QUEUE_FAMILIES)) expect(readme, name).toContain(`\`${name}\``);
    for (const sample of exposition.samples.filter((s) => s.name in QUEUE_FAMILIES))
      for (const text of Object.values(sample.labels)) expect(readme, text).toContain(text);
  });
});
