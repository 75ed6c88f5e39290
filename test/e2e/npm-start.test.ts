// `npm start` smoke test: the Worker and the gateway come up together, the banner's Python line
// delivers a mail that the inbox shows, and SIGINT stops both with exit code 0.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_NODE_FLAGS } from '../../gateway/node-flags.ts';
import { closeAllDnsServers, startDnsServer, type Zone } from '../helpers/dns-server.ts';
import { hasPython } from '../helpers/python-smtp.ts';
import { waitUntil } from '../helpers/wait.ts';
import { getJson } from './helpers/mail.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 20_000;

/**
 * DNS for the banner's test mail (from me@sender.test, sent from 127.0.0.1), served on loopback:
 * mail authentication stays on as `npm start` runs it, and asks only this server.
 */
const SENDER_ZONE: Zone = {
  'sender.test': [
    { type: 'TXT', data: 'v=spf1 ip4:127.0.0.1 -all' },
    { type: 'MX', priority: 10, exchange: 'mx.sender.test' },
  ],
  'mx.sender.test': [{ type: 'A', address: '127.0.0.1' }],
  '1.0.0.127.in-addr.arpa': [{ type: 'PTR', domain: 'client.sender.test' }],
  'client.sender.test': [{ type: 'A', address: '127.0.0.1' }],
};

interface Started {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<number | string>;
}

