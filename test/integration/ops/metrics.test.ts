// /metrics after real SMTP sessions through the real stack: scraped over HTTP, parsed, exact values.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics, type GatewayMetrics } from '../../../gateway/metrics/index.ts';
import { dotStuff } from '../../helpers/dot-stuff.ts';
import {
  closeAllFunctionServers,
  type FunctionServer,
  json,
  startFunctionServer,
} from '../../helpers/function-server.ts';
import { type Exposition, parsePrometheus } from '../../helpers/prometheus.ts';
import { destroyAllClients } from '../../helpers/smtp-client.ts';
import { newSecret } from '../../helpers/start-bridge.ts';
import { allSessionsClosed, CountingSession, type OpsStack, startOpsStack } from './ops-stack.ts';

const MAX_MESSAGE_BYTES = 4096;
const MESSAGE =
  'From: a@client.test\r\nTo: b@mx.test\r\nSubject: hi\r\n\r\nHello.\r\n.dot line\r\n';

afterEach(async () => {
  destroyAllClients();
  await closeAllFunctionServers();
});

async function scrape(stack: OpsStack, metrics: GatewayMetrics): Promise<Exposition> {
  const response = await fetch(`${stack.adminUrl}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe(metrics.contentType);
  return parsePrometheus(await response.text());
}

/** EHLO, MAIL and RCPT, then DATA with `message` (dot-stuffed, terminated); returns the final reply code. */
async function sendMessage(session: CountingSession, to: string, message: string): Promise<number> {
  await session.expectCommand('EHLO client.test', 250);
  await session.expectCommand('MAIL FROM:<a@client.test>', 250);
  await session.expectCommand(`RCPT TO:<${to}>`, 250);
  await session.expectCommand('DATA', 354);
  await session.send(dotStuff(Buffer.from(message)));
  return (await session.client.readReply()).code;
}

describe('/metrics after real sessions', () => {
  let fn: FunctionServer;
  let stack: OpsStack;
  let metrics: GatewayMetrics;
  let exposition: Exposition;
  let adminIndex: { endpoints: Record<string, string> };
  const sent = { bytes: 0 };

  // One gateway, seven sessions, one scrape: every assertion below is about the same totals.
  beforeAll(async () => {
    fn = await startFunctionServer();
    fn.answer('rcpt', (request) =>
      (request.body as { rcpt: { address: string } }).rcpt.address === 'nobody@mx.test'
        ? json({ code: 550, enhanced: '5.1.1', message: 'no such user' })
        : json({ action: 'accept' }),
    );
    metrics = createMetrics();
    stack = await startOpsStack({
      fn,
      secret: newSecret(),
      observer: metrics.observer,
      metrics,
      env: {
        MXHOOK_LOG_LEVEL: 'silent',
        MXHOOK_MAX_BAD_COMMANDS: '3',
        MXHOOK_MAX_MESSAGE_SIZE: String(MAX_MESSAGE_BYTES),
      },
    });

    // 1. An accepted message.
    const accepted = await CountingSession.open(stack.port, sent);
    expect(await sendMessage(accepted, 'b@mx.test', MESSAGE)).toBe(250);
    await accepted.quit();

    // 2. A recipient the function rejects.
    const rejected = await CountingSession.open(stack.port, sent);
    await rejected.expectCommand('EHLO client.test', 250);
    await rejected.expectCommand('MAIL FROM:<a@client.test>', 250);
    await rejected.expectCommand('RCPT TO:<nobody@mx.test>', 550);
    await rejected.quit();

    // 3. The data function fails (HTTP 500): 451, the sender keeps the message.
    fn.answerOnce('data', { kind: 'status', status: 500 });
    const failed = await CountingSession.open(stack.port, sent);
    expect(await sendMessage(failed, 'b@mx.test', MESSAGE)).toBe(451);
    await failed.quit();

    // 4. STARTTLS with a good handshake.
    const secure = await CountingSession.open(stack.port, sent);
    await secure.expectCommand('EHLO client.test', 250);
    await secure.expectCommand('STARTTLS', 220);
    await secure.client.startTls({ ca: stack.certificate.cert, servername: 'localhost' });
    await secure.expectCommand('EHLO client.test', 250);
    await secure.quit();

    // 5. STARTTLS, then bytes that are not a TLS ClientHello: a failed handshake. They are TLS
    // records, not SMTP input, so they are written past the byte counter, as the gateway must.
    const broken = await CountingSession.open(stack.port, sent);
    await broken.expectCommand('EHLO client.test', 250);
    await broken.expectCommand('STARTTLS', 220);
    broken.client.socket.write('this is not a TLS ClientHello\r\n');
    await broken.client.readUntilClosed();

    // 6. Three unknown commands with MXHOOK_MAX_BAD_COMMANDS=3: 500, 500, 500 + 421.
    const confused = await CountingSession.open(stack.port, sent);
    await confused.expectCommand('FOO', 500);
    await confused.expectCommand('BAR', 500);
    await confused.expectCommand('BAZ', 500);
    confused.expect(await confused.client.readReply(), 421, 'the third bad command');
    await confused.client.readUntilClosed();

    // 7. A message over MXHOOK_MAX_MESSAGE_SIZE: 552 after the whole DATA is read.
    const large = await CountingSession.open(stack.port, sent);
    const big = `Subject: big\r\n\r\n${'x'.repeat(70)}\r\n`.repeat(MAX_MESSAGE_BYTES / 50);
    expect(await sendMessage(large, 'b@mx.test', big)).toBe(552);
    await large.quit();

    await allSessionsClosed(stack);
    exposition = await scrape(stack, metrics);
    adminIndex = (await (await fetch(`${stack.adminUrl}/`)).json()) as typeof adminIndex;
    await stack.stop();
  });

  it('counts sessions: seven in total, none open after they closed', () => {
    expect(exposition.value('mxhook_sessions_total')).toBe(7);
    expect(exposition.value('mxhook_sessions_open')).toBe(0);
  });

  it('counts transactions by outcome', () => {
    expect(exposition.value('mxhook_transactions_total', { outcome: 'accepted' })).toBe(1);
    expect(exposition.value('mxhook_transactions_total', { outcome: 'failed' })).toBe(1);
    expect(exposition.value('mxhook_transactions_total', { outcome: 'too_large' })).toBe(1);
    for (const outcome of ['rejected', 'deferred', 'refused'])
      expect(exposition.value('mxhook_transactions_total', { outcome }), outcome).toBe(0);
  });

  it('counts every reply by the step it answers and its code class', () => {
    const expected: Record<string, number> = {
      'connect 2xx': 7,
      'helo 2xx': 7,
      'mail 2xx': 4,
      'rcpt 2xx': 3,
      'rcpt 5xx': 1,
      'data 2xx': 1,
      'data 4xx': 1,
      'data 5xx': 1,
      // 354 to DATA ×3; QUIT ×5 and STARTTLS ×2 (220); the bad commands: 500 ×3, then 421.
      'command 3xx': 3,
      'command 2xx': 7,
      'command 5xx': 3,
      'command 4xx': 1,
    };
    const seen = Object.fromEntries(
      exposition
        .select('mxhook_replies_total')
        .filter((sample) => sample.value !== 0)
        .map((sample) => [`${sample.labels['step']} ${sample.labels['code']}`, sample.value]),
    );
    expect(seen).toEqual(expected);
  });

  it('times only the calls the function received, by step and outcome', () => {
    const counts = Object.fromEntries(
      exposition
        .select('mxhook_function_call_duration_seconds_count')
        .map((sample) => [`${sample.labels['step']} ${sample.labels['outcome']}`, sample.value]),
    );
    // connect, helo and mail are not in MXHOOK_STEPS: accepted without a call, so not timed.
    expect(counts).toEqual({
      'rcpt accepted': 3,
      'rcpt rejected': 1,
      'data accepted': 1,
      'data failed': 1,
    });
    expect(fn.requestsFor('rcpt')).toHaveLength(4);
    expect(fn.requestsFor('data')).toHaveLength(2);
    for (const [step, outcome] of [
      ['rcpt', 'accepted'],
      ['rcpt', 'rejected'],
      ['data', 'accepted'],
      ['data', 'failed'],
    ] as const) {
      const labels = { step, outcome };
      const buckets = exposition.select('mxhook_function_call_duration_seconds_bucket', labels);
      const count = exposition.value('mxhook_function_call_duration_seconds_count', labels);
      // Cumulative buckets, ending in +Inf = count; a loopback call is well under the 30 s bucket.
      expect(buckets.map((b) => b.value)).toEqual(
        [...buckets.map((b) => b.value)].sort((a, b) => a - b),
      );
      expect(
        exposition.value('mxhook_function_call_duration_seconds_bucket', { ...labels, le: '+Inf' }),
      ).toBe(count);
      expect(
        exposition.value('mxhook_function_call_duration_seconds_bucket', { ...labels, le: '30' }),
      ).toBe(count);
      const sum = exposition.value('mxhook_function_call_duration_seconds_sum', labels);
      expect(sum).toBeGreaterThan(0);
      expect(sum).toBeLessThan(30 * count);
    }
  });

  it('counts TLS handshakes by result', () => {
    expect(exposition.value('mxhook_tls_handshakes_total', { result: 'success' })).toBe(1);
    expect(exposition.value('mxhook_tls_handshakes_total', { result: 'failure' })).toBe(1);
  });

  it('counts the gateway’s own refusals by reason', () => {
    const nonZero = Object.fromEntries(
      exposition
        .select('mxhook_rejections_total')
        .filter((sample) => sample.value !== 0)
        .map((sample) => [sample.labels['reason'], sample.value]),
    );
    expect(nonZero).toEqual({ too_many_errors: 1, too_large: 1 });
  });

  it('counts exactly the SMTP bytes clients sent, TLS records excluded', () => {
    expect(exposition.value('mxhook_received_bytes_total')).toBe(sent.bytes);
  });

  it('exports process metrics under their standard names, and the build info, on the same endpoint', () => {
    expect(exposition.value('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(exposition.value('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(exposition.families.get('nodejs_heap_size_used_bytes')?.type).toBe('gauge');
    const [build] = exposition.select('mxhook_build_info');
    expect(build?.value).toBe(1);
    expect(build?.labels['node_version']).toBe(process.versions.node);
  });

  it('is listed in the admin index at /', () => {
    expect(Object.keys(adminIndex.endpoints)).toContain('/metrics');
  });
});
