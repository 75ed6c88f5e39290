// Haraka (npm `Haraka`, a devDependency) as the outbound benchmark's comparison: a minimal instance
// in a temporary directory, one process (smtp.ini nodes=0), relaying for 127.0.0.0/8 (the `relay`
// plugin's ACL) into its own on-disk outbound queue (`<dir>/queue/`), whose deliveries go to the
// bench's receiver: `queue/smtp_forward` answers Haraka's get_mx hook with a static route for the
// recipient domain (Haraka resolves MX records with the system's resolver, which the bench must not
// use). enable_outbound stays false, so relayed mail goes through the outbound queue, not straight
// through to the receiver during the transaction.
//
// The instance's config starts as a copy of the package's own `config/` (what `haraka -i` lays
// down: Haraka needs connection.ini and the rest); a one-line local plugin answers the
// lookup_rdns hook so Haraka never asks the system's resolver for the client's PTR, and
// smtp.ini's public_ip keeps it from discovering one over the network: all traffic stays on
// 127.0.0.x.
import { type ChildProcess, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface HarakaOptions {
  /** Where Haraka listens (127.0.0.1). */
  readonly port: number;
  /** The recipient domain routed to the receiver. */
  readonly domain: string;
  readonly receiverHost: string;
  readonly receiverPort: number;
  /**
   * Start with outbound delivery off (outbound.ini `disabled`): relayed mail is queued, and
   * waits (each message polls every second) until `restartWithOutbound`.
   */
  readonly outboundDisabled?: boolean;
}

export interface RunningHaraka {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly dir: string;
  /**
   * Stops this process, turns outbound delivery on and starts Haraka again on the same queue
   * directory: the new process loads every queued message at start and delivers them all at once.
   * (Turning it on in the running process instead, which Haraka allows, lets each message go at
   * its next one-second poll: a drain then takes about a second whatever Haraka could do.)
   */
  restartWithOutbound(): Promise<RunningHaraka>;
  stop(): Promise<void>;
}

/** Haraka's defaults (concurrency_max 100), TLS off as the receiver offers none anyway. */
const OUTBOUND_INI = 'enable_tls=false\n';

/** The path of Haraka's `bin/haraka`, or null when the package is not installed. */
export function harakaBin(): string | null {
  try {
    const require = createRequire(import.meta.url);
    return join(dirname(require.resolve('Haraka/package.json')), 'bin', 'haraka');
  } catch {
    return null;
  }
}

export async function startHaraka(
  bin: string,
  options: HarakaOptions,
  nodeFlags: readonly string[] = [],
): Promise<RunningHaraka> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-haraka-'));
  const config = join(dir, 'config');
  await cp(join(dirname(dirname(bin)), 'config'), config, { recursive: true });
  await mkdir(join(dir, 'queue'), { recursive: true });
  await mkdir(join(dir, 'plugins'), { recursive: true });
  await writeFile(
    join(dir, 'plugins', 'bench_rdns.js'),
    "exports.hook_lookup_rdns = (next) => next(OK, 'client.bench.test')\n",
  );
  const files: Record<string, string> = {
    me: 'haraka.bench.test',
    plugins: 'bench_rdns\nrelay\nqueue/smtp_forward\n',
    'smtp.ini': `listen=127.0.0.1:${options.port}\npublic_ip=127.0.0.1\nnodes=0\nforce_shutdown_timeout=2\n`,
    // BENCH_HARAKA_LOG=info (and its lines on stdout) to see what Haraka does.
    'log.ini': `[main]\nlevel=${process.env.BENCH_HARAKA_LOG ?? 'warn'}\ntimestamps=false\n`,
    'relay.ini': '[relay]\nacl=true\nforce_routing=false\nall=false\ndest_domains=false\n',
    relay_acl_allow: '127.0.0.0/8\n',
    'smtp_forward.ini':
      `[main]\nhost=${options.receiverHost}\nport=${options.receiverPort}\nenable_outbound=false\n` +
      `enable_tls=false\n\n[${options.domain}]\nhost=${options.receiverHost}\nport=${options.receiverPort}\n`,
    'outbound.ini': `${OUTBOUND_INI}${options.outboundDisabled === true ? 'disabled=true\n' : ''}`,
  };
  for (const [name, text] of Object.entries(files)) await writeFile(join(config, name), text);
  return launch(bin, dir, nodeFlags);
}

/** Haraka on the instance in `dir`. */
function launch(bin: string, dir: string, nodeFlags: readonly string[]): RunningHaraka {
  const child = spawn(process.execPath, [...nodeFlags, bin, '-c', dir], {
    cwd: dir,
    env: { ...process.env, HARAKA: dir },
    stdio: ['ignore', process.env.BENCH_HARAKA_LOG === undefined ? 'ignore' : 'inherit', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 20_000) stderr += chunk.toString('utf8');
  });
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal === null && stderr !== '')
      process.stderr.write(`haraka exited ${code}: ${stderr.slice(-2_000)}\n`);
  });
  return {
    process: child,
    pid: child.pid ?? 0,
    dir,
    async restartWithOutbound() {
      await stopChild(child);
      await writeFile(join(dir, 'config', 'outbound.ini'), OUTBOUND_INI);
      return launch(bin, dir, nodeFlags);
    },
    async stop() {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** SIGTERM, then SIGKILL after 3 s; resolves once the process has exited. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}
