// Summarises V8 .cpuprofile files (`npm run bench -- --profile`): where a target's main thread spent
// its CPU time, by area (SMTP core, connection and sockets, bridge, logging, metrics, GC …) and by
// function.
//
//   npx node test/bench/profile-summary.ts bench-profiles/CPU.*.cpuprofile [--top=30]
//       [--callers=writeUtf8String,writev]   who calls these functions (nearest caller of ours)
//       [--inclusive=callFunction,LOG]        time in these functions and all they called
//
// Two views of the same samples. "Self": each sample goes to the area of the function it was in.
// "Attributed": a sample in Node's or V8's own code (Buffer, streams, timers, promises, (program)
// …) goes to the nearest caller that is not, so `Buffer.concat` called by the DATA decoder counts
// as SMTP core; what has no such caller (socket reads, the event loop) stays with Node.
// GC and idle time have no caller; idle is left out of the percentages (it is not CPU time).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Areas, tested in order against a frame's URL (or its name, for V8's pseudo-frames). */
const AREAS: readonly (readonly [string, (frame: CallFrame) => boolean])[] = [
  ['GC', (f) => f.functionName === '(garbage collector)'],
  ['idle', (f) => f.functionName === '(idle)'],
  ['(program)', (f) => f.functionName === '(program)' || f.functionName === '(root)'],
  ['SMTP core (gateway/smtp)', (f) => f.url.includes('/gateway/smtp/')],
  [
    'connection/socket (gateway/server)',
    (f) =>
      /\/gateway\/server\/(connection|gateway|intake|client-deadline|session-id)\.ts/.test(f.url),
  ],
  [
    'hook call (run-hook, handler)',
    (f) => /\/gateway\/server\/run-hook\.ts|\/gateway\/handler\.ts/.test(f.url),
  ],
  [
    'logging (pino, logger.ts)',
    (f) =>
      /\/node_modules\/(pino|sonic-boom|pino-std-serializers|@pinojs|quick-format|fast-redact|safe-stable-stringify|on-exit-leak-free|thread-stream)/.test(
        f.url,
      ) || f.url.includes('/gateway/server/logger.ts'),
  ],
  [
    'metrics (prom-client, observer)',
    (f) =>
      f.url.includes('/node_modules/prom-client/') ||
      f.url.includes('/gateway/metrics/') ||
      f.url.includes('/gateway/server/observer.ts'),
  ],
  ['bridge (gateway/bridge)', (f) => f.url.includes('/gateway/bridge/')],
  ['undici', (f) => f.url.includes('/node_modules/undici/')],
  [
    'admission/memory budget',
    (f) => /\/gateway\/server\/(admission|memory-budget|rate-limiter)\.ts/.test(f.url),
  ],
  ['outbound (gateway/outbound)', (f) => f.url.includes('/gateway/outbound/')],
  ['other gateway', (f) => f.url.includes('/gateway/')],
  ['smtp-server (peer)', (f) => f.url.includes('/node_modules/smtp-server/')],
  ['peer.ts', (f) => f.url.includes('/test/bench/peer.ts')],
  ['functions/sdk', (f) => f.url.includes('/functions/')],
  ['nodemailer (SMTP client)', (f) => f.url.includes('/node_modules/nodemailer/')],
  ['other npm', (f) => f.url.includes('/node_modules/')],
  ['bench harness', (f) => f.url.includes('/test/bench/')],
  ['node:crypto', (f) => /^node:(internal\/)?crypto/.test(f.url)],
  [
    'node:net/stream',
    (f) =>
      /^node:(internal\/)?(net|stream|streams|stream_base_commons)/.test(f.url) ||
      f.url.startsWith('node:internal/streams'),
  ],
  ['node:timers', (f) => /^node:(internal\/)?timers/.test(f.url)],
  ['node internals', (f) => f.url.startsWith('node:')],
  ['native (V8 builtins)', () => true],
];

/** Frames of Node or V8 themselves, whose time "attributed" gives to their caller. */
function isPlatform(frame: CallFrame): boolean {
  if (frame.functionName === '(garbage collector)' || frame.functionName === '(idle)') return false;
  return frame.url === '' || frame.url.startsWith('node:');
}

function areaOf(frame: CallFrame): string {
  for (const [name, test] of AREAS) if (test(frame)) return name;
  return 'native (V8 builtins)';
}

