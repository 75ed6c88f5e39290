// A benchmark target in its own process (so its CPU time and memory are its alone): mxhook or the peer.
// Started by the runner with a JSON spec as argv[2]; answers `usage`, `gc` and `stop` over IPC.
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pino from 'pino';
import { loadConfig } from '../../gateway/config/index.ts';
import { createMetrics } from '../../gateway/metrics/index.ts';
import { serve } from '../../gateway/serve.ts';
import { BENCH_HOSTNAME } from './constants.ts';
import { announce, answerRequests } from './ipc.ts';
import { startPeer } from './peer.ts';

export type TargetSpec =
  | {
      readonly kind: 'mxhook';
      readonly payload: 'raw' | 'parsed' | 'both';
      readonly functionUrl: string;
      readonly secret: string;
      readonly maxMessageBytes: number;
      readonly maxConnections: number;
      /** MXHOOK_LOG_LEVEL; mxhook's default is info. */
      readonly logLevel: string;
      /** MXHOOK_STEPS. */
      readonly steps: string;
      /** Log lines appended to this file instead of stdout (/dev/null in the benchmark). */
      readonly logFile: string | null;
      /** MXHOOK_AUTH_CHECKS: `none` but for mxhook auth, which runs them all. */
      readonly authChecks: string;
      /** MXHOOK_DNS_SERVERS: the bench's loopback DNS server for mxhook auth, else `''`. */
      readonly dnsServers: string;
    }
  | {
      readonly kind: 'peer';
      readonly reverseLookup: boolean;
      readonly functionUrl: string;
      readonly secret: string;
      readonly maxMessageBytes: number;
    };

export interface TargetUsage {
  /** User + system CPU time of this process so far. */
  readonly cpuUs: number;
  /** The system (kernel) part of it: socket reads and writes, mostly. */
  readonly systemCpuUs: number;
  /** The main (JavaScript) thread's part of it; the rest is V8's GC helpers and libuv's pool. */
  readonly mainThreadCpuUs: number;
  readonly rssBytes: number;
  /** Peak RSS of this process's whole life (getrusage ru_maxrss). */
  readonly maxRssBytes: number;
  readonly heapUsedBytes: number;
  /** Memory outside the JS heap that V8 knows of (Buffers, mostly). */
  readonly externalBytes: number;
  /** The event loop's longest delay since the last `gc` request (perf_hooks, 1 ms resolution). */
  readonly loopDelayMaxMs: number;
}

type GcOptions = { type: 'major'; execution: 'sync'; flavor: 'last-resort' };
const collectAllGarbage = (): void =>
  (globalThis.gc as ((options: GcOptions) => void) | undefined)?.({
    type: 'major',
    execution: 'sync',
    flavor: 'last-resort',
  });

const spec = JSON.parse(process.argv[2] ?? '{}') as TargetSpec;
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();

async function start(): Promise<{ port: number; stop: () => Promise<void> }> {
  if (spec.kind === 'peer') {
    const peer = await startPeer(spec);
    return { port: peer.port, stop: () => peer.close() };
  }
  // The production path, as `mxhook serve` composes it (cli.ts: metrics observer, admin HTTP),
  // configured as a user would, at the default log level (JSON lines to stdout, here /dev/null).
  const loaded = loadConfig({
    env: {
      MXHOOK_LISTEN: '127.0.0.1:0',
      MXHOOK_HTTP_LISTEN: '127.0.0.1:0',
      MXHOOK_HOSTNAME: BENCH_HOSTNAME,
      MXHOOK_FUNCTION_URL: spec.functionUrl,
      MXHOOK_SIGNING_SECRET: spec.secret,
      // The peer calls its function once per message, at the end of data; so does mxhook here.
      MXHOOK_STEPS: spec.steps,
      MXHOOK_PAYLOAD: spec.payload,
      MXHOOK_MAX_MESSAGE_SIZE: String(spec.maxMessageBytes),
      MXHOOK_MAX_BYTES_IN_FLIGHT: String(Math.max(256 << 20, spec.maxMessageBytes)),
      MXHOOK_MAX_CONNECTIONS: String(spec.maxConnections),
      MXHOOK_LOG_LEVEL: spec.logLevel,
      // Bench traffic stays on loopback, and the peer checks nothing: no mail authentication,
      // explicitly (the gateway's default is every check), but for mxhook auth (auth.ts).
      MXHOOK_AUTH_CHECKS: spec.authChecks,
      MXHOOK_DNS_SERVERS: spec.dnsServers,
    },
  });
  const metrics = createMetrics();
  const running = await serve(loaded, {
    observer: metrics.observer,
    metrics,
    ...(spec.logFile === null ? {} : { logDestination: pino.destination({ dest: spec.logFile }) }),
  });
  return { port: running.smtpAddresses[0]!.port, stop: () => running.stop() };
}

function usage(): TargetUsage {
  const cpu = process.cpuUsage();
  return {
    cpuUs: cpu.user + cpu.system,
    systemCpuUs: cpu.system,
    mainThreadCpuUs: mainThreadCpuUs(),
    rssBytes: process.memoryUsage.rss(),
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    heapUsedBytes: process.memoryUsage().heapUsed,
    externalBytes: process.memoryUsage().external,
    loopDelayMaxMs: loopDelay.max / 1e6,
  };
}

/** utime + stime of the main thread, from /proc (Linux; NaN elsewhere). */
function mainThreadCpuUs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}
/** USER_HZ: /proc counts CPU time in hundredths of a second on Linux. */
const CLOCK_TICKS_PER_SECOND = 100;

const target = await start();
answerRequests({
  usage,
  /**
   * Collects garbage (the runner starts targets with --expose-gc), then reports usage. V8's
   * last-resort collection also shrinks the young generation back to its initial size and returns
   * free pages: what is left is what the process holds, not how large its heap happened to grow.
   */
  async gc(): Promise<TargetUsage> {
    for (let i = 0; i < 3; i++) {
      collectAllGarbage();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    loopDelay.reset();
    return usage();
  },
  async stop() {
    // Idle benchmark connections may still be open; a target that is stopping need not wait for them.
    setTimeout(() => process.exit(0), 3_000).unref();
    await target.stop();
    setImmediate(() => process.exit(0));
  },
});
announce({ port: target.port, pid: process.pid });
