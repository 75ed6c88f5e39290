// `node test/bench/large-message-memory.ts`: one 25 MiB message from nodemailer through `mxhook serve`
// (a child process, with a directory archive) to the example Worker on workerd, which stores it.
// Prints the peak RSS over the baseline of the gateway and of workerd, for the message sent by
// reference (MXHOOK_INLINE_MAX at its default), inline (the limit raised above the message) and
// inline without an archive at all.
//
// Peaks are Linux's VmHWM, reset before each send (`5` written to /proc/<pid>/clear_refs).
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../gateway/dev/wrangler-dev.ts';
import { sendMail } from '../e2e/helpers/mail.ts';
import { startTestWorker } from '../e2e/helpers/worker.ts';
import { GatewayProcess } from '../helpers/faults/gateway-process.ts';

const MiB = 1024 * 1024;

async function status(pid: number): Promise<{ rss: number; peak: number }> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1]);
  return { rss: kib('VmRSS') * 1024, peak: kib('VmHWM') * 1024 };
}

/** The workerd processes started under this one (wrangler's child's children). */
async function workerdPids(): Promise<number[]> {
  const parents = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const match = /^\d+ \((.*)\) \S (\d+)/.exec(stat);
    if (match === null) continue;
    names.set(Number(entry), match[1]!);
    parents.set(Number(entry), Number(match[2]));
  }
  const ours = (pid: number): boolean => {
    for (let at = parents.get(pid); at !== undefined && at > 1; at = parents.get(at))
      if (at === process.pid) return true;
    return false;
  };
  return [...names].filter(([pid, name]) => name === 'workerd' && ours(pid)).map(([pid]) => pid);
}

function textOf(size: number): string {
  const line = `${'0123456789'.repeat(7)}abcdefgh\r\n`;
  return line.repeat(Math.ceil(size / line.length)).slice(0, size);
}

async function run(mode: 'reference' | 'inline' | 'no archive'): Promise<void> {
  const worker = await startTestWorker();
  const archive = await mkdtemp(join(tmpdir(), 'mxhook-bench-archive-'));
  const gateway = await GatewayProcess.start({
    MXHOOK_FUNCTION_URL: `${worker.url}mxhook/`,
    MXHOOK_SIGNING_SECRET: worker.secret,
    ...(mode === 'no archive' ? {} : { MXHOOK_ARCHIVE: archive }),
    MXHOOK_HTTP_LISTEN: `127.0.0.1:${await freePort()}`,
    MXHOOK_MAX_MESSAGE_SIZE: String(30 * MiB),
    MXHOOK_FUNCTION_TIMEOUT: '120',
    ...(mode === 'inline' ? { MXHOOK_INLINE_MAX: String(64 * MiB) } : {}),
  });
  try {
    const pids = await workerdPids();
    const watched = [gateway.pid, ...pids];
    // Warm both up with a small message, so the baseline is a running gateway and Worker.
    await sendMail(gateway.port, { to: 'bob@inbox.test', subject: 'warm-up', text: 'hi' });
    const before = new Map<number, number>();
    for (const pid of watched) {
      await writeFile(`/proc/${pid}/clear_refs`, '5');
      before.set(pid, (await status(pid)).rss);
    }
    const text = textOf(25 * MiB);
    const started = performance.now();
    const info = await sendMail(gateway.port, { to: 'bob@inbox.test', subject: 'big', text });
    const seconds = (performance.now() - started) / 1000;
    const rise = async (pid: number) => ((await status(pid)).peak - before.get(pid)!) / MiB;
    const workerd = await Promise.all(pids.map(rise));
    console.log(
      JSON.stringify({
        mode,
        reply: info.response,
        seconds: Number(seconds.toFixed(2)),
        gatewayPeakOverBaselineMiB: Number((await rise(gateway.pid)).toFixed(1)),
        workerdPeakOverBaselineMiB: workerd.map((mib) => Number(mib.toFixed(1))),
      }),
    );
  } finally {
    await gateway.kill();
    await worker.stop();
    await rm(archive, { recursive: true, force: true });
  }
}

for (const mode of ['reference', 'inline', 'no archive'] as const) await run(mode);
