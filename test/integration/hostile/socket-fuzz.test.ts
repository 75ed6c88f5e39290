// A seeded, bounded fuzz run over real sockets: valid sessions, mutated, against a live gateway.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Random, testSeed, withSeed } from '../../helpers/faults/seed.ts';
import {
  destroyAllClients,
  inTransaction,
  SmtpClient,
  sendData,
} from '../../helpers/smtp-client.ts';
import { startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';
import { waitUntil } from '../../helpers/wait.ts';

const SESSIONS = 300;
const CONCURRENCY = 25;
/** The whole run stops starting sessions after this, whatever is left. */
const RUN_LIMIT_MS = 30_000;
/** How long a session waits for the gateway to close after its last write. */
const LINGER_MS = 800;

const uncaught: unknown[] = [];
const onUncaught = (error: unknown): void => {
  uncaught.push(error);
};
beforeAll(() => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
});
afterAll(() => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
});
afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
});

type Mutation =
  | 'drop'
  | 'duplicate'
  | 'swap'
  | 'flip'
  | 'smuggle'
  | 'huge-line'
  | 'garbage'
  | 'bare-endings'
  | 'burst'
  | 'early-talk'
  | 'abrupt-close';

const MUTATIONS: readonly Mutation[] = [
  'drop',
  'duplicate',
  'swap',
  'flip',
  'smuggle',
  'huge-line',
  'garbage',
  'bare-endings',
  'burst',
  'early-talk',
  'abrupt-close',
];

/** End-of-data look-alikes that other servers took for the end (SMTP smuggling, CVE-2023-51764). */
const SMUGGLING = ['\n.\n', '\r\n.\n', '\n.\r\n', '\r.\r\n', '\r\n.\r', '\n..\n'];

interface Plan {
  readonly n: number;
  readonly units: Buffer[];
  readonly mutations: readonly Mutation[];
  /** Write boundaries, as byte offsets into the whole stream. */
  readonly splits: readonly number[];
  /** Close abruptly after this many writes (abrupt-close), else -1. */
  readonly closeAfter: number;
}

/** A valid session: EHLO, a DATA transaction, a BDAT transaction, QUIT; one unit per line or chunk. */
function validSession(n: number, random: Random): Buffer[] {
  const line = (text: string): Buffer => Buffer.from(`${text}\r\n`, 'latin1');
  const body = Array.from({ length: random.int(1, 6) }, (_, i) =>
    line(i % 3 === 2 ? `.dotted line ${i}` : `line ${i} of message ${n}`),
  );
  const bdat = Buffer.from(`chunk of ${n}\r\n.\r\n\n.\n`);
  return [
    line(`EHLO fuzz${n}.client.test`),
    line(`MAIL FROM:<s${n}@client.test>`),
    line(`RCPT TO:<r${n}@mx.test>`),
    line('DATA'),
    line(`Subject: fuzz ${n}`),
    line(''),
    ...body.map((b) => (b[0] === 0x2e ? Buffer.concat([Buffer.from('.'), b]) : b)),
    line('.'),
    line(`MAIL FROM:<t${n}@client.test>`),
    line(`RCPT TO:<r${n}@mx.test>`),
    Buffer.concat([line(`BDAT ${bdat.length} LAST`), bdat]),
    line('QUIT'),
  ];
}

function mutate(n: number, units: Buffer[], random: Random): Mutation[] {
  const applied: Mutation[] = [];
  const count = random.chance(0.15) ? 0 : random.int(1, 3);
  for (let k = 0; k < count; k++) {
    const mutation = random.pick(MUTATIONS);
    applied.push(mutation);
    const at = random.int(0, units.length - 1);
    switch (mutation) {
      case 'drop':
        units.splice(at, 1);
        break;
      case 'duplicate':
        units.splice(at, 0, units[at]!);
        break;
      case 'swap':
        if (at + 1 < units.length) [units[at], units[at + 1]] = [units[at + 1]!, units[at]!];
        break;
      case 'flip': {
        const unit = Buffer.from(units[at]!);
        if (unit.length > 0) unit[random.int(0, unit.length - 1)]! ^= 1 << random.int(0, 7);
        units[at] = unit;
        break;
      }
      case 'smuggle': {
        // After the message's first line: a fake end, then a whole smuggled transaction.
        const bodyAt = units.findIndex((u) => u.toString('latin1').startsWith('Subject:'));
        const fake = `${random.pick(SMUGGLING)}MAIL FROM:<evil${n}@smuggle.test>\r\nRCPT TO:<victim@mx.test>\r\nDATA\r\nSmuggled\r\n`;
        units.splice(bodyAt + 1, 0, Buffer.from(fake, 'latin1'));
        break;
      }
      case 'huge-line':
        units.splice(at, 0, Buffer.from(`NOOP ${'h'.repeat(random.int(600, 20_000))}\r\n`));
        break;
      case 'garbage':
        units.splice(
          at,
          0,
          Buffer.from(Array.from({ length: random.int(1, 64) }, () => random.int(0, 255))),
        );
        break;
      case 'bare-endings':
        units[at] = Buffer.from(
          units[at]!.toString('latin1').replace(/\r\n/g, random.pick(['\n', '\r', '\r\r\n'])),
          'latin1',
        );
        break;
      case 'burst':
      case 'early-talk':
      case 'abrupt-close':
        break;
    }
  }
  return applied;
}

