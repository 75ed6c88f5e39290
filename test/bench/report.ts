// Turns measurements into the printed table, the verdict on each target of issue 6, and the JSON file.
import type { Measurement } from './measure.ts';
import { type Scenario, SERIAL, TARGETS, type TargetName } from './scenarios.ts';

export interface Results {
  readonly measurements: readonly Measurement[];
  /** p50 of a direct POST of a data-call-sized body to the function, in ms. */
  readonly baselineP50Ms: number;
  readonly baselineP99Ms: number;
}

interface Row {
  readonly label: string;
  readonly key: string;
  readonly digits: number;
  /** A ratio means nothing for this row (how busy the machine was). */
  readonly noRatio?: boolean;
  /** Left out of a scenario where no target has it (the signed scenarios' rows). */
  readonly optional?: boolean;
}

const ROWS: Record<Scenario['kind'], readonly Row[]> = {
  load: [
    { label: 'messages/s', key: 'msgsPerSec', digits: 0 },
    { label: 'CPU ms/message', key: 'cpuMsPerMsg', digits: 3 },
    { label: '… of it main thread', key: 'mainThreadCpuMsPerMsg', digits: 3 },
    { label: '… of it system (kernel)', key: 'systemCpuMsPerMsg', digits: 3 },
    { label: 'transaction p50 ms', key: 'txnP50Ms', digits: 2 },
    { label: 'transaction p99 ms', key: 'txnP99Ms', digits: 2 },
    { label: 'data reply p50 ms', key: 'dataP50Ms', digits: 2 },
    { label: 'peak RSS MiB', key: 'peakRssMiB', digits: 1 },
    { label: 'load gen CPU ms/msg', key: 'loadGeneratorCpuMsPerMsg', digits: 3 },
    { label: 'function CPU ms/msg', key: 'functionCpuMsPerMsg', digits: 3 },
    { label: 'target CPU % of 1 CPU', key: 'targetCpuPct', digits: 0 },
    { label: '… main thread %', key: 'targetMainThreadPct', digits: 0 },
    { label: 'load gen CPU % of 1 CPU', key: 'loadGeneratorCpuPct', digits: 0 },
    { label: 'function CPU % of 1 CPU', key: 'functionCpuPct', digits: 0 },
    { label: 'machine busy %', key: 'machineBusyPct', digits: 0, noRatio: true },
    { label: '… of it other work %', key: 'otherLoadPct', digits: 0, noRatio: true },
    { label: 'DNS queries', key: 'dnsQueries', digits: 0, noRatio: true, optional: true },
  ],
  large: [
    { label: 'MB/s', key: 'mbPerSec', digits: 1 },
    { label: 'CPU ms/message', key: 'cpuMsPerMsg', digits: 0 },
    { label: 'peak RSS MiB', key: 'peakRssMiB', digits: 1 },
    { label: 'peak over baseline MiB', key: 'peakOverBaselineMiB', digits: 1 },
    { label: 'peak / message size', key: 'peakOverSize', digits: 2 },
    { label: 'same, 3 back-to-back', key: 'peakOverSizeAll', digits: 2 },
    { label: 'event loop max ms', key: 'loopDelayMaxMs', digits: 1 },
    { label: 'DNS queries', key: 'dnsQueries', digits: 0, noRatio: true, optional: true },
  ],
  idle: [
    { label: 'RSS KiB / idle conn', key: 'rssPerConnKiB', digits: 2 },
    { label: 'JS heap KiB / idle conn', key: 'heapPerConnKiB', digits: 2 },
    { label: 'connections greeted', key: 'connections', digits: 0 },
    { label: 'RSS after MiB', key: 'rssAfterMiB', digits: 1 },
  ],
};

const RATIOS: readonly { label: string; of: TargetName; to: TargetName }[] = [
  { label: 'raw/peer', of: 'mxhook-raw', to: 'peer' },
  { label: 'raw/peer-noRDNS', of: 'mxhook-raw', to: 'peer-no-rdns' },
  { label: 'parsed/peer', of: 'mxhook-parsed', to: 'peer' },
  // Mail authentication on / off, for the same signed mail.
  { label: 'auth/raw', of: 'mxhook-auth', to: 'mxhook-raw' },
];

/** The signed scenarios, checks off (mxhook raw) against on (mxhook auth). */
const AUTH_LOAD = 'c200-auth';
const AUTH_LARGE = '25m-auth';

/** The gateway-added latency of one target: its data-step p50 minus the direct POST's p50. */
export function addedLatencyMs(results: Results, target: TargetName): number {
  const serial = find(results, SERIAL, target);
  return (serial?.metrics.dataP50Ms ?? Number.NaN) - results.baselineP50Ms;
}

