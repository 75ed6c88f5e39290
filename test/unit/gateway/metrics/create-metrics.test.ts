// The metrics observer's mapping: what each report from the gateway does to the exported series.
import { readFile } from 'node:fs/promises';
import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CALL_LATENCY_BUCKETS, createMetrics } from '../../../../gateway/metrics/index.ts';
import { replies } from '../../../../gateway/smtp/replies.ts';
import { reply } from '../../../../gateway/smtp/reply.ts';
import { parsePrometheus } from '../../../helpers/prometheus.ts';

async function scrape(metrics: ReturnType<typeof createMetrics>) {
  return parsePrometheus(await metrics.render());
}

const FAMILIES = {
  mxhook_sessions_open: 'gauge',
  mxhook_sessions_total: 'counter',
  mxhook_transactions_total: 'counter',
  mxhook_replies_total: 'counter',
  mxhook_function_call_duration_seconds: 'histogram',
  mxhook_rejections_total: 'counter',
  mxhook_tls_handshakes_total: 'counter',
  mxhook_authentication_verdicts_total: 'counter',
  mxhook_received_bytes_total: 'counter',
  mxhook_build_info: 'gauge',
};

describe('createMetrics', () => {
  it('exports the gateway families, typed and documented, all at zero before any session', async () => {
    const exposition = await scrape(createMetrics({ processMetrics: false }));
    expect(Object.fromEntries([...exposition.families].map(([name, f]) => [name, f.type]))).toEqual(
      FAMILIES,
    );
    for (const family of exposition.families.values()) expect(family.help).not.toBe('');
    const counts = exposition.samples.filter((sample) => sample.name !== 'mxhook_build_info');
    expect(counts.every((sample) => sample.value === 0)).toBe(true);
    expect(exposition.value('mxhook_transactions_total', { outcome: 'too_large' })).toBe(0);
    expect(exposition.value('mxhook_replies_total', { step: 'command', code: '3xx' })).toBe(0);
    expect(exposition.value('mxhook_rejections_total', { reason: 'bare_lf' })).toBe(0);
    // A histogram series appears with its first observation, not before.
    expect(exposition.select('mxhook_function_call_duration_seconds_count')).toEqual([]);
  });

  it("adds prom-client's process metrics under their standard names to the same registry", async () => {
    const metrics = createMetrics();
    expect(metrics.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const exposition = await scrape(metrics);
    expect(exposition.families.get('process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(exposition.families.get('process_resident_memory_bytes')?.type).toBe('gauge');
    expect(exposition.families.get('nodejs_eventloop_lag_seconds')?.type).toBe('gauge');
    expect(exposition.families.get('nodejs_active_handles')?.type).toBe('gauge');
    const names = [...exposition.families.keys()];
    expect(names.filter((name) => /^mxhook_(process|nodejs)_/.test(name))).toEqual([]);
  });

  it('names no gauge …_total (Prometheus keeps the suffix for counters), its own or prom-client’s', async () => {
    const exposition = await scrape(createMetrics());
    const misnamed = [...exposition.families.values()].filter(
      (family) => family.name.endsWith('_total') && family.type !== 'counter',
    );
    expect(misnamed.map((family) => family.name)).toEqual([]);
  });

  it('uses underscores, never hyphens, in the label values of its own metrics', async () => {
    const exposition = await scrape(createMetrics({ processMetrics: false }));
    const hyphenated = exposition.samples
      .filter((sample) => sample.name !== 'mxhook_build_info') // versions are not names
      .flatMap((sample) => Object.values(sample.labels).filter((value) => value.includes('-')));
    expect(hyphenated).toEqual([]);
  });

  it('exports mxhook_build_info 1 with the package and Node.js versions', async () => {
    const manifest = JSON.parse(
      await readFile(new URL('../../../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    const exposition = await scrape(createMetrics({ processMetrics: false }));
    expect(exposition.select('mxhook_build_info')).toEqual([
      {
        name: 'mxhook_build_info',
        labels: { version: manifest.version, node_version: process.versions.node },
        value: 1,
      },
    ]);
  });

  it('uses a registry of its own, never the global one, so two gateways do not share counts', async () => {
    const first = createMetrics({ processMetrics: false });
    const second = createMetrics({ processMetrics: false });
    first.observer.sessionOpened?.();
    expect((await scrape(first)).value('mxhook_sessions_total')).toBe(1);
    expect((await scrape(second)).value('mxhook_sessions_total')).toBe(0);
    expect(globalRegistry.getSingleMetric('mxhook_sessions_total')).toBeUndefined();
  });
});

describe('MetricsObserver', () => {
  it('counts sessions opened in total and open now', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const observer = metrics.observer;
    observer.sessionOpened?.();
    observer.sessionOpened?.();
    observer.sessionOpened?.();
    observer.sessionClosed?.();
    const exposition = await scrape(metrics);
    expect(exposition.value('mxhook_sessions_total')).toBe(3);
    expect(exposition.value('mxhook_sessions_open')).toBe(2);
  });

  it('counts replies by the step they answer and their code class', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const observer = metrics.observer;
    observer.reply?.('connect', replies.greeting('mx.test', 'ESMTP mxhook'));
    observer.reply?.('rcpt', reply(550, '5.1.1', 'no such user'));
    observer.reply?.('rcpt', reply(550, '5.1.1', 'no such user'));
    observer.reply?.('rcpt', replies.ok);
    observer.reply?.('data', replies.hookFailed);
    observer.reply?.('command', replies.startData);
    const exposition = await scrape(metrics);
    expect(exposition.value('mxhook_replies_total', { step: 'connect', code: '2xx' })).toBe(1);
    expect(exposition.value('mxhook_replies_total', { step: 'rcpt', code: '5xx' })).toBe(2);
    expect(exposition.value('mxhook_replies_total', { step: 'rcpt', code: '2xx' })).toBe(1);
    expect(exposition.value('mxhook_replies_total', { step: 'data', code: '4xx' })).toBe(1);
    expect(exposition.value('mxhook_replies_total', { step: 'command', code: '3xx' })).toBe(1);
    const total = exposition
      .select('mxhook_replies_total')
      .reduce((sum, sample) => sum + sample.value, 0);
    expect(total).toBe(6);
  });

  it('recognises the core refusals by their named reply, and nothing else', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const observer = metrics.observer;
    const refusals = {
      too_many_errors: replies.tooManyErrors,
      line_too_long: replies.lineTooLong,
      http_request: replies.httpRefused,
      too_large: replies.messageTooBig,
      too_many_recipients: replies.tooManyRecipients,
      memory_budget: replies.memoryBudget,
      bare_lf: replies.bareLf,
      long_line: replies.longLine,
    };
    for (const refusal of Object.values(refusals)) observer.reply?.('command', refusal);
    // Passed-on function answers, and refusals the shell reports itself, are not counted here.
    observer.reply?.('data', replies.hookFailed);
    observer.reply?.('rcpt', reply(550, '5.1.1', 'no such user'));
    observer.reply?.('command', replies.timeout);
    observer.reply?.('connect', replies.earlyTalker);
    // An equal reply made elsewhere is not the named one: identity, not text, decides.
    observer.reply?.(
      'command',
      reply(552, '5.3.4', 'Message size exceeds fixed maximum message size'),
    );
    const exposition = await scrape(metrics);
    for (const reason of Object.keys(refusals))
      expect(exposition.value('mxhook_rejections_total', { reason }), reason).toBe(1);
    const total = exposition
      .select('mxhook_rejections_total')
      .reduce((sum, sample) => sum + sample.value, 0);
    expect(total).toBe(Object.keys(refusals).length);
  });

  it('counts the refusals the shell reports by their reason', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const observer = metrics.observer;
    observer.refused?.('max-connections');
    observer.refused?.('max-connections-per-ip');
    observer.refused?.('max-connections-per-ip');
    observer.refused?.('timeout');
    observer.refused?.('early-talker');
    observer.refused?.('starttls-injection');
    const exposition = await scrape(metrics);
    expect(exposition.value('mxhook_rejections_total', { reason: 'max_connections' })).toBe(1);
    expect(exposition.value('mxhook_rejections_total', { reason: 'max_connections_per_ip' })).toBe(
      2,
    );
    expect(exposition.value('mxhook_rejections_total', { reason: 'timeout' })).toBe(1);
    expect(exposition.value('mxhook_rejections_total', { reason: 'early_talker' })).toBe(1);
    expect(exposition.value('mxhook_rejections_total', { reason: 'starttls_injection' })).toBe(1);
    expect(exposition.value('mxhook_rejections_total', { reason: 'access_denied' })).toBe(0);
  });

  it('counts the verdicts of each message by check and result, DKIM per signature', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const observer = metrics.observer;
    const aligned = { spf: true, dkim: true };
    const signature = { domain: 'a.test', selector: 's', algorithm: 'rsa-sha256', aligned: true };
    observer.authenticated?.({
      rdns: { result: 'pass', hostname: 'mx.a.test', names: ['mx.a.test'] },
      spf: { result: 'softfail', domain: 'a.test', identity: 'mailfrom' },
      dkim: [
        { ...signature, result: 'pass' },
        { ...signature, result: 'fail' },
      ],
      dmarc: { result: 'pass', domain: 'a.test', policy: 'reject', percent: 100, aligned },
    });
    observer.authenticated?.({ dkim: [] });
    const exposition = await scrape(metrics);
    const value = (check: string, result: string) =>
      exposition.value('mxhook_authentication_verdicts_total', { check, result });
    expect(value('rdns', 'pass')).toBe(1);
    expect(value('spf', 'softfail')).toBe(1);
    expect(value('dkim', 'pass')).toBe(1);
    expect(value('dkim', 'fail')).toBe(1);
    expect(value('dkim', 'none')).toBe(1);
    expect(value('dmarc', 'pass')).toBe(1);
    expect(value('arc', 'none')).toBe(0);
  });

  it('counts transactions by outcome', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const observer = metrics.observer;
    for (const outcome of ['accepted', 'accepted', 'failed', 'too-large', 'refused'] as const)
      observer.transactionEnded?.(outcome);
    const exposition = await scrape(metrics);
    expect(exposition.value('mxhook_transactions_total', { outcome: 'accepted' })).toBe(2);
    expect(exposition.value('mxhook_transactions_total', { outcome: 'failed' })).toBe(1);
    expect(exposition.value('mxhook_transactions_total', { outcome: 'too_large' })).toBe(1);
    expect(exposition.value('mxhook_transactions_total', { outcome: 'refused' })).toBe(1);
    expect(exposition.value('mxhook_transactions_total', { outcome: 'rejected' })).toBe(0);
    expect(exposition.value('mxhook_transactions_total', { outcome: 'deferred' })).toBe(0);
  });

  it('records function call latency in seconds, by step and outcome, in 1 ms – 30 s buckets', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const observer = metrics.observer;
    observer.hookCall?.('rcpt', 'accepted', 0.4);
    observer.hookCall?.('rcpt', 'accepted', 20);
    observer.hookCall?.('rcpt', 'accepted', 40_000);
    observer.hookCall?.('data', 'failed', 30_000);
    const exposition = await scrape(metrics);
    const rcpt = { step: 'rcpt', outcome: 'accepted' };
    const bucket = (le: string, labels = rcpt) =>
      exposition.value('mxhook_function_call_duration_seconds_bucket', { ...labels, le });
    expect(bucket('0.001')).toBe(1);
    expect(bucket('0.01')).toBe(1);
    expect(bucket('0.025')).toBe(2);
    expect(bucket('30')).toBe(2);
    expect(bucket('+Inf')).toBe(3);
    expect(exposition.value('mxhook_function_call_duration_seconds_count', rcpt)).toBe(3);
    expect(exposition.value('mxhook_function_call_duration_seconds_sum', rcpt)).toBeCloseTo(
      40.0204,
      6,
    );
    const data = { step: 'data', outcome: 'failed' };
    expect(bucket('10', data)).toBe(0);
    expect(bucket('30', data)).toBe(1);
    const bounds = exposition
      .select('mxhook_function_call_duration_seconds_bucket', rcpt)
      .map((sample) => sample.labels['le']);
    expect(bounds).toEqual([...CALL_LATENCY_BUCKETS.map(String), '+Inf']);
    expect(exposition.select('mxhook_function_call_duration_seconds_count')).toHaveLength(2);
  });

  it('counts bytes received and TLS handshakes by result', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const observer = metrics.observer;
    observer.bytesReceived?.(1000);
    observer.bytesReceived?.(24);
    observer.tlsHandshake?.(true);
    observer.tlsHandshake?.(true);
    observer.tlsHandshake?.(false);
    const exposition = await scrape(metrics);
    expect(exposition.value('mxhook_received_bytes_total')).toBe(1024);
    expect(exposition.value('mxhook_tls_handshakes_total', { result: 'success' })).toBe(2);
    expect(exposition.value('mxhook_tls_handshakes_total', { result: 'failure' })).toBe(1);
  });

  it('keeps counting across scrapes: a scrape reads the totals, it does not reset them', async () => {
    const metrics = createMetrics({ processMetrics: false });
    metrics.observer.transactionEnded?.('accepted');
    expect(
      (await scrape(metrics)).value('mxhook_transactions_total', { outcome: 'accepted' }),
    ).toBe(1);
    metrics.observer.transactionEnded?.('accepted');
    expect(
      (await scrape(metrics)).value('mxhook_transactions_total', { outcome: 'accepted' }),
    ).toBe(2);
  });
});