function shortUrl(url: string): string {
  const at = url.search(/\/(gateway|functions|test|node_modules)\//);
  return at === -1 ? url : url.slice(at + 1).replace(/^node_modules\//, '');
}

function summarise(path: string, top: number): void {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  // Time per sample: the gap to the next one (the last gets the mean).
  const microsById = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  const mean = (profile.endTime - profile.startTime) / Math.max(samples.length, 1);
  for (let i = 0; i < samples.length; i++) {
    const micros = i + 1 < timeDeltas.length ? timeDeltas[i + 1]! : mean;
    microsById.set(samples[i]!, (microsById.get(samples[i]!) ?? 0) + Math.max(0, micros));
  }

  const self = new Map<string, number>();
  const attributed = new Map<string, number>();
  const functions = new Map<string, { micros: number; area: string }>();
  const owners = new Map<string, { micros: number; area: string }>();
  let busy = 0;
  let idle = 0;
  for (const [id, micros] of microsById) {
    const frame = byId.get(id)!.callFrame;
    const area = areaOf(frame);
    if (area === 'idle') {
      idle += micros;
      continue;
    }
    busy += micros;
    self.set(area, (self.get(area) ?? 0) + micros);
    let owner = id;
    while (isPlatform(byId.get(owner)!.callFrame) && parent.has(owner)) {
      const up = parent.get(owner)!;
      const upFrame = byId.get(up)!.callFrame;
      if (upFrame.functionName === '(root)') break;
      owner = up;
    }
    const ownerFrame = byId.get(owner)!.callFrame;
    const ownerArea = isPlatform(ownerFrame) ? `${area} (no caller of ours)` : areaOf(ownerFrame);
    attributed.set(ownerArea, (attributed.get(ownerArea) ?? 0) + micros);
    const name = `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    const entry = functions.get(name) ?? { micros: 0, area };
    entry.micros += micros;
    functions.set(name, entry);
    const ownerName = `${ownerFrame.functionName || '(anonymous)'} ${shortUrl(ownerFrame.url)}${ownerFrame.url ? `:${ownerFrame.lineNumber + 1}` : ''}`;
    const owned = owners.get(ownerName) ?? { micros: 0, area: ownerArea };
    owned.micros += micros;
    owners.set(ownerName, owned);
  }

  const pct = (micros: number): string => `${((micros / busy) * 100).toFixed(1).padStart(5)} %`;
  const table = (title: string, map: Map<string, number>): void => {
    console.log(`  ${title}`);
    for (const [name, micros] of [...map].sort((a, b) => b[1] - a[1]))
      console.log(`    ${pct(micros)}  ${name}`);
  };
  console.log(
    `${basename(path)}: ${(busy / 1000).toFixed(0)} ms on the main thread (${(idle / 1000).toFixed(0)} ms idle, left out)`,
  );
  table('self time by area', self);
  table('attributed to the nearest caller of ours', attributed);
  console.log(`  top ${top} functions by self time`);
  for (const [name, { micros, area }] of [...functions]
    .sort((a, b) => b[1].micros - a[1].micros)
    .slice(0, top))
    console.log(`    ${pct(micros)}  ${name}  [${area}]`);
  console.log(`  top ${top} functions by attributed time (self + Node/V8 code they called)`);
  for (const [name, { micros, area }] of [...owners]
    .sort((a, b) => b[1].micros - a[1].micros)
    .slice(0, top))
    console.log(`    ${pct(micros)}  ${name}  [${area}]`);
  if (inclusiveOf.length > 0) console.log('  inclusive time (the function or anything it called)');
  for (const wanted of inclusiveOf) {
    let total = 0;
    for (const [id, micros] of microsById) {
      for (let up: number | undefined = id; up !== undefined; up = parent.get(up)) {
        if (byId.get(up)!.callFrame.functionName === wanted) {
          total += micros;
          break;
        }
      }
    }
    console.log(`    ${pct(total)}  ${wanted}`);
  }
  for (const wanted of callersOf) {
    const callers = new Map<string, number>();
    let total = 0;
    for (const [id, micros] of microsById) {
      if (byId.get(id)!.callFrame.functionName !== wanted) continue;
      total += micros;
      // The first caller of ours, with the platform frames in between.
      const chain: string[] = [];
      let up = parent.get(id);
      while (up !== undefined) {
        const frame = byId.get(up)!.callFrame;
        chain.push(frame.functionName || '(anonymous)');
        if (!isPlatform(frame) || frame.functionName === '(root)') {
          chain[chain.length - 1] =
            `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
          break;
        }
        up = parent.get(up);
      }
      const key = chain.slice(-4).join(' < ');
      callers.set(key, (callers.get(key) ?? 0) + micros);
    }
    console.log(`  ${wanted}: ${pct(total)} in all, by caller`);
    for (const [key, micros] of [...callers].sort((a, b) => b[1] - a[1]).slice(0, 8))
      console.log(`    ${pct(micros)}  ${key}`);
  }
  console.log('');
}

const { values, positionals } = parseArgs({
  options: {
    top: { type: 'string', default: '30' },
    callers: { type: 'string' },
    inclusive: { type: 'string' },
  },
  allowPositionals: true,
});
const callersOf = values.callers?.split(',') ?? [];
const inclusiveOf = values.inclusive?.split(',') ?? [];
for (const path of positionals) summarise(path, Number.parseInt(values.top, 10) || 30);
