// `npm run bench`: mxhook and a hand-written smtp-server bridge (the peer), side by side in one run.
//
//   npm run bench                  full run (a few minutes)
//   npm run bench -- --quick       short run (fewer messages, no 10,000-connection scenario)
//   npm run bench -- --only=c20,25m --targets=mxhook-raw,peer
//   npm run bench -- --profile [--profile-dir=bench-profiles]   --cpu-prof of every target process
//   npm run bench -- --log-level=warn   mxhook's MXHOOK_LOG_LEVEL (default info, its own default)
//   npm run bench -- --repeat=3   run each measurement 3 times and keep the best (for a busy machine)
//
// Everything listens on 127.0.0.1. Prints a table and the verdict on each target of issue 6, and
// writes bench-results.json; exits 1 if any message was lost, failed or wrongly counted.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { dataCallBody, directPosts } from './baseline.ts';
import { fdLimit, rerunWithMoreFiles } from './fd-limit.ts';
import { Child } from './ipc.ts';
import { type Environment, type Measurement, measure } from './measure.ts';
import { testMessage } from './message.ts';
import { formatTable, formatVerdicts, type Results, verdicts } from './report.ts';
import { scenarios as allScenarios, type Scenario, TARGETS } from './scenarios.ts';
import { percentile } from './stats.ts';

const DEFINITIONS = `Definitions:
  messages/s          messages answered 250 after the data / wall time from the first connect to the last QUIT
  CPU ms/message      user+system CPU time of the target process during the scenario / messages accepted
  transaction         connect() to the 250 after the data (TCP, banner, EHLO, pipelined MAIL/RCPT/DATA, data);
                      from MAIL on for the later messages of a session
  data reply          from writing the message after 354 to its 250 (includes the function call)
  gateway-added p50   data reply p50 (one session at a time) − p50 of a direct POST of a data-call-sized
                      body from the load generator to the same function: what a sender waits beyond the function call
  peak RSS            getrusage max RSS of the target process (a fresh process per scenario, warm-up included)
  peak over baseline  peak RSS (after the first large message) − RSS before it (after GC); "peak / message size"
                      divides it by the size; "3 back-to-back" is the same after all of them (V8 frees a
                      message's Buffers at its next full GC, so the next message can arrive before that)
  RSS KiB / idle conn (RSS after N idle, greeted connections − RSS before) / N, both after V8's last-resort GC
                      (which also shrinks the young generation, so its size at the time is not counted)
  MB/s                message bytes (10^6) / data reply time, median over the messages
  ratios              mxhook / peer for the same metric (higher is better for messages/s and MB/s, lower for the rest)`;

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'profile-dir': { type: 'string', default: 'bench-profiles' },
    only: { type: 'string' },
    targets: { type: 'string' },
    out: { type: 'string', default: 'bench-results.json' },
    'log-level': { type: 'string', default: 'info' },
    repeat: { type: 'string', default: '1' },
  },
  allowNegative: false,
});
const profileDir = flags.profile ? flags['profile-dir'] : null;

const IDLE_FD_MARGIN = 500;
const repeat = Math.max(1, Number.parseInt(flags.repeat, 10) || 1);
const scenarios = allScenarios(flags.quick).filter(
  (s) => flags.only === undefined || flags.only.split(',').includes(s.name),
);
const targets = TARGETS.filter(
  (t) => flags.targets === undefined || flags.targets.split(',').includes(t.name),
);
const mostIdle = Math.max(0, ...scenarios.map((s) => (s.kind === 'idle' ? s.connections : 0)));
rerunWithMoreFiles(mostIdle + IDLE_FD_MARGIN);
const maxIdleConnections = fdLimit().soft - IDLE_FD_MARGIN;

