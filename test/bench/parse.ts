// `npm run bench:parse`: three large HTML mails at once with the default payload (`both`), while a
// bystander session sends NOOPs: the gateway's peak RSS over its baseline, and the slowest NOOP.
//
//   npm run bench:parse                    three 9.3 MiB HTML mails (the figures the README reports)
//   npm run bench:parse -- --mails=1 --mib=4 --payload=raw
//
// The gateway runs in its own process, composed as `mxhook serve` composes it (see target.ts), with
// the Node flags it ships with; the function is function-server.ts. Everything is on 127.0.0.1.
import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { GATEWAY_NODE_FLAGS } from '../../gateway/node-flags.ts';
import { dotStuff } from '../helpers/dot-stuff.ts';
import { MAIL_FROM, RCPT_TO } from './constants.ts';
import { Child } from './ipc.ts';
import { ClientConnection } from './smtp-connection.ts';
import type { TargetSpec, TargetUsage } from './target.ts';

const MIB = 1024 * 1024;
/** A NOOP every this often while the mails are in flight. */
const NOOP_INTERVAL_MS = 10;
/** NOOPs one bystander session sends, well under the gateway's junk-command limit. */
const NOOPS_PER_SESSION = 50;

const { values: flags } = parseArgs({
  options: {
    mails: { type: 'string', default: '3' },
    mib: { type: 'string', default: '9.3' },
    payload: { type: 'string', default: 'both' },
  },
});
const mails = Math.max(1, Number.parseInt(flags.mails, 10) || 3);
const messageBytes = Math.round(Number.parseFloat(flags.mib) * MIB);
const payload = flags.payload as 'raw' | 'parsed' | 'both';

/**
 * An HTML-only mail of about `sizeBytes` (a newsletter: nested tables, styled paragraphs, links, a
 * few typographic characters outside Latin-1), base64-encoded as large generated HTML usually is.
 * With no text/plain part, the parser makes `text` from the HTML.
 */