function planSession(n: number, random: Random): Plan {
  const units = validSession(n, random);
  const mutations = mutate(n, units, random);
  const total = units.reduce((sum, u) => sum + u.length, 0);
  const writes = mutations.includes('burst') ? 1 : random.int(1, 24);
  const splits = [...new Set(Array.from({ length: writes - 1 }, () => random.int(1, total - 1)))];
  splits.sort((a, b) => a - b);
  return {
    n,
    units,
    mutations,
    splits,
    closeAfter: mutations.includes('abrupt-close') ? random.int(0, splits.length) : -1,
  };
}

/** Reply lines only, as RFC 5321 §4.2 defines them; a cut-off last line is allowed. */
const REPLIES = /^(?:\d{3}[ -][\t\x20-\x7e]*\r\n)*(?:\d{0,3}[ -]?[\t\x20-\x7e]*)$/;

/** Runs one planned session; returns what the gateway sent. */
async function runSession(port: number, plan: Plan, random: Random): Promise<string> {
  const client = await SmtpClient.connect(port);
  let received = '';
  client.socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
  });
  try {
    if (!plan.mutations.includes('early-talk')) await client.readReply(5_000).catch(() => {});
    const stream = Buffer.concat(plan.units);
    const bounds = [0, ...plan.splits, stream.length];
    for (let i = 0; i + 1 < bounds.length; i++) {
      if (i === plan.closeAfter || client.closed) break;
      await client.send(stream.subarray(bounds[i], bounds[i + 1])).catch(() => {});
      if (random.chance(0.3)) await new Promise((resolve) => setTimeout(resolve, random.int(0, 4)));
    }
    if (plan.closeAfter === -1) await client.readUntilClosed(LINGER_MS).catch(() => '');
  } finally {
    client.destroy();
  }
  return received;
}

describe('socket-level fuzzing', () => {
  it(`survives ${SESSIONS} random and mutated sessions and then serves a normal transaction`, async () => {
    const seed = testSeed();
    await withSeed(seed, async () => {
      const random = new Random(seed);
      const gw = await startGateway({ idleTimeoutMs: 1_000, dataTimeoutMs: 1_000 });
      const plans = Array.from({ length: SESSIONS }, (_, n) => planSession(n, random));
      const started = performance.now();
      let next = 0;
      const badOutput: string[] = [];
      const worker = async (w: number): Promise<void> => {
        const own = new Random(seed + w + 1);
        while (next < plans.length && performance.now() - started < RUN_LIMIT_MS) {
          const plan = plans[next++]!;
          const output = await runSession(gw.port, plan, own);
          if (!REPLIES.test(output))
            badOutput.push(`session ${plan.n} (${plan.mutations}): ${JSON.stringify(output)}`);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
      expect(next, 'sessions run within the time limit').toBe(SESSIONS);
      expect(badOutput).toEqual([]);
      // Not vacuous: most sessions still got messages through.
      expect(gw.messages.length).toBeGreaterThan(SESSIONS / 2);

      // The fake ends never ended a message: no transaction came from the smuggled commands of a
      // session whose only mutation was the smuggling (with others, the DATA line itself may be gone).
      const smugglers = plans.filter((p) => p.mutations.join() === 'smuggle').map((p) => p.n);
      expect(smugglers.length).toBeGreaterThan(0);
      for (const message of gw.messages) {
        const from = message.call.envelope.mailFrom?.address ?? '';
        const n = /^evil(\d+)@/.exec(from)?.[1];
        if (n !== undefined) expect(smugglers).not.toContain(Number(n));
      }
      // Sessions without mutations delivered both their messages, each once. A message is known by
      // its EHLO name, sender and recipient together: a bit flipped in another session's RCPT
      // (r44 → r46) can name this session's recipient, but not all three.
      const clean = plans.filter((p) => p.mutations.length === 0).map((p) => p.n);
      for (const n of clean) {
        const mine = gw.messages.filter(
          (m) =>
            m.call.session.helo === `fuzz${n}.client.test` &&
            m.call.envelope.rcptTo[0]?.address === `r${n}@mx.test`,
        );
        const senders = mine.map((m) => m.call.envelope.mailFrom?.address);
        expect(senders, `clean session ${n}`).toEqual([`s${n}@client.test`, `t${n}@client.test`]);
      }

      await waitUntil(() => gw.gateway.sessionCount === 0, 'every fuzzed session to end');
      expect(gw.gateway.bytesInFlight).toBe(0);
      const client = await inTransaction(gw.port);
      const reply = await sendData(client, 'Subject: after the fuzz\r\n\r\nstill fine\r\n');
      expect(reply.raw).toBe('250 2.0.0 Message accepted\r\n');
      expect(gw.messages.at(-1)!.body.toString()).toBe(
        'Subject: after the fuzz\r\n\r\nstill fine\r\n',
      );
      expect(uncaught).toEqual([]);
    });
  });
});
