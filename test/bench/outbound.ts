// The outbound benchmark (`npm run bench -- outbound`): queue-to-delivered throughput of mxhook's
// durable outbound queue (embedded: spool files + node:sqlite, synchronous=FULL; and PostgreSQL),
// next to Haraka's outbound queue, in one run, to one receiver on this machine.
//
// Each target (its own process, spawned fresh for every pass) gets N 1 KiB messages over 20
// concurrent sessions from 127.0.0.9, each to its own recipient at dest.test, whose MX (the bench's
// loopback DNS server; a static route for Haraka) is a receiving MTA (smtp-server) on 127.0.0.2.
//   drain pass     queue-to-delivered proper: the target starts with N messages in its queue,
//                  none tried yet, and delivers them to the receiver; throughput from the first
//                  message the receiver holds to the last, and the target's CPU in between.
//                  mxhook's queue is filled through its own enqueue (fsynced, as in the gateway)
//                  before it starts; Haraka's through SMTP with its outbound delivery off
//                  (outbound.ini `disabled`), then Haraka is stopped and started again with it on,
//                  so both drains begin with a process start and a full queue. (Turned on in the
//                  running Haraka, each message went at its next one-second poll: its drain took
//                  about a second whatever N was, which capped its figure near N msg/s.) Also
//                  given apart: the first fifth of the messages and the rest.
//   delivery pass  receiver up: time from the first MAIL to the receiver holding all N (distinct
//                  Message-IDs), so submission and delivery together, submission-to-250 latency,
//                  peak RSS, CPU time
//   paused pass    receiver not started (deliveries fail and wait for their retry): RSS before the
//                  first message, peak RSS and RSS after all N are queued → bytes per queued message
// The fsync cost is measured apart, in the same file system: what the embedded queue pays per
// message (the spool file and its directory, then a synchronous=FULL commit), serially.
// Every wait is bounded; the scenario stops by itself.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openQueue } from '../../gateway/outbound/open-queue.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { freePort, type ReceivingMta, startReceivingMta } from '../helpers/receiving-mta.ts';
import { afterEhlo, type SmtpClient, sendData, transaction } from '../helpers/smtp-client.ts';
import { harakaBin, type RunningHaraka, startHaraka, stopChild } from './haraka.ts';
import { Child } from './ipc.ts';
import { busyShare, machineCpu } from './machine-load.ts';
import { percentile } from './stats.ts';

export const OUTBOUND = 'outbound';

const SENDER_ADDRESS = '127.0.0.9';
const RECEIVER_ADDRESS = '127.0.0.2';
const DOMAIN = 'dest.test';
const SESSIONS = 20;
const MESSAGE_BYTES = 1024;
const DELIVERY_TIMEOUT_MS = 180_000;
const SUBMIT_TIMEOUT_MS = 180_000;
/** BENCH_OUTBOUND_PROFILE=<dir>: --cpu-prof of every mxhook process (profile-summary.ts reads them). */
const profileDir = process.env.BENCH_OUTBOUND_PROFILE;
/** Where gc-on-signal.ts reports the targets' memoryUsage() (the bench's own temporary dir). */
let gcReportDir = '';
/** Node flags that make a target collect all garbage on SIGUSR2 (gc-on-signal.ts). */
export const GC_ON_SIGNAL: readonly string[] = [
  '--expose-gc',
  '--import',
  new URL('./gc-on-signal.ts', import.meta.url).pathname,
];

type TargetKind = 'mxhook-embedded' | 'mxhook-postgres' | 'haraka';

export interface OutboundRow {
  readonly target: TargetKind;
  readonly label: string;
  readonly messages: number;
  /** Messages answered 250 / messages sent, delivery pass. */
  readonly accepted: number;
  /** Distinct messages at the receiver. */
  readonly delivered: number;
  /** Drain pass: distinct messages delivered, msg/s between the first and the last, CPU. */
  readonly drainDelivered: number;
  readonly drainMsgsPerSec: number;
  /** The drain's first fifth of the messages, and the rest (see Drain). */
  readonly drainFirstFifthMsgsPerSec: number;
  readonly drainSteadyMsgsPerSec: number;
  readonly drainCpuMsPerMessage: number;
  readonly drainTargetCpuPercent: number;
  /** The bench process (the receiver, during the drain) and both CPUs, over the drain's span. */
  readonly drainBenchCpuPercent: number;
  readonly drainMachineBusyPercent: number;
  readonly submitMsgsPerSec: number;
  /** Delivery pass: messages / time from the first MAIL to the last delivery. */
  readonly deliveredMsgsPerSec: number;
  readonly submitP50Ms: number;
  readonly submitP99Ms: number;
  readonly peakRssMiB: number;
  readonly cpuMsPerMessage: number;
  /** Paused pass. */
  readonly pausedAccepted: number;
  readonly baselineRssMiB: number;
  readonly pausedPeakOverBaselineKiB: number;
  readonly pausedPeakPerMessageBytes: number;
  readonly pausedHeldPerMessageBytes: number;
  /** (RSS after all N − RSS after the first N/2) / (N/2): what one more queued message holds. */
  readonly pausedMarginalPerMessageBytes: number;
  /** CPU time / wall time of the delivery pass, % of one CPU. */
  readonly targetCpuPercent: number;
  /** Kept after GC per queued message, paused pass: JS heap, external, anonymous RSS, file RSS. */
  readonly keptHeapPerMessageBytes: number;
  readonly keptExternalPerMessageBytes: number;
  readonly keptAnonPerMessageBytes: number;
  readonly keptFilePerMessageBytes: number;
  readonly benchCpuPercent: number;
  readonly functionCpuPercent: number;
  /** Both CPUs during the delivery pass (/proc/stat), and the part not the target, bench or function. */
  readonly machineBusyPercent: number;
  readonly otherWorkPercent: number;
  readonly problems: readonly string[];
  /** Drain and delivery pass msg/s of every run (the row shows the best drain's run). */
  readonly allRunsDrainMsgsPerSec?: readonly number[];
  readonly allRunsMsgsPerSec?: readonly number[];
}

