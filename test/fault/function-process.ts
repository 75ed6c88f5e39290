// A function server run as its own process, so fault tests can SIGKILL it and start it again.
//
// It verifies nothing. For every data call it reports on stdout, one JSON line each, the message's
// Message-ID and the call's `id`: `received` once the request is in, `accepted` right before the
// accepting answer is written (so a client can only ever see 250 for a message reported here),
// `aborted` when the gateway hangs up first. stdout is a pipe, written synchronously, so a line is
// out before anything that follows it, even when the process is killed right after.
//
// How it answers a data call: the message's `X-Fault:` header if it has one, else the current mode:
//   normal  accept at once          slow  accept after FAULT_SLOW_MS (e.g. 200-800, seeded)
//   hang    never answer            die   SIGKILL itself once the call is in
// stdin takes `mode <mode>` (changes the mode) and `ping <n>` (answered by a `pong` line, so the
// test knows every earlier line has been read). Other steps are accepted at once.
import { writeSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';

type Mode = 'normal' | 'slow' | 'hang' | 'die';
const MODES: readonly string[] = ['normal', 'slow', 'hang', 'die'];

let mode = parseMode(process.env.FAULT_MODE ?? 'normal');
const [slowMinMs, slowMaxMs] = (process.env.FAULT_SLOW_MS ?? '200-800').split('-').map(Number);
let seed = Number(process.env.FAULT_SEED ?? '1') >>> 0;

const ACCEPT = Buffer.from('{"action":"accept"}');

function parseMode(text: string): Mode {
  if (!MODES.includes(text)) throw new Error(`unknown mode ${text}`);
  return text as Mode;
}

/** mulberry32: a small seeded generator, so a failing run's delays can be replayed. */
function random(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function report(event: Record<string, unknown>): void {
  writeSync(1, `${JSON.stringify(event)}\n`);
}

function answer(response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': ACCEPT.length });
  response.end(ACCEPT);
}

/** The message's Message-ID and X-Fault headers, from the raw message the data call carries. */
function headersOf(body: Buffer): { call: string; messageId: string; fault: Mode | null } {
  const request = JSON.parse(body.toString('utf8')) as {
    id: string;
    message: { raw?: string };
  };
  const raw = Buffer.from(request.message.raw ?? '', 'base64').toString('latin1');
  const headerEnd = raw.indexOf('\r\n\r\n');
  const head = headerEnd === -1 ? raw : raw.slice(0, headerEnd);
  const messageId = /^Message-ID:\s*<([^>\r\n]+)>/im.exec(head)?.[1] ?? '(none)';
  const fault = /^X-Fault:\s*(\w+)/im.exec(head)?.[1];
  return { call: request.id, messageId, fault: fault === undefined ? null : parseMode(fault) };
}

function onData(request: IncomingMessage, response: ServerResponse, body: Buffer): void {
  const { call, messageId, fault } = headersOf(body);
  const behaviour = fault ?? mode;
  report({ e: 'received', id: messageId, call });
  let answered = false;
  response.once('close', () => {
    if (!answered) report({ e: 'aborted', id: messageId, call });
  });
  const accept = (): void => {
    if (response.destroyed || request.socket.destroyed) return;
    answered = true;
    report({ e: 'accepted', id: messageId, call });
    answer(response);
  };
  switch (behaviour) {
    case 'normal':
      accept();
      break;
    case 'slow':
      setTimeout(accept, slowMinMs! + random() * (slowMaxMs! - slowMinMs!));
      break;
    case 'hang':
      break;
    case 'die':
      process.kill(process.pid, 'SIGKILL');
      break;
  }
}

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    if (request.url?.endsWith('/data')) onData(request, response, Buffer.concat(chunks));
    else answer(response);
  });
});

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, argument = ''] = line.trim().split(/\s+/);
  if (command === 'mode') mode = parseMode(argument);
  if (command === 'ping') report({ e: 'pong', n: Number(argument) });
});
// The test going away (its end of stdin closing) ends this process too.
process.stdin.on('end', () => process.exit(0));

server.listen(Number(process.env.FAULT_PORT ?? '0'), '127.0.0.1', () => {
  report({ e: 'listening', port: (server.address() as AddressInfo).port, pid: process.pid });
});
