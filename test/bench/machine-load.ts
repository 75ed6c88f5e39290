// How busy the whole machine was during a scenario (from /proc/stat), so a figure taken while
// something else ran on the same cores can be recognised as such.
import { readFileSync } from 'node:fs';

export interface CpuTimes {
  readonly busyMs: number;
  readonly totalMs: number;
}

/** USER_HZ: /proc/stat counts in hundredths of a second on Linux. */
const MS_PER_TICK = 10;

export function machineCpu(): CpuTimes {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const [, ...fields] = line.trim().split(/\s+/);
  const ticks = fields.slice(0, 8).map(Number);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0); // idle + iowait
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busyMs: (total - idle) * MS_PER_TICK, totalMs: total * MS_PER_TICK };
}

/** Share of all CPUs busy between two readings, and the part of it not explained by `ownMs`. */
export function busyShare(
  before: CpuTimes,
  after: CpuTimes,
  ownMs: number,
): { busyPct: number; otherPct: number } {
  const total = after.totalMs - before.totalMs;
  const busy = after.busyMs - before.busyMs;
  if (total <= 0) return { busyPct: Number.NaN, otherPct: Number.NaN };
  return { busyPct: (busy / total) * 100, otherPct: (Math.max(0, busy - ownMs) / total) * 100 };
}