export interface OutboundResults {
  readonly rows: readonly OutboundRow[];
  readonly harakaMissing: string | null;
  readonly fsync: { readonly spoolP50Us: number; readonly commitP50Us: number };
  readonly postgresSettings: string;
}

/** Runs the scenario, prints its table and verdicts; resolves false when a message was lost or a target failed. */
export async function runOutbound(options: {
  readonly quick: boolean;
  readonly repeat?: number;
}): Promise<boolean> {
  const messages = options.quick ? 1_000 : 2_000;
  const results = await measureOutbound(messages, Math.max(1, options.repeat ?? 1));
  console.log(formatOutbound(results));
  return results.rows.every((row) => row.problems.length === 0);
}

async function measureOutbound(messages: number, repeat: number): Promise<OutboundResults> {
  gcReportDir = mkdtempSync(join(tmpdir(), 'bench-outbound-gc-'));
  process.env.BENCH_GC_REPORT_DIR = gcReportDir;
  const receiverPort = await freePort([RECEIVER_ADDRESS]);
  const dns = await startDnsServer({
    [DOMAIN]: [{ type: 'MX', exchange: `mx.${DOMAIN}`, priority: 10 }],
    [`mx.${DOMAIN}`]: [{ type: 'A', address: RECEIVER_ADDRESS }],
  });
  const secret = randomBytes(30).toString('base64url');
  const functionServer = new Child<{ port: number }>(
    new URL('./function-server.ts', import.meta.url).pathname,
    { env: { ...process.env, BENCH_SECRET: secret } },
  );
  const rows: OutboundRow[] = [];
  let postgres: Awaited<ReturnType<typeof startPostgres>> | null = null;
  let postgresSettings = '';
  const bin = harakaBin();
  try {
    const { port: functionPort } = await functionServer.ready;
    const functionUrl = `http://127.0.0.1:${functionPort}/`;
    process.stderr.write('outbound: starting PostgreSQL … ');
    postgres = await startPostgres();
    postgresSettings = await postgresDurability(postgres.url);
    process.stderr.write(`ok (${postgresSettings})\n`);
    const pgUrl = postgres.url;

    const mxhookStarter =
      (queue: () => Promise<{ value: string; cleanUp: () => Promise<void> }>) =>
      async (port: number): Promise<Started> => {
        const { value, cleanUp } = await queue();
        const child = spawn(
          process.execPath,
          [
            '--max-semi-space-size=16',
            ...GC_ON_SIGNAL,
            ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]),
            'gateway/cli.ts',
            'serve',
          ],
          {
            cwd: new URL('../../', import.meta.url).pathname,
            env: {
              ...process.env,
              MXHOOK_LISTEN: `127.0.0.1:${port}`,
              MXHOOK_HTTP_LISTEN: '127.0.0.1:0',
              MXHOOK_HOSTNAME: 'mxhook.bench.test',
              MXHOOK_FUNCTION_URL: functionUrl,
              MXHOOK_SIGNING_SECRET: secret,
              MXHOOK_STEPS: 'data',
              // The inbound side as lean as the issue asks: no mail-authentication checks, and the
              // raw message only to the function (the default, both, parses it in worker threads).
              MXHOOK_AUTH_CHECKS: 'none',
              MXHOOK_PAYLOAD: 'raw',
              MXHOOK_LOG_LEVEL: 'warn',
              MXHOOK_QUEUE: value,
              MXHOOK_RELAY_NETWORKS: `${SENDER_ADDRESS}/32`,
              MXHOOK_DNS_SERVERS: dns.server,
              MXHOOK_DELIVERY_PORT: String(receiverPort),
            },
            stdio: ['ignore', 'ignore', 'inherit'],
          },
        );
        return {
          child,
          stop: async () => {
            await stopChild(child);
            await cleanUp();
          },
        };
      };
    const embeddedQueue = async () => {
      const dir = await mkdtemp(join(tmpdir(), 'bench-mxhook-queue-'));
      return { value: dir, cleanUp: () => rm(dir, { recursive: true, force: true }) };
    };
    let database = 0;
    const postgresQueue = async () => {
      // A fresh database per pass: the paused pass leaves its messages queued.
      const name = `bench_outbound_${++database}`;
      await withPg(pgUrl, (client) => client.query(`CREATE DATABASE ${name}`));
      const url = new URL(pgUrl);
      url.pathname = `/${name}`;
      return { value: url.toString(), cleanUp: async () => {} };
    };

    // The drain pass's mxhook: its queue filled before it starts.
    const filledMxhook =
      (queue: () => Promise<{ value: string; cleanUp: () => Promise<void> }>) =>
      async (port: number): Promise<Started> => {
        const made = await queue();
        await fillQueue(made.value, messages);
        return mxhookStarter(async () => made)(port);
      };
    const targets: Target[] = [
      {
        kind: 'mxhook-embedded',
        label: 'mxhook embedded',
        start: mxhookStarter(embeddedQueue),
        startFilled: filledMxhook(embeddedQueue),
      },
      {
        kind: 'mxhook-postgres',
        label: 'mxhook PostgreSQL',
        start: mxhookStarter(postgresQueue),
        startFilled: filledMxhook(postgresQueue),
      },
    ];
    if (bin !== null) {
      const haraka = (port: number, outboundDisabled: boolean) =>
        startHaraka(
          bin,
          {
            port,
            domain: DOMAIN,
            receiverHost: RECEIVER_ADDRESS,
            receiverPort,
            outboundDisabled,
          },
          GC_ON_SIGNAL,
        );
      targets.push({
        kind: 'haraka',
        label: 'Haraka 3.3.4',
        start: async (port) => {
          const running = await haraka(port, false);
          return { child: running.process, stop: () => running.stop() };
        },
        startFilled: async (port) => {
          const filling = await haraka(port, true);
          let running: RunningHaraka;
          try {
            await waitForPort(port, filling.process);
            const sent = await submitAll(port, messages, 'drain');
            if (sent.accepted !== messages)
              throw new Error(`Haraka took ${sent.accepted} of ${messages} (${sent.errors[0]})`);
            running = await filling.restartWithOutbound();
          } catch (error) {
            await filling.stop();
            throw error;
          }
          return { child: running.process, stop: () => running.stop() };
        },
      });
    }

    // Repeats take turns between the targets (other work on the machine then falls on all of
    // them); each target's best run by queue-to-delivered msg/s is kept, with every run's problems.
    const runs = new Map<TargetKind, OutboundRow[]>(targets.map((t) => [t.kind, []]));
    for (let run = 0; run < repeat; run++) {
      for (const target of targets) {
        const round = repeat > 1 ? ` (run ${run + 1} of ${repeat})` : '';
        process.stderr.write(`outbound · ${target.label}${round} … `);
        const row = await measureTarget(
          target,
          messages,
          receiverPort,
          functionServer.process.pid ?? 0,
        );
        runs.get(target.kind)!.push(row);
        process.stderr.write(
          row.problems.length === 0
            ? `ok (drain ${row.drainMsgsPerSec.toFixed(0)}, submission-to-delivered ${row.deliveredMsgsPerSec.toFixed(0)} msg/s)\n`
            : `FAILED: ${row.problems.join('; ')}\n`,
        );
      }
    }
    for (const target of targets) {
      const all = runs.get(target.kind)!;
      const chosen = all.reduce((a, b) => (b.drainMsgsPerSec > a.drainMsgsPerSec ? b : a));
      const problems = all.flatMap((row, i) =>
        row.problems.map((p) => (all.length > 1 ? `run ${i + 1}: ${p}` : p)),
      );
      rows.push({
        ...chosen,
        problems,
        allRunsDrainMsgsPerSec: all.map((r) => r.drainMsgsPerSec),
        allRunsMsgsPerSec: all.map((r) => r.deliveredMsgsPerSec),
      });
    }
  } finally {
    await functionServer.stop();
    await dns.close();
    await postgres?.stop();
    await rm(gcReportDir, { recursive: true, force: true });
  }
  return {
    rows,
    harakaMissing: bin === null ? 'Haraka is not installed (npm install)' : null,
    fsync: await fsyncCost(),
    postgresSettings,
  };
}