function htmlMail(sizeBytes: number, index: number): Buffer {
  const header = [
    `From: Newsletter <${MAIL_FROM}>`,
    `To: <${RCPT_TO}>`,
    `Subject: Weekly digest ${index}`,
    'Date: Thu, 01 Jan 2026 00:00:00 +0000',
    `Message-ID: <digest-${index}@client.bench.test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    '',
  ].join('\r\n');
  const htmlBytes = Math.floor(((sizeBytes - header.length) * 57) / 78);
  const parts: string[] = ['<!doctype html><html><body><table width="100%">'];
  let length = parts[0]!.length;
  for (let row = 0; length < htmlBytes; row++) {
    const item =
      `<tr><td style="padding:8px;font-family:Arial"><table><tr><td><h3>Story ${row} — ` +
      `${randomBytes(6).toString('hex')}</h3><p>It’s the <b>quick</b> brown fox, jumping over ` +
      `the <i>lazy</i> dog; <a href="https://example.com/${row}">read more</a>.</p></td></tr>` +
      '</table></td></tr>\n';
    parts.push(item);
    length += Buffer.byteLength(item);
  }
  parts.push('</table></body></html>\n');
  const base64 = Buffer.from(parts.join(''), 'utf8').toString('base64');
  const lines: string[] = [];
  for (let at = 0; at < base64.length; at += 76) lines.push(base64.slice(at, at + 76));
  return Buffer.from(`${header}${lines.join('\r\n')}\r\n`, 'latin1');
}

async function session(port: number): Promise<ClientConnection> {
  const client = await ClientConnection.open(port);
  await client.expect(220, 'banner');
  client.write('EHLO client.bench.test\r\n');
  await client.expect(250, 'EHLO');
  return client;
}

/** The bytes to send after 354, made before anything is timed. */
function wire(message: Buffer): Buffer {
  return Buffer.concat([dotStuff(message), Buffer.from('.\r\n')]);
}

/** Sends one mail; resolves when its data reply arrives. */
async function send(client: ClientConnection, wireBytes: Buffer): Promise<void> {
  client.write(`MAIL FROM:<${MAIL_FROM}>\r\nRCPT TO:<${RCPT_TO}>\r\nDATA\r\n`);
  await client.expect(250, 'MAIL');
  await client.expect(250, 'RCPT');
  await client.expect(354, 'DATA');
  client.write(wireBytes);
  await client.expect(250, 'data');
}

const secret = randomBytes(30).toString('base64url');
const here = (file: string): string => new URL(file, import.meta.url).pathname;
const fn = new Child<{ port: number }>(here('./function-server.ts'), {
  env: { ...process.env, BENCH_SECRET: secret },
});
let target: Child<{ port: number }> | null = null;
try {
  const { port: functionPort } = await fn.ready;
  const spec: TargetSpec = {
    kind: 'mxhook',
    payload,
    functionUrl: `http://127.0.0.1:${functionPort}/`,
    secret,
    maxMessageBytes: messageBytes + 4 * MIB,
    maxConnections: 100,
    logLevel: 'warn',
    steps: 'data',
    logFile: null,
    // No mail authentication: parsing alone is measured.
    authChecks: 'none',
    dnsServers: '',
  };
  target = new Child<{ port: number }>(here('./target.ts'), {
    args: [JSON.stringify(spec)],
    execArgv: ['--expose-gc', ...GATEWAY_NODE_FLAGS],
  });
  const { port } = await target.ready;
  const messages = Array.from({ length: mails }, (_, i) => htmlMail(messageBytes, i));
  const wires = messages.map(wire);

  // Warm-up: one small HTML mail, so the code is loaded and a parse worker is running.
  const warm = await session(port);
  await send(warm, wire(htmlMail(64 * 1024, 99)));
  warm.destroy();

  const bystander = await session(port);
  const before = await target.request<TargetUsage>('gc');
  const senders = await Promise.all(messages.map(() => session(port)));
  const started = performance.now();
  let sending = true;
  const all = Promise.all(senders.map((client, i) => send(client, wires[i]!))).finally(() => {
    sending = false;
  });
  const noopMs: number[] = [];
  const bystanders = [bystander];
  while (sending) {
    // A session may send only so many NOOPs (the junk-command limit); a new one takes over in time.
    if (noopMs.length % NOOPS_PER_SESSION === NOOPS_PER_SESSION - 1)
      bystanders.push(await session(port));
    const current = bystanders.at(-1)!;
    const sent = performance.now();
    current.write('NOOP\r\n');
    await current.expect(250, 'NOOP');
    noopMs.push(performance.now() - sent);
    await new Promise((resolve) => setTimeout(resolve, NOOP_INTERVAL_MS));
  }
  await all;
  const elapsedMs = performance.now() - started;
  const after = await target.request<TargetUsage>('usage');
  for (const client of [...bystanders, ...senders]) client.destroy();

  const totalBytes = messages.reduce((sum, message) => sum + message.length, 0);
  const peakOverBaseline = after.maxRssBytes - before.rssBytes;
  const mib = (bytes: number): string => (bytes / MIB).toFixed(1);
  const sorted = [...noopMs].sort((a, b) => a - b);
  console.log(
    [
      `${mails} × ${mib(messages[0]!.length)} MiB HTML mails at once (MXHOOK_PAYLOAD=${payload}), all answered 250 in ${elapsedMs.toFixed(0)} ms`,
      `baseline RSS ${mib(before.rssBytes)} MiB, peak RSS ${mib(after.maxRssBytes)} MiB` +
        (before.maxRssBytes >= after.maxRssBytes
          ? ' (the peak was before the mails: unknown)'
          : ''),
      `peak over baseline ${mib(peakOverBaseline)} MiB = ${(peakOverBaseline / totalBytes).toFixed(2)} × their total size (target ≤ 3)`,
      `bystander NOOPs ${noopMs.length}: median ${sorted[sorted.length >> 1]?.toFixed(1)} ms, slowest ${sorted.at(-1)?.toFixed(1)} ms (target ≤ 50)`,
      `gateway event loop: longest delay ${after.loopDelayMaxMs.toFixed(1)} ms (the NOOPs also wait for CPU: machine load average ${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} CPUs)`,
      `gateway CPU ${((after.cpuUs - before.cpuUs) / 1000).toFixed(0)} ms`,
    ].join('\n'),
  );
} finally {
  await target?.stop();
  await fn.stop();
}