describe('parsePrometheus (test helper)', () => {
  it('reads labels with escapes, special values and comments', () => {
    const exposition = parsePrometheus(
      [
        '# HELP x_total A \\\\ help\\nline.',
        '# TYPE x_total counter',
        '# a plain comment',
        'x_total{a="q\\"uote",b="back\\\\slash",c="new\\nline"} 3',
        'y +Inf 1700000000000',
        'z{le="+Inf"} NaN',
        'w Nan',
        '',
      ].join('\n'),
    );
    expect(exposition.value('x_total', { a: 'q"uote', b: 'back\\slash', c: 'new\nline' })).toBe(3);
    expect(exposition.families.get('x_total')).toEqual({
      name: 'x_total',
      type: 'counter',
      help: 'A \\ help\nline.',
    });
    expect(exposition.value('y')).toBe(Number.POSITIVE_INFINITY);
    expect(exposition.value('z', { le: '+Inf' })).toBeNaN();
    expect(exposition.value('w')).toBeNaN(); // prom-client writes NaN so; Prometheus reads it
    expect(() => exposition.value('x_total')).toThrow(/found 0/);
  });

  it('refuses malformed lines', () => {
    expect(() => parsePrometheus('x{a="1')).toThrow(/unterminated label value/);
    expect(() => parsePrometheus('x{a="1"')).toThrow(/expected , or }/);
    expect(() => parsePrometheus('x{a=1} 2')).toThrow(/bad label/);
    expect(() => parsePrometheus('x one')).toThrow(/bad value/);
    expect(() => parsePrometheus('# TYPE x countr')).toThrow(/bad TYPE/);
  });
});