interface Started {
  readonly child: ChildProcess;
  stop(): Promise<void>;
}
type Starter = (port: number) => Promise<Started>;

interface Target {
  readonly kind: TargetKind;
  readonly label: string;
  readonly start: Starter;
  /** Starts it with N messages queued and none tried yet, its delivery about to begin. */
  readonly startFilled: Starter;
}

async function measureTarget(
  target: Target,
  messages: number,
  receiverPort: number,
  functionPid: number,
): Promise<OutboundRow> {
  const problems: string[] = [];

  // Paused pass: nothing listens at the MX, so every message stays queued.
  const paused = await withTarget(target.start, async (pid, port) => {
    await sleep(500);
    const baseline = await afterGc(pid);
    const half = Math.floor(messages / 2);
    const firstHalf = await submitAll(port, half, 'paused');
    const middle = await afterGc(pid);
    const secondHalf = await submitAll(port, messages - half, 'paused', half);
    const peak = procStatus(pid);
    const after = await afterGc(pid);
    const sent: Submission = {
      accepted: firstHalf.accepted + secondHalf.accepted,
      latencies: [...firstHalf.latencies, ...secondHalf.latencies],
      errors: [...firstHalf.errors, ...secondHalf.errors],
    };
    return { baseline, middle, peak, after, sent, secondHalf: secondHalf.accepted };
  });
  if (paused.sent.accepted !== messages)
    problems.push(`paused pass: ${messages - paused.sent.accepted} of ${messages} not accepted`);

  // Drain pass: a queue of N, delivered.
  const drainReceiver = await startReceivingMta(RECEIVER_ADDRESS, receiverPort, {
    starttls: 'none',
  });
  let drain: Drain;
  try {
    drain = await withTarget(target.startFilled, (pid) =>
      measureDrain(drainReceiver, messages, pid),
    );
  } finally {
    await drainReceiver.close();
  }
  if (drain.delivered < messages)
    problems.push(`drain pass: ${messages - drain.delivered} of ${messages} not delivered in time`);
  if (drain.duplicates > 0) problems.push(`drain pass: ${drain.duplicates} delivered twice`);

  // Delivery pass.
  const receiver = await startReceivingMta(RECEIVER_ADDRESS, receiverPort, { starttls: 'none' });
  try {
    const delivery = await withTarget(target.start, async (pid, port) => {
      await sleep(500);
      const cpuBefore = procCpuMs(pid);
      const benchBefore = process.cpuUsage();
      const functionBefore = procCpuMs(functionPid);
      const machineBefore = machineCpu();
      const started = performance.now();
      const submission = submitAll(port, messages, 'run');
      const sent = await submission;
      const submitted = performance.now();
      const delivered = await waitForDelivery(receiver, messages, started);
      const cpu = procCpuMs(pid) - cpuBefore;
      const bench = process.cpuUsage(benchBefore);
      const functionCpu = procCpuMs(functionPid) - functionBefore;
      const wallMs = performance.now() - started;
      const benchMs = (bench.user + bench.system) / 1000;
      const machine = busyShare(machineBefore, machineCpu(), cpu + benchMs + functionCpu);
      return {
        sent,
        submitSeconds: (submitted - started) / 1000,
        delivered,
        cpu,
        status: procStatus(pid),
        targetCpuPercent: (cpu / wallMs) * 100,
        benchCpuPercent: ((bench.user + bench.system) / 1000 / wallMs) * 100,
        functionCpuPercent: (functionCpu / wallMs) * 100,
        machine,
      };
    });
    const { sent, delivered } = delivery;
    if (sent.accepted !== messages)
      problems.push(
        `${messages - sent.accepted} of ${messages} not accepted (${sent.errors[0] ?? ''})`,
      );
    if (delivered.count < sent.accepted)
      problems.push(`${sent.accepted - delivered.count} accepted messages not delivered in time`);
    if (delivered.duplicates > 0) problems.push(`${delivered.duplicates} delivered twice`);
    const mib = (kib: number): number => kib / 1024;
    const queued = Math.max(1, paused.sent.accepted);
    return {
      target: target.kind,
      label: target.label,
      messages,
      accepted: sent.accepted,
      delivered: delivered.count,
      drainDelivered: drain.delivered,
      drainMsgsPerSec: drain.msgsPerSec,
      drainFirstFifthMsgsPerSec: drain.firstFifthMsgsPerSec,
      drainSteadyMsgsPerSec: drain.steadyMsgsPerSec,
      drainCpuMsPerMessage: drain.cpuMsPerMessage,
      drainTargetCpuPercent: drain.cpuPercent,
      drainBenchCpuPercent: drain.benchCpuPercent,
      drainMachineBusyPercent: drain.machineBusyPercent,
      submitMsgsPerSec: sent.accepted / delivery.submitSeconds,
      deliveredMsgsPerSec: delivered.count / delivered.seconds,
      submitP50Ms: percentile(sent.latencies, 50),
      submitP99Ms: percentile(sent.latencies, 99),
      peakRssMiB: mib(delivery.status.hwmKiB),
      cpuMsPerMessage: delivery.cpu / Math.max(1, delivered.count),
      pausedAccepted: paused.sent.accepted,
      baselineRssMiB: mib(paused.baseline.rssKiB),
      pausedPeakOverBaselineKiB: paused.peak.hwmKiB - paused.baseline.rssKiB,
      pausedPeakPerMessageBytes:
        ((paused.peak.hwmKiB - paused.baseline.rssKiB) * 1024) / Math.max(1, paused.sent.accepted),
      pausedHeldPerMessageBytes:
        ((paused.after.rssKiB - paused.baseline.rssKiB) * 1024) / Math.max(1, paused.sent.accepted),
      pausedMarginalPerMessageBytes:
        ((paused.after.rssKiB - paused.middle.rssKiB) * 1024) / Math.max(1, paused.secondHalf),
      targetCpuPercent: delivery.targetCpuPercent,
      keptHeapPerMessageBytes: (paused.after.heapUsed - paused.baseline.heapUsed) / queued,
      keptExternalPerMessageBytes: (paused.after.external - paused.baseline.external) / queued,
      keptAnonPerMessageBytes: ((paused.after.anonKiB - paused.baseline.anonKiB) * 1024) / queued,
      keptFilePerMessageBytes: ((paused.after.fileKiB - paused.baseline.fileKiB) * 1024) / queued,
      benchCpuPercent: delivery.benchCpuPercent,
      functionCpuPercent: delivery.functionCpuPercent,
      machineBusyPercent: delivery.machine.busyPct,
      otherWorkPercent: delivery.machine.otherPct,
      problems,
    };
  } finally {
    await receiver.close();
  }
}

