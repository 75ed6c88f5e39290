// Runs one scenario against one target in a fresh process and returns what was measured.

import { GATEWAY_NODE_FLAGS } from '../../gateway/node-flags.ts';
import { ALL_AUTH_CHECKS, EXPECTED_AUTHENTICATION, signedTestMessage } from './auth.ts';
import type { FunctionCounts } from './function-server.ts';
import { Child } from './ipc.ts';
import { runLeanLoad } from './lean-load.ts';
import { type LoadResult, mergeResults, openIdle, runLoad } from './load-generator.ts';
import { busyShare, machineCpu } from './machine-load.ts';
import { type TestMessage, testMessage } from './message.ts';
import type { Scenario, TargetName } from './scenarios.ts';
import { percentile } from './stats.ts';
import type { TargetSpec, TargetUsage } from './target.ts';

export interface Environment {
  readonly functionUrl: string;
  readonly secret: string;
  readonly functionServer: Child<{ port: number }>;
  /** Extra node flags for target processes (e.g. --cpu-prof). */
  readonly targetFlags: readonly string[];
  readonly quick: boolean;
  /** Idle connections are capped to what the open-file limit allows. */
  readonly maxIdleConnections: number;
  /** MXHOOK_LOG_LEVEL for mxhook (the peer logs nothing, smtp-server's default). */
  readonly mxhookLogLevel: string;
  /** MXHOOK_STEPS for mxhook (default data: the peer calls its function once per message too). */
  readonly mxhookSteps: string;
  /** Where mxhook's log lines go: a file (appended, as a log collector's file would be), else /dev/null. */
  readonly mxhookLogFile: string | null;
  /** The generator for scenarios without pipelining: lean-load.ts, or load-generator.ts to compare. */
  readonly generator: 'lean' | 'classic';
  /** The bench's DNS server for mxhook auth (auth.ts), when a signed scenario runs it. */
  readonly dns: {
    /** `127.0.0.1:<port>`, its MXHOOK_DNS_SERVERS. */
    readonly server: string;
    /** Questions it has received so far. */
    readonly queries: () => number;
  } | null;
}

export interface Measurement {
  readonly scenario: string;
  readonly target: TargetName;
  /** Every message sent was accepted and reached the function exactly once (or every connection was greeted). */
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly metrics: Readonly<Record<string, number>>;
  /** The distinct mail-authentication verdicts the function saw in checked data calls (auth.ts). */
  readonly authentication?: readonly string[];
}

const MIB = 1024 * 1024;
const DEFAULT_MAX_MESSAGE_BYTES = 10 * MIB;
const TARGET_MODULE = new URL('./target.ts', import.meta.url).pathname;

export async function measure(
  scenario: Scenario,
  target: TargetName,
  env: Environment,
): Promise<Measurement> {
  const idleCount =
    scenario.kind === 'idle' ? Math.min(scenario.connections, env.maxIdleConnections) : 0;
  const spec = targetSpec(target, env, {
    maxMessageBytes:
      scenario.kind === 'large' ? scenario.messageBytes + 4 * MIB : DEFAULT_MAX_MESSAGE_BYTES,
    // mxhook's default (1000) would refuse the idle scenario's connections: raised for it only.
    maxConnections: scenario.kind === 'idle' ? idleCount + 1_000 : 1_000,
  });
  const child = new Child<{ port: number }>(TARGET_MODULE, {
    args: [JSON.stringify(spec)],
    // mxhook runs with the Node flags it ships with; the peer as a user would run it, with none.
    execArgv: [
      '--expose-gc',
      ...(target.startsWith('mxhook') ? GATEWAY_NODE_FLAGS : []),
      ...env.targetFlags,
    ],
  });
  try {
    const { port } = await child.ready;
    const problems: string[] = [];
    const signed = scenario.kind !== 'idle' && scenario.signed === true;
    // Signed scenarios warm up with signed mail: the checks-on target's DNS cache is warm then.
    if (scenario.kind !== 'idle')
      await warmUp(port, env.quick, signed ? signedTestMessage(1024) : testMessage(1024));
    await take(env); // the warm-up's calls are not counted
    const seen: string[] = [];
    const metrics =
      scenario.kind === 'idle'
        ? await measureIdle(port, idleCount, scenario.connections, child, problems)
        : await measureMessages(scenario, port, child, env, problems, (summaries) =>
            seen.push(...summaries),
          );
    // A bench of checks that fail would measure the wrong work: every one must pass.
    if (target === 'mxhook-auth') {
      const wrong = seen.filter((summary) => summary !== EXPECTED_AUTHENTICATION);
      if (seen.length === 0) problems.push('the data calls carried no authentication');
      if (wrong.length > 0)
        problems.push(
          `authentication not as expected (${EXPECTED_AUTHENTICATION}): ${wrong.join('; ')}`,
        );
    } else if (seen.length > 0) {
      problems.push(`a checks-off target reported authentication: ${seen.join('; ')}`);
    }
    return {
      scenario: scenario.name,
      target,
      ok: problems.length === 0,
      problems,
      metrics,
      ...(seen.length === 0 ? {} : { authentication: seen }),
    };
  } finally {
    await child.stop();
  }
}

