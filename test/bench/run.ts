// `npm run bench`: mxhook and a hand-written smtp-server bridge (the peer), side by side in one run.
//
//   npm run bench                  full run (a few minutes)
//   npm run bench -- --quick       short run (fewer messages, no 10,000-connection scenario)
//   npm run bench -- --only=c20,25m --targets=mxhook-raw,peer
//   npm run bench -- reuse         the named scenarios only (same as --only=reuse)
//   npm run bench -- reuse --generator=classic   the non-pipelined scenario with load-generator.ts
//   npm run bench -- --profile [--profile-dir=bench-profiles]   --cpu-prof of every target process
//   npm run bench -- --target-flags='--perf-basic-prof'   more Node flags for every target process
//   npm run bench -- --log-level=warn   mxhook's MXHOOK_LOG_LEVEL (default info, its own default)
//   npm run bench -- --mxhook-steps=rcpt,data   mxhook's MXHOOK_STEPS (default data, as the peer)
//   npm run bench -- --mxhook-log-file=/tmp/mxhook.log   mxhook's log lines to a file, not /dev/null
//   npm run bench -- --repeat=3   run each measurement 3 times and keep the best (for a busy machine)
//   npm run bench -- --quick --only=c200-auth,25m-auth   mail authentication off vs on (signed mail)
//   npm run bench -- outbound [--quick] [--repeat=3]   the outbound queue vs Haraka's (outbound.ts;
//                                  only when named)
//
// Everything listens on 127.0.0.1. Prints a table and the verdict on each target of issue 6, and
// writes bench-results.json; exits 1 if any message was lost, failed or wrongly counted.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.ts';
import { authZone } from './auth.ts';
import { dataCallBody, directPosts } from './baseline.ts';
import { fdLimit, rerunWithMoreFiles } from './fd-limit.ts';
import { Child } from './ipc.ts';
import { type Environment, type Measurement, measure } from './measure.ts';
import { testMessage } from './message.ts';
import { OUTBOUND, runOutbound } from './outbound.ts';
import {
  formatAuthentication,
  formatTable,
  formatVerdicts,
  type Results,
  verdicts,
} from './report.ts';
import {
  scenarios as allScenarios,
  runsOn,
  type Scenario,
  TARGETS,
  type TargetName,
} from './scenarios.ts';
import { percentile } from './stats.ts';

const DEFINITIONS = `Definitions:
  messages/s          messages answered 250 after the data / wall time from the first connect to the last QUIT
  CPU ms/message      user+system CPU time of the target process during the scenario / messages accepted
                      (all its threads: "main thread" is the JavaScript thread alone, the rest is V8's GC
                      helpers and libuv's pool; "system" is the kernel's part, socket reads and writes mostly)
  transaction         connect() to the 250 after the data (TCP, banner, EHLO, MAIL/RCPT/DATA — pipelined
                      unless the scenario says no pipelining —, data); from MAIL on for the later messages of a session
  data reply          from writing the message after 354 to its 250 (includes the function call)
  gateway-added p50   data reply p50 (one session at a time) − p50 of a direct POST of a data-call-sized
                      body from the load generator to the same function: what a sender waits beyond the function call
  CPU % of 1 CPU      a process's CPU time / wall time: the target near 100 % (main thread) is the bottleneck;
                      the load generator and the function must stay well below it
  peak RSS            getrusage max RSS of the target process (a fresh process per scenario, warm-up included)
  peak over baseline  peak RSS (after the first large message) − RSS before it (after GC); "peak / message size"
                      divides it by the size; "3 back-to-back" is the same after all of them (V8 frees a
                      message's Buffers at its next full GC, so the next message can arrive before that)
  RSS KiB / idle conn (RSS after N idle, greeted connections − RSS before) / N, both after V8's last-resort GC
                      (which also shrinks the young generation, so its size at the time is not counted)
  MB/s                message bytes (10^6) / data reply time, median over the messages
  event loop max ms   the target's longest event-loop delay (perf_hooks monitorEventLoopDelay, 1 ms
                      resolution) from just before the first large message to the end of the last
  DNS queries         questions the bench's DNS server got during the scenario (after the warm-up;
                      0: every check was answered from the gateway's cache)
  mxhook auth         mxhook raw with MXHOOK_AUTH_CHECKS=rdns,spf,sender,dkim,dmarc,arc against the
                      bench's loopback DNS server; every other mxhook target runs MXHOOK_AUTH_CHECKS=none
  ratios              mxhook / peer for the same metric (higher is better for messages/s and MB/s, lower for the rest)`;