/** Starts a target on a free port, waits for its banner port, runs `body`, stops it. */
async function withTarget<T>(
  start: Starter,
  body: (pid: number, port: number) => Promise<T>,
): Promise<T> {
  const port = await freePort(['127.0.0.1']);
  const started = await start(port);
  try {
    await waitForPort(port, started.child);
    return await body(started.child.pid ?? 0, port);
  } finally {
    await started.stop();
  }
}

interface Submission {
  accepted: number;
  latencies: number[];
  errors: string[];
}

/** N messages over SESSIONS sessions, each MAIL/RCPT/DATA on a warm session; latency MAIL → 250. */
async function submitAll(
  port: number,
  messages: number,
  tag: string,
  first = 0,
): Promise<Submission> {
  const result: Submission = { accepted: 0, latencies: [], errors: [] };
  const runId = randomBytes(4).toString('hex');
  let next = 0;
  const deadline = performance.now() + SUBMIT_TIMEOUT_MS;
  const session = async (): Promise<void> => {
    let client: SmtpClient | null = null;
    try {
      client = await afterEhlo(port, { localAddress: SENDER_ADDRESS, name: 'client.bench.test' });
      while (next < messages && performance.now() < deadline) {
        const i = first + next++;
        const to = `user${i}@${DOMAIN}`;
        const started = performance.now();
        await transaction(client, 'sender@client.bench.test', [to]);
        const reply = await sendData(client, message(`${tag}-${runId}-${i}@client.bench.test`, to));
        if (reply.code === 250) {
          result.accepted++;
          result.latencies.push(performance.now() - started);
        } else if (result.errors.length < 5)
          result.errors.push(`${reply.code} ${reply.text ?? ''}`);
      }
      await client.command('QUIT');
    } catch (error) {
      if (result.errors.length < 5) result.errors.push(String(error));
    } finally {
      client?.destroy();
    }
  };
  await Promise.all(Array.from({ length: SESSIONS }, () => session()));
  return result;
}