function targetSpec(
  target: TargetName,
  env: Environment,
  limits: { maxMessageBytes: number; maxConnections: number },
): TargetSpec {
  const common = {
    functionUrl: env.functionUrl,
    secret: env.secret,
    maxMessageBytes: limits.maxMessageBytes,
  };
  const mxhook = {
    maxConnections: limits.maxConnections,
    logLevel: env.mxhookLogLevel,
    steps: env.mxhookSteps,
    logFile: env.mxhookLogFile,
    // Checks off, explicitly: the same work as before mail authentication existed.
    authChecks: 'none',
    dnsServers: '',
    ...common,
  };
  switch (target) {
    case 'mxhook-auth':
      if (env.dns === null) throw new Error('mxhook auth needs the bench DNS server');
      return {
        kind: 'mxhook',
        payload: 'raw',
        ...mxhook,
        authChecks: ALL_AUTH_CHECKS,
        dnsServers: env.dns.server,
      };
    case 'mxhook-raw':
      return { kind: 'mxhook', payload: 'raw', ...mxhook };
    case 'mxhook-parsed':
      return { kind: 'mxhook', payload: 'parsed', ...mxhook };
    case 'peer':
      return { kind: 'peer', reverseLookup: true, ...common };
    case 'peer-no-rdns':
      return { kind: 'peer', reverseLookup: false, ...common };
  }
}

/** A fresh process runs its first messages through the interpreter; measure it compiled. */
async function warmUp(port: number, quick: boolean, message: TestMessage): Promise<void> {
  await runLoad({
    port,
    message,
    messages: quick ? 150 : 400,
    concurrency: 10,
    perSession: 2,
    durationMs: 10_000,
    hardLimitMs: 30_000,
  });
}

function take(env: Environment): Promise<FunctionCounts> {
  return env.functionServer.request<FunctionCounts>('take');
}

