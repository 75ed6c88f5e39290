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
  ],
  large: [
    { label: 'MB/s', key: 'mbPerSec', digits: 1 },
    { label: 'CPU ms/message', key: 'cpuMsPerMsg', digits: 0 },
    { label: 'peak RSS MiB', key: 'peakRssMiB', digits: 1 },
    { label: 'peak over baseline MiB', key: 'peakOverBaselineMiB', digits: 1 },
    { label: 'peak / message size', key: 'peakOverSize', digits: 2 },
    { label: 'same, 3 back-to-back', key: 'peakOverSizeAll', digits: 2 },
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
];

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
    const metricRows = [...ROWS[scenario.kind]];
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
      rows.push(['', 'gateway-added p50 ms', ...added, '', '', '']);
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
  const added = addedLatencyMs(results, 'mxhook-raw');
  out.push({
    target: 'gateway-added latency < 0.5 ms p50',
    measured: `${added.toFixed(3)} ms`,
    met: added < 0.5,
  });
  // A scenario left out of this run (--only, --quick) has no verdict.
  return out.filter((verdict) => !verdict.measured.includes('NaN'));
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