export function formatTable(results: Results, scenarios: readonly Scenario[]): string {
  const header = [
    'scenario',
    'metric',
    ...TARGETS.map((t) => t.label),
    ...RATIOS.map((r) => r.label),
  ];
  const rows: string[][] = [];
  for (const scenario of scenarios) {
    const metricRows = ROWS[scenario.kind].filter(
      (row) =>
        !row.optional ||
        TARGETS.some((t) => find(results, scenario.name, t.name)?.metrics[row.key] !== undefined),
    );
    for (const [index, row] of metricRows.entries()) {
      const values = TARGETS.map((t) => find(results, scenario.name, t.name)?.metrics[row.key]);
      const ratios = RATIOS.map((r) => {
        const of = find(results, scenario.name, r.of)?.metrics[row.key];
        const to = find(results, scenario.name, r.to)?.metrics[row.key];
        if (row.noRatio || of === undefined || to === undefined || to === 0) return '';
        return (of / to).toFixed(2);
      });
      rows.push([
        index === 0 ? scenario.title : '',
        row.label,
        ...values.map((v) => fmt(v, row.digits)),
        ...ratios,
      ]);
    }
    if (scenario.name === SERIAL) {
      const added = TARGETS.map((t) => fmt(addedLatencyMs(results, t.name), 2));
      rows.push(['', 'gateway-added p50 ms', ...added, ...RATIOS.map(() => '')]);
    }
  }
  return align([header, ...rows]);
}

export interface TargetVerdict {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}

/** The targets of issue 6, judged on mxhook raw (the parsed mode's extra cost is reported, not judged). */
export function verdicts(results: Results): TargetVerdict[] {
  const m = (scenario: string, target: TargetName, key: string): number =>
    find(results, scenario, target)?.metrics[key] ?? Number.NaN;
  const out: TargetVerdict[] = [];
  for (const scenario of ['c20', 'c200', 'session', 'reuse', '100k', SERIAL]) {
    const ours = m(scenario, 'mxhook-raw', 'cpuMsPerMsg');
    // The cheaper of the two peer variants that ran.
    const peers = [m(scenario, 'peer', 'cpuMsPerMsg'), m(scenario, 'peer-no-rdns', 'cpuMsPerMsg')];
    const peer = Math.min(...peers.filter(Number.isFinite), Number.POSITIVE_INFINITY);
    out.push({
      target: `CPU per message below the peer's (${scenario})`,
      measured: Number.isFinite(peer) ? `${ours.toFixed(3)} vs ${peer.toFixed(3)} ms` : 'NaN',
      met: ours < peer,
    });
  }
  // With connection reuse the restructured core must leave room: 0.8× the peer's CPU per message
  // (so 1.25× its messages/s where CPU bounds), at no more peak memory than the peer's.
  const reuseCpu = m('reuse', 'mxhook-raw', 'cpuMsPerMsg') / m('reuse', 'peer', 'cpuMsPerMsg');
  if (Number.isFinite(reuseCpu)) {
    out.push({
      target: 'CPU per message ≤ 0.8× the peer’s (reuse)',
      measured: `${reuseCpu.toFixed(2)}×`,
      met: reuseCpu <= 0.8,
    });
    const ours = m('reuse', 'mxhook-raw', 'peakRssMiB');
    const peer = m('reuse', 'peer', 'peakRssMiB');
    out.push({
      target: 'peak RSS no higher than the peer’s (reuse)',
      measured: `${ours.toFixed(0)} vs ${peer.toFixed(0)} MiB`,
      met: ours <= peer,
    });
  }
  for (const scenario of ['c20', 'c200']) {
    for (const peerName of ['peer', 'peer-no-rdns'] as const) {
      const ratio = m(scenario, 'mxhook-raw', 'msgsPerSec') / m(scenario, peerName, 'msgsPerSec');
      out.push({
        target: `≥ 2× ${peerName} messages/s, 1 msg/conn (${scenario})`,
        measured: `${ratio.toFixed(2)}×`,
        met: ratio >= 2,
      });
    }
  }
  for (const scenario of ['idle1k', 'idle10k']) {
    const perConn = m(scenario, 'mxhook-raw', 'rssPerConnKiB');
    if (Number.isNaN(perConn)) continue;
    out.push({
      target: `≤ 8 KiB RSS per idle connection (${scenario})`,
      measured: `${perConn.toFixed(2)} KiB`,
      met: perConn <= 8,
    });
  }
  const mbps = m('25m', 'mxhook-raw', 'mbPerSec');
  out.push({
    target: '25 MiB message > 100 MB/s',
    measured: `${mbps.toFixed(1)} MB/s`,
    met: mbps > 100,
  });
  const over = m('25m', 'mxhook-raw', 'peakOverSize');
  out.push({
    target: '25 MiB message: peak memory < 3× its size',
    measured: `${over.toFixed(2)}×`,
    met: over < 3,
  });
  out.push(...authVerdicts(m));
  const added = addedLatencyMs(results, 'mxhook-raw');
  out.push({
    target: 'gateway-added latency < 0.5 ms p50',
    measured: `${added.toFixed(3)} ms`,
    met: added < 0.5,
  });
  // A scenario left out of this run (--only, --quick) has no verdict.
  return out.filter((verdict) => !verdict.measured.includes('NaN'));
}

