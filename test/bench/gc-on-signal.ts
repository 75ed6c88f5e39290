// Preloaded (`--expose-gc --import`) into the outbound benchmark's targets, mxhook and Haraka alike:
// SIGUSR2 runs V8's last-resort full collection, so the bench can read an RSS that holds what the
// process keeps, not the garbage it has yet to collect; with BENCH_GC_REPORT_DIR set, it then
// writes process.memoryUsage() to <dir>/<pid>.json (JS heap, external, array buffers).
// Neither target uses SIGUSR2 itself.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

type GcOptions = { type: 'major'; execution: 'sync'; flavor: 'last-resort' };
process.on('SIGUSR2', () => {
  const gc = globalThis.gc as ((options: GcOptions) => void) | undefined;
  for (let i = 0; i < 3; i++) gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  const dir = process.env.BENCH_GC_REPORT_DIR;
  if (dir !== undefined && dir !== '')
    writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify(process.memoryUsage()));
});