const { values: flags, positionals } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'profile-dir': { type: 'string', default: 'bench-profiles' },
    only: { type: 'string' },
    targets: { type: 'string' },
    out: { type: 'string', default: 'bench-results.json' },
    'log-level': { type: 'string', default: 'info' },
    repeat: { type: 'string', default: '1' },
    generator: { type: 'string', default: 'lean' },
    'mxhook-steps': { type: 'string', default: 'data' },
    'target-flags': { type: 'string', default: '' },
    'mxhook-log-file': { type: 'string' },
  },
  allowNegative: false,
  allowPositionals: true,
});
// Scenario names given as arguments (`npm run bench -- reuse`) select them as --only does.
const only = [...(flags.only?.split(',') ?? []), ...positionals];
if (flags.generator !== 'lean' && flags.generator !== 'classic')
  throw new Error(`--generator must be lean or classic, not ${flags.generator}`);
const generator = flags.generator;
// The outbound scenario has its own processes, receiver and table (outbound.ts): run when named,
// and alone when it is the only one named.
if (only.includes(OUTBOUND)) {
  const passed = await runOutbound({
    quick: flags.quick,
    repeat: Math.max(1, Number.parseInt(flags.repeat, 10) || 1),
  });
  if (only.every((name) => name === OUTBOUND)) process.exit(passed ? 0 : 1);
  if (!passed) process.exitCode = 1;
}
const profileDir = flags.profile ? flags['profile-dir'] : null;

const IDLE_FD_MARGIN = 500;
const repeat = Math.max(1, Number.parseInt(flags.repeat, 10) || 1);
const scenarios = allScenarios(flags.quick).filter(
  (s) => only.length === 0 || only.includes(s.name),
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
let exitCode = process.exitCode === 1 ? 1 : 0;
// The checks-on target asks a DNS server of the bench's own, on loopback, never the system's.
const needsDns = scenarios.some((s) =>
  targets.some((t) => t.name === 'mxhook-auth' && runsOn(t, s)),
);
const dnsServer: TestDnsServer | null = needsDns
  ? await startDnsServer(authZone(), { negativeTtl: 3_600 })
  : null;
try {
  const { port } = await functionServer.ready;
  const functionUrl = `http://127.0.0.1:${port}/`;
  if (profileDir !== null) mkdirSync(profileDir, { recursive: true });
  const env: Environment = {
    functionUrl,
    secret,
    functionServer,
    targetFlags: [
      ...(profileDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]),
      ...flags['target-flags'].split(' ').filter((flag) => flag !== ''),
    ],
    quick: flags.quick,
    maxIdleConnections,
    mxhookLogLevel: flags['log-level'],
    mxhookSteps: flags['mxhook-steps'],
    mxhookLogFile: flags['mxhook-log-file'] ?? null,
    generator,
    dns:
      dnsServer === null
        ? null
        : { server: dnsServer.server, queries: () => dnsServer.queries.length },
  };

  const body = dataCallBody(testMessage(1024));
  await directPosts(functionUrl, body, 300);
  const baseline = await directPosts(functionUrl, body, flags.quick ? 500 : 3_000);
  await functionServer.request('take');

  const measurements: Measurement[] = [];
  /** Every run of every measurement, for the JSON file (the table shows the best of each). */
  const allRuns: Measurement[] = [];
  for (const scenario of scenarios) {
    const chosen = targets.filter((target) => runsOn(target, scenario));
    // Repeats take turns between the targets, so a stretch of other work on the machine falls
    // on all of them rather than on one target's runs.
    const runs = new Map<TargetName, Measurement[]>(chosen.map((target) => [target.name, []]));
    for (let run = 0; run < repeat; run++) {
      for (const target of chosen) {
        const round = repeat > 1 ? ` (run ${run + 1} of ${repeat})` : '';
        process.stderr.write(`${scenario.title} · ${target.label}${round} … `);
        const measured = await measure(scenario, target.name, env);
        runs.get(target.name)!.push(measured);
        allRuns.push(measured);
        process.stderr.write(measured.ok ? 'ok\n' : `FAILED: ${measured.problems.join('; ')}\n`);
      }
    }
    for (const target of chosen) measurements.push(best(scenario, runs.get(target.name)!));
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
  const authentication = formatAuthentication(results);
  if (authentication !== '') console.log(`\n${authentication}`);
  if (dnsServer !== null) {
    // What the checks asked, warm-ups included (each distinct question, with how often).
    const asked = new Map<string, number>();
    for (const query of dnsServer.queries) asked.set(query, (asked.get(query) ?? 0) + 1);
    const list = [...asked].map(([query, n]) => (n > 1 ? `${query} ×${n}` : query));
    console.log(`  DNS questions the bench's server answered (all runs): ${list.join(', ')}`);
  }
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
        mxhookSteps: flags['mxhook-steps'],
        mxhookLogFile: flags['mxhook-log-file'] ?? null,
        generator,
        machine,
        durationSeconds: Math.round((performance.now() - startedAt) / 1000),
        baseline: { p50Ms: results.baselineP50Ms, p99Ms: results.baselineP99Ms },
        scenarios,
        measurements,
        runs: allRuns,
        targets: judged,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwrote ${flags.out} (${Math.round((performance.now() - startedAt) / 1000)} s)`);
} finally {
  await functionServer.stop();
  await dnsServer?.close();
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