const startedAt = performance.now();
const secret = randomBytes(30).toString('base64url');
const functionServer = new Child<{ port: number }>(
  new URL('./function-server.ts', import.meta.url).pathname,
  {
    env: { ...process.env, BENCH_SECRET: secret },
  },
);
let exitCode = 0;
try {
  const { port } = await functionServer.ready;
  const functionUrl = `http://127.0.0.1:${port}/`;
  if (profileDir !== null) mkdirSync(profileDir, { recursive: true });
  const env: Environment = {
    functionUrl,
    secret,
    functionServer,
    targetFlags: profileDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
    quick: flags.quick,
    maxIdleConnections,
    mxhookLogLevel: flags['log-level'],
  };

  const body = dataCallBody(testMessage(1024));
  await directPosts(functionUrl, body, 300);
  const baseline = await directPosts(functionUrl, body, flags.quick ? 500 : 3_000);
  await functionServer.request('take');

  const measurements: Measurement[] = [];
  for (const scenario of scenarios) {
    for (const target of targets) {
      if (target.skips.includes(scenario.kind)) continue;
      process.stderr.write(`${scenario.title} · ${target.label} … `);
      const runs: Measurement[] = [];
      for (let run = 0; run < repeat; run++) runs.push(await measure(scenario, target.name, env));
      const measured = best(scenario, runs);
      measurements.push(measured);
      process.stderr.write(measured.ok ? 'ok\n' : `FAILED: ${measured.problems.join('; ')}\n`);
    }
  }

  const results: Results = {
    measurements,
    baselineP50Ms: percentile(baseline, 50),
    baselineP99Ms: percentile(baseline, 99),
  };
  const judged = verdicts(results);
  const machine = {
    cpus: availableParallelism(),
    cpuModel: cpuModel(),
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    kernel: release(),
    openFilesSoftLimit: fdLimit().soft,
  };
  console.log(
    `\nmxhook benchmark${flags.quick ? ' (--quick)' : ''}: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}`,
  );
  console.log(
    'Load generator, function and target share the CPUs; every target runs in its own process.',
  );
  console.log(
    `Direct POST baseline: p50 ${results.baselineP50Ms.toFixed(3)} ms, p99 ${results.baselineP99Ms.toFixed(3)} ms\n`,
  );
  console.log(formatTable(results, scenarios));
  console.log(`\n${formatVerdicts(judged)}\n`);
  console.log(DEFINITIONS);
  const failures = measurements.filter((m) => !m.ok);
  for (const failure of failures)
    console.error(`FAILED ${failure.scenario} · ${failure.target}: ${failure.problems.join('; ')}`);
  if (failures.length > 0) exitCode = 1;
  writeFileSync(
    flags.out,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        quick: flags.quick,
        repeat,
        mxhookLogLevel: flags['log-level'],
        machine,
        durationSeconds: Math.round((performance.now() - startedAt) / 1000),
        baseline: { p50Ms: results.baselineP50Ms, p99Ms: results.baselineP99Ms },
        scenarios,
        measurements,
        targets: judged,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwrote ${flags.out} (${Math.round((performance.now() - startedAt) / 1000)} s)`);
} finally {
  await functionServer.stop();
}
process.exit(exitCode);

/**
 * The best of repeated runs by the scenario's main figure (another process on the machine can only
 * make a run worse); a problem in any run is kept, so a lost message is never hidden by a good run.
 */
function best(scenario: Scenario, runs: readonly Measurement[]): Measurement {
  const score = (m: Measurement): number =>
    scenario.kind === 'load'
      ? (m.metrics.msgsPerSec ?? 0)
      : scenario.kind === 'large'
        ? (m.metrics.mbPerSec ?? 0)
        : -(m.metrics.rssPerConnKiB ?? Number.POSITIVE_INFINITY);
  const chosen = runs.reduce((a, b) => (score(b) > score(a) ? b : a));
  const problems = runs.flatMap((m, i) =>
    m.problems.map((p) => (runs.length > 1 ? `run ${i + 1}: ${p}` : p)),
  );
  return { ...chosen, ok: problems.length === 0, problems };
}

function cpuModel(): string {
  const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return match?.[1]?.trim() ?? 'unknown';
}