/** A message of exactly MESSAGE_BYTES octets (CRLF line ends), unique by Message-ID. */
function message(id: string, to: string): string {
  const head =
    `From: sender@client.bench.test\r\nTo: ${to}\r\nSubject: outbound bench\r\n` +
    `Message-ID: <${id}>\r\nDate: ${new Date().toUTCString()}\r\n\r\n`;
  const line = `${'x'.repeat(76)}\r\n`;
  let body = '';
  while (head.length + body.length + line.length <= MESSAGE_BYTES) body += line;
  const rest = MESSAGE_BYTES - head.length - body.length;
  if (rest >= 2) body += `${'y'.repeat(rest - 2)}\r\n`;
  return head + body;
}

/** Waits (bounded) until the receiver holds `count` distinct messages; seconds from `started`. */
async function waitForDelivery(
  receiver: ReceivingMta,
  count: number,
  started: number,
): Promise<{ count: number; seconds: number; duplicates: number }> {
  const deadline = started + DELIVERY_TIMEOUT_MS;
  while (receiver.messages.length < count && performance.now() < deadline) await sleep(5);
  const seconds = (performance.now() - started) / 1000;
  await sleep(300); // late duplicates
  return { ...distinctMessages(receiver), seconds };
}

/** Messages the receiver holds, counted once per Message-ID, and how many came twice. */
function distinctMessages(receiver: ReceivingMta): { count: number; duplicates: number } {
  const ids = new Set<string>();
  for (const m of receiver.messages) {
    const match = /^Message-ID: <([^>]+)>/im.exec(m.body.toString('latin1'));
    ids.add(match?.[1] ?? `?${ids.size}`);
  }
  return { count: ids.size, duplicates: receiver.messages.length - ids.size };
}

