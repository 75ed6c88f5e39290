// A small benchmark of the send API
// (`node test/bench/send-api.ts [messages] [concurrency] [deliver|queue-only]`): `mxhook serve` in
// this process with the embedded queue, an Ed25519 DKIM key and a bearer token; clients POST 1 KiB
// text messages to /v1/send with keep-alive, `concurrency` at a time. `deliver` (the default): the
// gateway delivers them meanwhile to a receiving MTA on 127.0.0.2 (its MX in a loopback DNS
// server), and the time until all arrived is printed too. `queue-only`: the MX refuses connections,
// so each delivery fails at once and waits for its retry minutes later: what is measured is the
// API alone (validate, MailComposer, DKIM, the fsynced enqueue). Prints the POST → 202 latency
// (p50, p99), the rate of 202s, and this process's CPU time per message. The clients, the gateway
// and the receiver share this process and the machine's CPUs, so the figures are a floor, not the
// gateway's ceiling. Nothing is asserted; every wait is bounded.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../gateway/config/index.ts';
import { serve } from '../../gateway/serve.ts';
import { dkimKeyRecord } from '../helpers/dkim-signer.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startFunctionServer } from '../helpers/function-server.ts';
import { freePort, startReceivingMta } from '../helpers/receiving-mta.ts';
import { waitUntil } from '../helpers/wait.ts';
import { percentile, Samples } from './stats.ts';

const MESSAGES = Number(process.argv[2] ?? 2_000);
const CONCURRENCY = Number(process.argv[3] ?? 20);
const DELIVER = (process.argv[4] ?? 'deliver') === 'deliver';
const TOKEN = 'bench-send-token-0123456789abcdefghijklmnopqrstuvwxyz';
const DELIVERY_TIMEOUT_MS = 300_000;

const dir = await mkdtemp(join(tmpdir(), 'mxhook-bench-send-'));
const dkim = generateKeyPairSync('ed25519');
const keyFile = join(dir, 'dkim.pem');
await writeFile(keyFile, dkim.privateKey.export({ type: 'pkcs8', format: 'pem' }));
const dns = await startDnsServer({
  'dest.test': [{ type: 'MX', exchange: 'mx.dest.test', priority: 10 }],
  'mx.dest.test': [{ type: 'A', address: '127.0.0.2' }],
  'mail._domainkey.sender.test': [{ type: 'TXT', data: dkimKeyRecord(dkim.publicKey) }],
});
const port = await freePort(['127.0.0.2']);
const mta = DELIVER ? await startReceivingMta('127.0.0.2', port, { starttls: 'none' }) : null;
const fn = await startFunctionServer();
const gateway = await serve(
  loadConfig({
    env: {
      MXHOOK_LISTEN: '127.0.0.1:0',
      MXHOOK_HTTP_LISTEN: '127.0.0.1:0',
      MXHOOK_HOSTNAME: 'mx.bench.test',
      MXHOOK_FUNCTION_URL: fn.url,
      MXHOOK_SIGNING_SECRET: 'bench-signing-secret-0123456789abcdefghijkl',
      MXHOOK_AUTH_CHECKS: 'none',
      MXHOOK_QUEUE: join(dir, 'queue'),
      MXHOOK_DKIM_SIGN: `sender.test:mail:${keyFile}`,
      MXHOOK_SEND_TOKEN: TOKEN,
      MXHOOK_DELIVERY_PORT: String(port),
      MXHOOK_DNS_SERVERS: dns.server,
      MXHOOK_LOG_LEVEL: 'silent',
    },
  }),
  { logger: pino({ level: 'silent' }) },
);
const url = `http://127.0.0.1:${gateway.adminAddress!.port}/v1/send`;
const text = 'x'.repeat(64).concat('\n').repeat(16);

async function post(index: number): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      from: 'Bench <bench@sender.test>',
      to: `rcpt${index}@dest.test`,
      subject: `bench ${index}`,
      text,
    }),
  });
  await response.arrayBuffer();
  if (response.status !== 202) throw new Error(`message ${index}: HTTP ${response.status}`);
  return performance.now() - started;
}

try {
  // A short warm-up, not measured: JIT, the DKIM key, the first connections.
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => post(MESSAGES + i)));
  const latencies = new Samples();
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < MESSAGES) latencies.push(await post(next++));
    }),
  );
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const total = MESSAGES + CONCURRENCY;
  if (mta !== null)
    await waitUntil(() => mta.messages.length >= total, `${total} deliveries`, DELIVERY_TIMEOUT_MS);
  const deliveredMs = performance.now() - started;
  const values = latencies.values();
  console.log(
    JSON.stringify(
      {
        messages: MESSAGES,
        concurrency: CONCURRENCY,
        mode: DELIVER ? 'deliver' : 'queue-only',
        latencyMs: { p50: round(percentile(values, 50)), p99: round(percentile(values, 99)) },
        acceptedPerSecond: Math.round((MESSAGES / elapsedMs) * 1000),
        // Clients, gateway (and deliveries, with `deliver`) while the 202s came.
        cpuMsPerMessage: round((cpu.user + cpu.system) / 1000 / MESSAGES),
        ...(mta === null ? {} : { allDeliveredAfterMs: Math.round(deliveredMs) }),
      },
      null,
      2,
    ),
  );
} finally {
  await gateway.stop();
  await mta?.close();
  await fn.close();
  dns.close();
  await rm(dir, { recursive: true, force: true });
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