async function measureMessages(
  scenario: Extract<Scenario, { kind: 'load' | 'large' }>,
  port: number,
  child: Child,
  env: Environment,
  problems: string[],
  sawAuthentication: (summaries: readonly string[]) => void,
): Promise<Record<string, number>> {
  const message =
    scenario.signed === true
      ? signedTestMessage(scenario.messageBytes)
      : testMessage(scenario.messageBytes);
  // `gc` also restarts the target's event-loop delay monitor: its max is then this scenario's.
  const before = await child.request<TargetUsage>(scenario.kind === 'large' ? 'gc' : 'usage');
  const dnsQueriesBefore = env.dns?.queries() ?? 0;
  const machineBefore = machineCpu();
  let firstPeakBytes = 0;
  const result =
    scenario.kind === 'load'
      ? await (scenario.pipelining === false && env.generator === 'lean' ? runLeanLoad : runLoad)({
          port,
          message,
          messages: scenario.messages,
          concurrency: scenario.concurrency,
          perSession: scenario.perSession,
          pipelining: scenario.pipelining ?? true,
          durationMs: scenario.durationMs,
          hardLimitMs: scenario.durationMs + 60_000,
        })
      : // One large message at a time; the peak is taken after the first, as the target is about
        // one message (back-to-back ones also wait for V8 to free the previous one: reported too).
        await oneByOne(port, message, scenario.messages, async () => {
          firstPeakBytes = (await child.request<TargetUsage>('usage')).maxRssBytes;
        });
  const after = await child.request<TargetUsage>('usage');
  const machineAfter = machineCpu();
  const counts = await take(env);
  sawAuthentication(counts.authentication);
  const received = counts.posts['/data'] ?? 0;
  if (result.failed > 0)
    problems.push(
      `${result.failed} of ${result.attempted} messages failed: ${result.errors.join('; ')}`,
    );
  if (received !== result.accepted)
    problems.push(
      `the function received ${received} data calls for ${result.accepted} accepted messages`,
    );
  if (result.accepted > 0 && counts.verified === 0) problems.push('no signature was checked');
  if (counts.verifyFailures.length > 0)
    problems.push(`bad signatures: ${counts.verifyFailures.join('; ')}`);
  const accepted = Math.max(result.accepted, 1);
  const metrics: Record<string, number> = {
    messages: result.accepted,
    failed: result.failed,
    msgsPerSec: result.accepted / (result.wallMs / 1000),
    cpuMsPerMsg: (after.cpuUs - before.cpuUs) / 1000 / accepted,
    systemCpuMsPerMsg: (after.systemCpuUs - before.systemCpuUs) / 1000 / accepted,
    mainThreadCpuMsPerMsg: (after.mainThreadCpuUs - before.mainThreadCpuUs) / 1000 / accepted,
    txnP50Ms: percentile(result.transactionMs, 50),
    txnP99Ms: percentile(result.transactionMs, 99),
    dataP50Ms: percentile(result.dataReplyMs, 50),
    dataP99Ms: percentile(result.dataReplyMs, 99),
    peakRssMiB: after.maxRssBytes / MIB,
    functionP50Us: counts.handlingP50Us,
    loadGeneratorCpuMsPerMsg: result.cpuUs / 1000 / accepted,
    functionCpuMsPerMsg: counts.cpuUs / 1000 / accepted,
  };
  // The three processes of the benchmark, and whatever else ran on the machine meanwhile.
  const load = busyShare(
    machineBefore,
    machineAfter,
    (after.cpuUs - before.cpuUs + result.cpuUs + counts.cpuUs) / 1000,
  );
  // Each process's CPU over the wall time, in % of one CPU: a target near 100 % is the bottleneck
  // (Node runs its JavaScript on one thread); the load generator and the function must stay well below.
  const wallSeconds = result.wallMs / 1000;
  metrics.targetCpuPct = (after.cpuUs - before.cpuUs) / 1e4 / wallSeconds;
  metrics.targetMainThreadPct =
    (after.mainThreadCpuUs - before.mainThreadCpuUs) / 1e4 / wallSeconds;
  metrics.loadGeneratorCpuPct = result.cpuUs / 1e4 / wallSeconds;
  metrics.functionCpuPct = counts.cpuUs / 1e4 / wallSeconds;
  metrics.machineBusyPct = load.busyPct;
  metrics.otherLoadPct = load.otherPct;
  // Questions the bench's DNS server got during the scenario (0: every check answered from cache).
  if (scenario.signed === true && env.dns !== null)
    metrics.dnsQueries = env.dns.queries() - dnsQueriesBefore;
  if (scenario.kind === 'large') {
    const seconds = result.dataReplyMs.map((ms) => ms / 1000);
    metrics.mbPerSec = message.sizeBytes / 1e6 / percentile(seconds, 50);
    metrics.peakOverBaselineMiB = (firstPeakBytes - before.rssBytes) / MIB;
    metrics.peakOverSize = (firstPeakBytes - before.rssBytes) / message.sizeBytes;
    metrics.peakOverSizeAll = (after.maxRssBytes - before.rssBytes) / message.sizeBytes;
    metrics.loopDelayMaxMs = after.loopDelayMaxMs;
  }
  return metrics;
}

/** `count` messages, one after the other, each on its own connection; `afterFirst` runs between the first two. */
async function oneByOne(
  port: number,
  message: TestMessage,
  count: number,
  afterFirst: () => Promise<void>,
): Promise<LoadResult> {
  const results: LoadResult[] = [];
  for (let i = 0; i < count; i++) {
    const single = { port, message, messages: 1, concurrency: 1, perSession: 1 };
    results.push(await runLoad({ ...single, durationMs: 120_000, hardLimitMs: 180_000 }));
    if (i === 0) await afterFirst();
  }
  return mergeResults(results);
}

async function measureIdle(
  port: number,
  count: number,
  asked: number,
  child: Child,
  problems: string[],
): Promise<Record<string, number>> {
  if (count < asked) problems.push(`capped at ${count} connections by the open-file limit`);
  const before = await child.request<TargetUsage>('gc');
  const idle = await openIdle(port, count, 100, 120_000);
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = await child.request<TargetUsage>('gc');
    if (idle.greeted !== count)
      problems.push(`${idle.greeted} of ${count} connections greeted: ${idle.errors.join('; ')}`);
    return {
      connections: idle.greeted,
      openMs: idle.openMs,
      rssBeforeMiB: before.rssBytes / MIB,
      rssAfterMiB: after.rssBytes / MIB,
      rssPerConnKiB: (after.rssBytes - before.rssBytes) / 1024 / Math.max(idle.greeted, 1),
      heapPerConnKiB:
        (after.heapUsedBytes - before.heapUsedBytes) / 1024 / Math.max(idle.greeted, 1),
    };
  } finally {
    idle.closeAll();
  }
}