interface Drain {
  readonly delivered: number;
  readonly duplicates: number;
  /** Messages after the first / seconds from the first to the last at the receiver. */
  readonly msgsPerSec: number;
  /**
   * The same for the first fifth of the messages, and for the rest (from the fifth's last): a
   * target started with a full queue spends its first fifth starting up (connections, the JIT).
   */
  readonly firstFifthMsgsPerSec: number;
  readonly steadyMsgsPerSec: number;
  /** The target's CPU time from the first delivery to the last, per message and in % of one CPU. */
  readonly cpuMsPerMessage: number;
  readonly cpuPercent: number;
  /** The same span: this process (the receiver) in % of one CPU, both CPUs busy in %. */
  readonly benchCpuPercent: number;
  readonly machineBusyPercent: number;
}

/** Waits (bounded) for a filled target to deliver `count` messages, timed at the receiver. */
async function measureDrain(receiver: ReceivingMta, count: number, pid: number): Promise<Drain> {
  const deadline = performance.now() + DELIVERY_TIMEOUT_MS;
  while (receiver.messages.length === 0 && performance.now() < deadline) await sleep(1);
  const cpuAtFirst = procCpuMs(pid);
  const benchAtFirst = process.cpuUsage();
  const machineAtFirst = machineCpu();
  const wallAtFirst = performance.now();
  while (receiver.messages.length < count && performance.now() < deadline) await sleep(5);
  const cpuMs = procCpuMs(pid) - cpuAtFirst;
  const bench = process.cpuUsage(benchAtFirst);
  const machine = busyShare(machineAtFirst, machineCpu(), 0);
  const wallMs = performance.now() - wallAtFirst;
  const times = receiver.messages.map((m) => m.at).sort((a, b) => a - b);
  const spanMs = times.length < 2 ? Number.NaN : times.at(-1)! - times[0]!;
  const fifth = Math.floor(times.length / 5);
  await sleep(300); // late duplicates
  const { count: delivered, duplicates } = distinctMessages(receiver);
  const after = Math.max(1, times.length - 1);
  return {
    delivered,
    duplicates,
    msgsPerSec: (after / spanMs) * 1000,
    firstFifthMsgsPerSec: (fifth / (times[fifth]! - times[0]!)) * 1000,
    steadyMsgsPerSec: ((times.length - 1 - fifth) / (times.at(-1)! - times[fifth]!)) * 1000,
    cpuMsPerMessage: cpuMs / after,
    cpuPercent: (cpuMs / spanMs) * 100,
    benchCpuPercent: ((bench.user + bench.system) / 1000 / wallMs) * 100,
    machineBusyPercent: machine.busyPct,
  };
}

/** Puts N messages in a queue (MXHOOK_QUEUE `spec`) as the relay would, 20 enqueues at a time. */
async function fillQueue(spec: string, messages: number): Promise<void> {
  const queue = await openQueue(spec);
  const runId = randomBytes(4).toString('hex');
  let next = 0;
  const filler = async (): Promise<void> => {
    while (next < messages) {
      const i = next++;
      const to = `user${i}@${DOMAIN}`;
      await queue.enqueue({
        sender: 'sender@client.bench.test',
        recipients: [{ address: to }],
        body: [Buffer.from(message(`drain-${runId}-${i}@client.bench.test`, to))],
        origin: 'bench',
      });
    }
  };
  try {
    await Promise.all(Array.from({ length: SESSIONS }, filler));
  } finally {
    await queue.close();
  }
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`target exited (${child.exitCode}) before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after 30 s`);
}

interface AfterGc {
  readonly rssKiB: number;
  readonly hwmKiB: number;
  /** RSS of anonymous memory (heaps, native allocations) and of mapped files, KiB. */
  readonly anonKiB: number;
  readonly fileKiB: number;
  /** process.memoryUsage() in the target after the collection (NaN if it did not report). */
  readonly heapUsed: number;
  readonly external: number;
}