// What `npm start` runs (package.json "start"), spawned directly so the test signals the very
// process a terminal's Ctrl-C reaches, not npm's shell wrapper. `dnsServer` is the loopback DNS
// server the gateway asks (MXHOOK_DNS_SERVERS): tests never reach the system's resolvers.
function startScript(args: readonly string[], dnsServer: string): Started {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('MXHOOK_')) env[name] = value;
  }
  const child = spawn(process.execPath, [...GATEWAY_NODE_FLAGS, 'gateway/dev/start.ts', ...args], {
    cwd: ROOT,
    env: {
      ...env,
      // Port 0 everywhere, so the test never collides with a developer's own `npm start`.
      MXHOOK_LISTEN: '127.0.0.1:0',
      MXHOOK_HTTP_LISTEN: '127.0.0.1:0',
      MXHOOK_HOSTNAME: 'mx.test',
      MXHOOK_LOG_LEVEL: 'warn',
      MXHOOK_DNS_SERVERS: dnsServer,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
  });
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

function runShell(line: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', line], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** Processes whose command line mentions `text` (Linux /proc; elsewhere none are found). */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return found;
  }
  for (const pid of entries) {
    try {
      const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (commandLine.includes(text)) found.push(`${pid}: ${commandLine}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

let busy: Server;
let busyPort: number;
let persistTo: string;
let started: Started;

describe.skipIf(!hasPython)('npm start', () => {
  beforeAll(async () => {
    persistTo = await mkdtemp(join(tmpdir(), 'mxhook-npm-start-'));
    // Something already listens on the Worker's port, as when another wrangler dev runs.
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    busyPort = (busy.address() as { port: number }).port;
    const dns = await startDnsServer(SENDER_ZONE);
    started = startScript(
      ['--worker-port', String(busyPort), '--persist-to', persistTo],
      dns.server,
    );
    await waitUntil(
      () => started.stdout().includes('Ctrl-C stops both.') || started.child.exitCode !== null,
      'the npm start banner',
      START_TIMEOUT_MS,
    );
    if (started.child.exitCode !== null) {
      throw new Error(`npm start exited early:\n${started.stdout()}\n${started.stderr()}`);
    }
  }, START_TIMEOUT_MS + 10_000);

  afterAll(async () => {
    if (
      started !== undefined &&
      started.child.exitCode === null &&
      started.child.signalCode === null
    ) {
      started.child.kill('SIGKILL');
      await started.exited;
    }
    await new Promise((resolve) => busy?.close(resolve));
    await closeAllDnsServers();
    if (persistTo !== undefined) await rm(persistTo, { recursive: true, force: true });
  }, STOP_TIMEOUT_MS + 10_000);

  it('is what package.json runs', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: { start: string };
    };
    expect(manifest.scripts.start).toBe(
      ['node', ...GATEWAY_NODE_FLAGS, 'gateway/dev/start.ts'].join(' '),
    );
  });

  it('says in one line that the Worker port is taken, and runs the Worker on another', () => {
    const line = started
      .stderr()
      .split('\n')
      .find((text) => text.includes('already in use'));
    expect(line).toMatch(
      new RegExp(
        `^mxhook: 127\\.0\\.0\\.1:${busyPort} is already in use .*runs on 127\\.0\\.0\\.1:\\d+ instead$`,
      ),
    );
  });

  it('delivers the banner’s Python test mail to the inbox, visible in /api/messages', async () => {
    const banner = started.stdout();
    const python = banner.split('\n').find((line) => line.trim().startsWith('python3 -c'));
    const workerUrl = /Then see it at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(banner)?.[1];
    expect(python).toBeDefined();
    expect(workerUrl).toBeDefined();
    expect(workerUrl).not.toContain(`:${busyPort}/`);
    expect(banner).toMatch(/swaks --server 127\.0\.0\.1:\d+ --from \S+ --to you@example\.com/);

    const sent = await runShell(python!.trim());
    expect(sent).toEqual({ code: 0, output: '' });

    const list = await getJson<{ messages: { subject: string; to: string; url: string }[] }>(
      workerUrl!,
      'api/messages',
    );
    expect(list.messages[0]).toMatchObject({ subject: 'Hello from mxhook', to: 'you@example.com' });
    // The gateway's verdicts, checked against the loopback DNS server, are stored with the mail.
    const record = await getJson<{ authentication?: { spf?: { result: string } } }>(
      workerUrl!,
      list.messages[0]!.url,
    );
    expect(record.authentication?.spf?.result).toBe('pass');
  });

  it('serves the admin index the banner points at, and metrics', async () => {
    const adminUrl = /Admin\s+(http:\/\/127\.0\.0\.1:\d+\/)/.exec(started.stdout())?.[1];
    expect(adminUrl).toBeDefined();
    const index = await getJson<{ endpoints: Record<string, string> }>(adminUrl!, '');
    expect(Object.keys(index.endpoints)).toContain('/metrics');
    const metrics = await fetch(new URL('metrics', adminUrl));
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^mxhook_sessions_open \d+$/m);
  });

  it(
    'stops both on SIGINT and exits 0',
    async () => {
      const workerUrl = /Then see it at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(started.stdout())![1]!;
      started.child.kill('SIGINT');
      const code = await Promise.race([
        started.exited,
        new Promise((resolve) => setTimeout(() => resolve('still running'), STOP_TIMEOUT_MS)),
      ]);
      expect(code).toBe(0);
      // wrangler and workerd are gone with it: nothing answers on the Worker's port.
      await expect(fetch(workerUrl, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
      expect(processesMentioning(persistTo)).toEqual([]);
    },
    STOP_TIMEOUT_MS + 5_000,
  );
});

describe('npm start, interrupted while the Worker starts', () => {
  it(
    'stops wrangler and exits 0 on SIGINT before it is ready',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'mxhook-npm-start-'));
      const dns = await startDnsServer();
      const early = startScript(['--worker-port', '0', '--persist-to', dir], dns.server);
      try {
        await waitUntil(
          () =>
            /starting the Worker .* on 127\.0\.0\.1:\d+/.test(early.stderr()) ||
            early.child.exitCode !== null,
          'the starting line',
          START_TIMEOUT_MS,
        );
        const port = /on 127\.0\.0\.1:(\d+)/.exec(early.stderr())?.[1];
        early.child.kill('SIGINT');
        expect(await early.exited).toBe(0);
        expect(early.stderr()).toContain('mxhook: SIGINT received while starting; stopped');
        expect(early.stdout()).not.toContain('Ctrl-C stops both.');
        expect(processesMentioning(dir)).toEqual([]);
        await expect(
          fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2_000) }),
        ).rejects.toThrow();
      } finally {
        if (early.child.exitCode === null && early.child.signalCode === null)
          early.child.kill('SIGKILL');
        await rm(dir, { recursive: true, force: true });
        await dns.close();
      }
    },
    START_TIMEOUT_MS,
  );
});
