// Open-file limits: 10,000 idle connections need that many descriptors in the runner and in the target.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface FdLimit {
  readonly soft: number;
  readonly hard: number;
}

export function fdLimit(): FdLimit {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const [soft, hard] = (line?.match(/\d+|unlimited/g) ?? []).map((v) =>
    v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v),
  );
  return { soft: soft ?? 1024, hard: hard ?? soft ?? 1024 };
}

/**
 * Runs this script again under a raised soft limit (children inherit it) when `needed` descriptors
 * are more than the soft limit allows but the hard limit permits; returns false when it did not.
 */
export function rerunWithMoreFiles(needed: number): boolean {
  const { soft, hard } = fdLimit();
  if (soft >= needed || hard < needed || process.env.BENCH_FD_RAISED === '1') return false;
  const target = Number.isFinite(hard) ? hard : needed;
  const result = spawnSync(
    'sh',
    [
      '-c',
      `ulimit -n ${target} && exec "$0" "$@"`,
      process.execPath,
      ...process.execArgv,
      ...process.argv.slice(1),
    ],
    { stdio: 'inherit', env: { ...process.env, BENCH_FD_RAISED: '1' } },
  );
  process.exit(result.status ?? 1);
}