/** RSS after the target's full collection (SIGUSR2, gc-on-signal.ts), with its breakdown. */
async function afterGc(pid: number): Promise<AfterGc> {
  const report = join(gcReportDir, `${pid}.json`);
  rmSync(report, { force: true });
  process.kill(pid, 'SIGUSR2');
  await sleep(500);
  let usage: { heapUsed?: number; external?: number } = {};
  try {
    usage = JSON.parse(readFileSync(report, 'utf8')) as typeof usage;
  } catch {}
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    ...procStatus(pid),
    anonKiB: field('RssAnon'),
    fileKiB: field('RssFile') + field('RssShmem'),
    heapUsed: usage.heapUsed ?? Number.NaN,
    external: usage.external ?? Number.NaN,
  };
}

/** VmRSS and VmHWM (peak RSS) of a process, KiB. */
function procStatus(pid: number): { rssKiB: number; hwmKiB: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
}

/** utime + stime of a process (all its threads), ms. */
function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function withPg<T>(url: string, body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

async function postgresDurability(url: string): Promise<string> {
  return withPg(url, async (client) => {
    const settings = [];
    for (const name of ['fsync', 'synchronous_commit', 'wal_sync_method']) {
      const { rows } = await client.query<Record<string, string>>(`SHOW ${name}`);
      settings.push(`${name}=${Object.values(rows[0] ?? {})[0]}`);
    }
    return settings.join(' ');
  });
}

/**
 * What durability costs one message in the embedded queue's file system, serially: a 1 KiB spool
 * file written, fsynced, renamed and its directory fsynced; and one synchronous=FULL commit of a
 * small row in a WAL database (as the queue's state). p50 of 200 each, µs.
 */
async function fsyncCost(): Promise<{ spoolP50Us: number; commitP50Us: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-fsync-'));
  try {
    const body = Buffer.alloc(MESSAGE_BYTES, 'x');
    const spool: number[] = [];
    for (let i = 0; i < 200; i++) {
      const started = performance.now();
      const temporary = join(dir, `tmp-${i}`);
      const fd = openSync(temporary, 'w');
      writeSync(fd, body);
      fsyncSync(fd);
      closeSync(fd);
      renameSync(temporary, join(dir, `body-${i}`));
      const dirFd = openSync(dir, 'r');
      fsyncSync(dirFd);
      closeSync(dirFd);
      spool.push((performance.now() - started) * 1000);
    }
    // Imported here: node:sqlite prints an experimental warning, which other scenarios need not show.
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(join(dir, 'state.sqlite'));
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
    db.exec('CREATE TABLE m (id INTEGER PRIMARY KEY, recipient TEXT, due INTEGER)');
    const insert = db.prepare('INSERT INTO m (recipient, due) VALUES (?, ?)');
    const commits: number[] = [];
    for (let i = 0; i < 200; i++) {
      const started = performance.now();
      db.exec('BEGIN');
      insert.run(`user${i}@${DOMAIN}`, Date.now());
      db.exec('COMMIT');
      commits.push((performance.now() - started) * 1000);
    }
    db.close();
    return { spoolP50Us: percentile(spool, 50), commitP50Us: percentile(commits, 50) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatOutbound(results: OutboundResults): string {
  const { rows } = results;
  const columns = ['', ...rows.map((r) => r.label)];
  const fixed = (digits: number) => (value: number) =>
    Number.isFinite(value) ? value.toFixed(digits) : '—';
  const figures: [string, (r: OutboundRow) => string][] = [
    ['messages accepted / sent', (r) => `${r.accepted} / ${r.messages}`],
    ['drain: messages delivered', (r) => String(r.drainDelivered)],
    ['drain: queue-to-delivered msg/s', (r) => fixed(0)(r.drainMsgsPerSec)],
    [
      '  every run (best kept)',
      (r) => (r.allRunsDrainMsgsPerSec ?? []).map((v) => v.toFixed(0)).join(', '),
    ],
    [
      '  first fifth / the rest msg/s',
      (r) => `${fixed(0)(r.drainFirstFifthMsgsPerSec)} / ${fixed(0)(r.drainSteadyMsgsPerSec)}`,
    ],
    ['drain: CPU ms/message (target process)', (r) => fixed(3)(r.drainCpuMsPerMessage)],
    ['drain: CPU % of 1 CPU (target)', (r) => fixed(0)(r.drainTargetCpuPercent)],
    ['drain: CPU % of 1 CPU (bench: the receiver)', (r) => fixed(0)(r.drainBenchCpuPercent)],
    ['drain: machine busy % (all CPUs)', (r) => fixed(0)(r.drainMachineBusyPercent)],
    ['messages delivered', (r) => String(r.delivered)],
    ['submission-to-delivered msg/s', (r) => fixed(0)(r.deliveredMsgsPerSec)],
    ['  every run', (r) => (r.allRunsMsgsPerSec ?? []).map((v) => v.toFixed(0)).join(', ')],
    ['submission msg/s (to the last 250)', (r) => fixed(0)(r.submitMsgsPerSec)],
    ['submission-to-250 p50 ms', (r) => fixed(2)(r.submitP50Ms)],
    ['submission-to-250 p99 ms', (r) => fixed(2)(r.submitP99Ms)],
    ['CPU ms/message (target process)', (r) => fixed(3)(r.cpuMsPerMessage)],
    ['CPU % of 1 CPU: target', (r) => fixed(0)(r.targetCpuPercent)],
    ['CPU % of 1 CPU: bench (client + receiver)', (r) => fixed(0)(r.benchCpuPercent)],
    ['CPU % of 1 CPU: function', (r) => fixed(0)(r.functionCpuPercent)],
    ['machine busy % (all CPUs)', (r) => fixed(0)(r.machineBusyPercent)],
    ['  of it other work % (PostgreSQL included)', (r) => fixed(0)(r.otherWorkPercent)],
    ['peak RSS MiB (delivery pass)', (r) => fixed(1)(r.peakRssMiB)],
    ['paused: RSS before (after GC) MiB', (r) => fixed(1)(r.baselineRssMiB)],
    ['paused: peak − before, bytes/queued msg', (r) => fixed(0)(r.pausedPeakPerMessageBytes)],
    ['paused: kept after GC, bytes/queued msg', (r) => fixed(0)(r.pausedHeldPerMessageBytes)],
    [
      'paused: kept, 2nd half only, bytes/queued msg',
      (r) => fixed(0)(r.pausedMarginalPerMessageBytes),
    ],
    [
      '  of which JS heap / external, bytes/msg',
      (r) => `${fixed(0)(r.keptHeapPerMessageBytes)} / ${fixed(0)(r.keptExternalPerMessageBytes)}`,
    ],
    [
      '  RSS anonymous / file-backed, bytes/msg',
      (r) => `${fixed(0)(r.keptAnonPerMessageBytes)} / ${fixed(0)(r.keptFilePerMessageBytes)}`,
    ],
  ];
  const table: string[][] = [
    columns,
    ...figures.map(([name, format]) => [name, ...rows.map(format)]),
  ];
  const widths = columns.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  const out = table.map((row) =>
    row
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  '),
  );
  out.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const lines = [
    `\nOutbound: ${rows[0]?.messages ?? 0} messages of ${MESSAGE_BYTES} bytes, ${SESSIONS} sessions from ${SENDER_ADDRESS}, one receiver (smtp-server) on ${RECEIVER_ADDRESS}`,
    ...out,
    `fsync cost per message (measured apart, serial, p50): spool file + rename + dir fsync ${(results.fsync.spoolP50Us / 1000).toFixed(2)} ms, synchronous=FULL commit ${(results.fsync.commitP50Us / 1000).toFixed(2)} ms`,
    `PostgreSQL: ${results.postgresSettings}; Haraka's outbound queue files are written without fsync`,
    '',
  ];
  const haraka = rows.find((r) => r.target === 'haraka');
  for (const kind of ['mxhook-embedded', 'mxhook-postgres'] as const) {
    const row = rows.find((r) => r.target === kind);
    const name = kind === 'mxhook-embedded' ? 'embedded' : 'PostgreSQL';
    if (row === undefined) continue;
    if (haraka === undefined || haraka.drainDelivered === 0) {
      lines.push(
        `  n/a   queue-to-delivered ≥ 2× Haraka (${name}): ${results.harakaMissing ?? 'Haraka delivered nothing'}; mxhook ${row.drainMsgsPerSec.toFixed(0)} msg/s`,
      );
      continue;
    }
    const ratio = row.drainMsgsPerSec / haraka.drainMsgsPerSec;
    const pass = ratio >= 2 && row.problems.length === 0;
    lines.push(
      `  ${pass ? 'PASS' : 'FAIL'}  queue-to-delivered ≥ 2× Haraka (${name}, drain): ${row.drainMsgsPerSec.toFixed(0)} vs ${haraka.drainMsgsPerSec.toFixed(0)} msg/s = ${ratio.toFixed(2)}×`,
      `  info  the drain after its first fifth (${name}): ${row.drainSteadyMsgsPerSec.toFixed(0)} vs ${haraka.drainSteadyMsgsPerSec.toFixed(0)} msg/s = ${(row.drainSteadyMsgsPerSec / haraka.drainSteadyMsgsPerSec).toFixed(2)}×`,
      `  info  submission-to-delivered (${name}): ${row.deliveredMsgsPerSec.toFixed(0)} vs ${haraka.deliveredMsgsPerSec.toFixed(0)} msg/s = ${(row.deliveredMsgsPerSec / haraka.deliveredMsgsPerSec).toFixed(2)}×`,
    );
  }
  for (const row of rows)
    if (row.problems.length > 0)
      lines.push(`  problems · ${row.label}: ${row.problems.join('; ')}`);
  return lines.join('\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