/** The targets of mail authentication (checks on against off, for the same signed mail). */
function authVerdicts(
  m: (scenario: string, target: TargetName, key: string) => number,
): TargetVerdict[] {
  const out: TargetVerdict[] = [];
  const share =
    m(AUTH_LOAD, 'mxhook-auth', 'msgsPerSec') / m(AUTH_LOAD, 'mxhook-raw', 'msgsPerSec');
  out.push({
    target: `checks on ≥ 60 % of checks off msg/s (${AUTH_LOAD})`,
    measured: `${(share * 100).toFixed(0)} %`,
    met: share >= 0.6,
  });
  const delay = m(AUTH_LARGE, 'mxhook-auth', 'loopDelayMaxMs');
  out.push({
    target: `25 MiB signed message: event loop never blocked > 50 ms (checks on)`,
    measured: `${delay.toFixed(1)} ms max`,
    met: delay <= 50,
  });
  // The peak the checks add over today's (checks off) for the same message, against 2× its size.
  const on = m(AUTH_LARGE, 'mxhook-auth', 'peakOverBaselineMiB');
  const off = m(AUTH_LARGE, 'mxhook-raw', 'peakOverBaselineMiB');
  const sizeMiB = off / m(AUTH_LARGE, 'mxhook-raw', 'peakOverSize');
  out.push({
    target: '25 MiB signed message: peak RSS added by the checks < 2× its size',
    measured: `${on.toFixed(1)} − ${off.toFixed(1)} MiB = ${((on - off) / sizeMiB).toFixed(2)}× size`,
    met: on - off < 2 * sizeMiB,
  });
  return out;
}

/**
 * Mail authentication, checks on against off: messages/s, CPU per message and what the checks add,
 * and the verdicts the function saw (so the figures are known to be of passing checks). Empty when
 * no signed scenario ran.
 */
export function formatAuthentication(results: Results): string {
  const lines: string[] = [];
  const f = (v: number | undefined, d: number) => fmt(v, d);
  const metrics = (scenario: string, target: TargetName) =>
    find(results, scenario, target)?.metrics;
  const load = { off: metrics(AUTH_LOAD, 'mxhook-raw'), on: metrics(AUTH_LOAD, 'mxhook-auth') };
  if (load.off !== undefined && load.on !== undefined) {
    const { off, on } = load;
    const added = (key: string) => f((on[key] ?? Number.NaN) - (off[key] ?? Number.NaN), 3);
    lines.push(
      `  1 KiB signed, 200 sessions (${AUTH_LOAD}):`,
      `    messages/s             ${f(off.msgsPerSec, 0)} → ${f(on.msgsPerSec, 0)} (${f(((on.msgsPerSec ?? 0) / (off.msgsPerSec ?? 1)) * 100, 0)} % of checks off)`,
      `    CPU ms/message         ${f(off.cpuMsPerMsg, 3)} → ${f(on.cpuMsPerMsg, 3)} (the checks add ${added('cpuMsPerMsg')} ms)`,
      `    … of it main thread    ${f(off.mainThreadCpuMsPerMsg, 3)} → ${f(on.mainThreadCpuMsPerMsg, 3)} (the checks add ${added('mainThreadCpuMsPerMsg')} ms)`,
      `    DNS queries            ${f(on.dnsQueries, 0)} during the scenario (after the warm-up)`,
    );
  }
  const large = { off: metrics(AUTH_LARGE, 'mxhook-raw'), on: metrics(AUTH_LARGE, 'mxhook-auth') };
  if (large.off !== undefined && large.on !== undefined) {
    const { off, on } = large;
    lines.push(
      `  25 MiB signed (${AUTH_LARGE}):`,
      `    event loop max ms      ${f(off.loopDelayMaxMs, 1)} → ${f(on.loopDelayMaxMs, 1)}`,
      `    peak over baseline MiB ${f(off.peakOverBaselineMiB, 1)} → ${f(on.peakOverBaselineMiB, 1)} (the checks add ${f((on.peakOverBaselineMiB ?? Number.NaN) - (off.peakOverBaselineMiB ?? Number.NaN), 1)} MiB)`,
      `    CPU ms/message         ${f(off.cpuMsPerMsg, 0)} → ${f(on.cpuMsPerMsg, 0)}`,
    );
  }
  for (const scenario of [AUTH_LOAD, AUTH_LARGE]) {
    const seen = find(results, scenario, 'mxhook-auth')?.authentication;
    if (seen !== undefined) lines.push(`  seen by the function (${scenario}): ${seen.join('; ')}`);
  }
  if (lines.length === 0) return '';
  return [
    'Mail authentication, checks off (mxhook raw) → on (mxhook auth), the same signed mail:',
    ...lines,
  ].join('\n');
}

export function formatVerdicts(list: readonly TargetVerdict[]): string {
  return align([
    ['target', 'measured', 'met'],
    ...list.map((v) => [v.target, v.measured, v.met ? 'yes' : 'NO']),
  ]);
}

function find(results: Results, scenario: string, target: TargetName): Measurement | undefined {
  return results.measurements.find((m) => m.scenario === scenario && m.target === target);
}

function fmt(value: number | undefined, digits: number): string {
  return value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits);
}

function align(table: readonly (readonly string[])[]): string {
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => (r[c] ?? '').length)));
  return table
    .map((r) =>
      r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
    )
    .join('\n');
}
