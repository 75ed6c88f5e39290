// The parse pool: worker threads that parse messages off the event loop, bounded in queue, time
// and memory, replacing a worker that dies or overruns.
import { createTransport } from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMessage } from '../../../../gateway/bridge/parse-message.ts';
import {
  DEFAULT_PARSE_POOL,
  type ParseOutcome,
  ParsePool,
  type ParsePoolOptions,
} from '../../../../gateway/bridge/parse-pool.ts';

const pools: ParsePool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

/** Records every change to the byte budget. */
function recordingBudget(): { changes: number[]; held: () => number; change(delta: number): void } {
  const changes: number[] = [];
  return {
    changes,
    held: () => changes.reduce((sum, delta) => sum + delta, 0),
    change: (delta) => void changes.push(delta),
  };
}

function pool(options: Partial<ParsePoolOptions> = {}): ParsePool {
  const created = new ParsePool({
    ...DEFAULT_PARSE_POOL,
    workers: 1,
    maxQueued: 64,
    budget: recordingBudget(),
    ...options,
  });
  pools.push(created);
  return created;
}

const MESSAGE = Buffer.from(
  'From: Zoë <zoe@client.test>\r\nTo: b@mx.test\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n' +
    'Content-Type: text/html; charset=utf-8\r\n\r\n<p>Hallo <b>Welt</b> 😀</p>\r\n',
);

function parse(on: ParsePool, message: Buffer, signal = new AbortController().signal) {
  // Two pieces, as a message arrives in several.
  const half = message.length >> 1;
  return on.parse([message.subarray(0, half), message.subarray(half)], message.length, signal);
}

function fixture(name: string): URL {
  return new URL(`./fixtures/${name}`, import.meta.url);
}

function jsonOf(outcome: ParseOutcome): unknown {
  if (!('json' in outcome)) throw new Error(`not parsed: ${JSON.stringify(outcome.error)}`);
  return JSON.parse(Buffer.concat(outcome.json).toString('utf8'));
}

describe('ParsePool', () => {
  it('answers the parsed fields as JSON pieces and releases the budget it charged', async () => {
    const budget = recordingBudget();
    const parser = pool({ budget, costFactor: 8 });
    const parsed = jsonOf(await parse(parser, MESSAGE)) as Record<string, unknown>;
    expect(parsed).toMatchObject({
      from: [{ name: 'Zoë', address: 'zoe@client.test' }],
      subject: 'Grüße',
      html: '<p>Hallo <b>Welt</b> 😀</p>\n',
      text: 'Hallo Welt 😀',
      attachments: [],
    });
    expect(Object.keys(parsed)).toEqual([
      'headers',
      'from',
      'to',
      'cc',
      'replyTo',
      'subject',
      'date',
      'messageId',
      'inReplyTo',
      'text',
      'html',
      'attachments',
    ]);
    expect(budget.changes).toEqual([MESSAGE.length * 8, -MESSAGE.length * 8]);
  });

  it('answers attachments in order, their content base64', async () => {
    const content = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff));
    const attachment = (name: string) =>
      `--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="${name}"\r\n` +
      `Content-Transfer-Encoding: base64\r\n\r\n${content.toString('base64')}\r\n`;
    const message = Buffer.from(
      `Subject: two\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n\r\nhi\r\n` +
        `${attachment('a.bin')}${attachment('b.bin')}--b--\r\n`,
    );
    const { attachments } = jsonOf(await parse(pool(), message)) as {
      attachments: { filename: string; size: number; content: string }[];
    };
    expect(attachments.map(({ filename, size }) => ({ filename, size }))).toEqual([
      { filename: 'a.bin', size: 300 },
      { filename: 'b.bin', size: 300 },
    ]);
    for (const { content: base64 } of attachments)
      expect(Buffer.from(base64, 'base64').equals(content)).toBe(true);
  });

  it('answers exactly the text JSON.stringify makes of the parse', async () => {
    const composer = createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
    const { message } = await composer.sendMail({
      from: 'Zoë <zoe@client.test>',
      to: 'b@mx.test',
      subject: 'Grüße 😀',
      text: `${'long line 😀 '.repeat(10_000)}\n`,
      html: '<p>x</p>',
      attachments: [{ filename: 'a.txt', content: 'é'.repeat(50_000) }],
    });
    const bytes = message as Buffer;
    const outcome = await parse(pool(), bytes);
    if (!('json' in outcome)) throw new Error(JSON.stringify(outcome.error));
    expect(Buffer.concat(outcome.json).toString('utf8')).toBe(
      JSON.stringify(await parseMessage(bytes)),
    );
  });

  it('refuses a message when maxQueued wait already, and parses the ones it took', async () => {
    const parser = pool({ workers: 1, maxQueued: 1, pipelineDepth: 1 });
    const running = parse(parser, MESSAGE);
    const waiting = parse(parser, MESSAGE);
    expect(parser.queued).toBe(1);
    await expect(parse(parser, MESSAGE)).rejects.toMatchObject({ code: 'ERR_PARSE_BUSY' });
    for (const outcome of await Promise.all([running, waiting]))
      expect(jsonOf(outcome)).toMatchObject({ subject: 'Grüße' });
    expect(parser.workerCount).toBe(1);
  });

  it('hands a busy worker the next small messages, answers each its own parse, and keeps large ones waiting', async () => {
    const budget = recordingBudget();
    const parser = pool({ workers: 1, pipelineDepth: 3, budget });
    const subjects = ['one', 'two', 'three', 'four'];
    const parsing = subjects.map((subject) =>
      parse(parser, Buffer.from(`Subject: ${subject}\r\n\r\nbody\r\n`)),
    );
    // The worker holds three; the fourth waits in the pool until one is answered.
    expect(parser.queued).toBe(1);
    expect((await Promise.all(parsing)).map((outcome) => jsonOf(outcome))).toMatchObject(
      subjects.map((subject) => ({ subject })),
    );
    const large = Buffer.from(`Subject: large\r\n\r\n${'x'.repeat(70 * 1024)}\r\n`);
    const both = [parse(parser, large), parse(parser, MESSAGE)];
    expect(parser.queued).toBe(1);
    expect((await Promise.all(both)).map((outcome) => jsonOf(outcome))).toMatchObject([
      { subject: 'large' },
      { subject: 'Grüße' },
    ]);
    expect(budget.held()).toBe(0);
  });

  it('puts the messages waiting in a worker that fails back in the queue, for a new worker', async () => {
    const budget = recordingBudget();
    const parser = pool({ workers: 1, pipelineDepth: 2, budget });
    const first = new AbortController();
    const running = parse(parser, MESSAGE, first.signal);
    const waiting = parse(parser, MESSAGE);
    expect(parser.queued).toBe(0);
    first.abort(new Error('deadline'));
    await expect(running).rejects.toThrow('deadline');
    expect(jsonOf(await waiting)).toMatchObject({ subject: 'Grüße' });
    expect(budget.held()).toBe(0);
  });

  it('starts its workers ahead of the first message when warmed, and parses on them', async () => {
    const parser = pool({ workers: 2 });
    parser.warm();
    expect(parser.workerCount).toBe(2);
    expect(jsonOf(await parse(parser, MESSAGE))).toMatchObject({ subject: 'Grüße' });
    expect(parser.workerCount).toBe(2);
  });

  it('answers too-large without a worker for a message over maxInputBytes', async () => {
    const parser = pool({ maxInputBytes: MESSAGE.length - 1 });
    expect(await parse(parser, MESSAGE)).toEqual({
      error: {
        code: 'too-large',
        message: `${MESSAGE.length} bytes is more than the ${MESSAGE.length - 1} parsed`,
      },
    });
    expect(parser.workerCount).toBe(0);
  });

  it('answers malformed for a message the parser refuses, and keeps the worker', async () => {
    const parts = Array.from({ length: 1_100 }, (_, i) => `--b\r\n\r\npart ${i}\r\n`).join('');
    const message = Buffer.from(
      `Content-Type: multipart/mixed; boundary="b"\r\n\r\n${parts}--b--\r\n`,
    );
    const parser = pool();
    expect(await parse(parser, message)).toEqual({
      error: { code: 'malformed', message: 'Max allowed child nodes exceeded' },
    });
    expect(jsonOf(await parse(parser, MESSAGE))).toMatchObject({ subject: 'Grüße' });
    expect(parser.workerCount).toBe(1);
  });

  it('answers memory when the worker reaches its heap cap, and starts a new worker for the next', async () => {
    const budget = recordingBudget();
    const parser = pool({ heapLimitMiB: 32, budget, workerUrl: fixture('greedy-worker.ts') });
    for (let i = 0; i < 2; i++) {
      expect(await parse(parser, MESSAGE)).toEqual({
        error: { code: 'memory', message: 'parsing needed more than the 32 MiB heap' },
      });
      expect(parser.workerCount).toBe(0);
    }
    expect(budget.held()).toBe(0);
  });

  it('answers malformed when the worker dies of an error, and starts a new worker for the next', async () => {
    const parser = pool({ workerUrl: fixture('crashing-worker.ts') });
    for (let i = 0; i < 2; i++) {
      expect(await parse(parser, MESSAGE)).toEqual({
        error: { code: 'malformed', message: 'worker bug' },
      });
      expect(parser.workerCount).toBe(0);
    }
  });

  it('answers timeout past the time limit and terminates that worker', async () => {
    // Starting a worker alone takes far more than 1 ms, so this parse cannot finish in time.
    const parser = pool({ timeLimitMs: 1 });
    expect(await parse(parser, MESSAGE)).toEqual({
      error: { code: 'timeout', message: 'parsing took more than 1 ms' },
    });
    expect(parser.workerCount).toBe(0);
  });

  it('drops a waiting message whose caller gave up, and terminates the worker of a running one', async () => {
    const budget = recordingBudget();
    const parser = pool({ workers: 1, budget, pipelineDepth: 1 });
    const first = new AbortController();
    const second = new AbortController();
    const running = parse(parser, MESSAGE, first.signal);
    const waiting = parse(parser, MESSAGE, second.signal);
    second.abort(new Error('client gone'));
    first.abort(new Error('deadline'));
    await expect(running).rejects.toThrow('deadline');
    await expect(waiting).rejects.toThrow('client gone');
    expect(parser.queued).toBe(0);
    expect(budget.held()).toBe(0);
    expect(jsonOf(await parse(parser, MESSAGE))).toMatchObject({ subject: 'Grüße' });
  });

  it('refuses waiting and new messages with ERR_SHUTTING_DOWN once closed', async () => {
    const parser = pool({ workers: 1 });
    const refused = [parse(parser, MESSAGE), parse(parser, MESSAGE)].map((parsing) =>
      expect(parsing).rejects.toMatchObject({ code: 'ERR_SHUTTING_DOWN' }),
    );
    await parser.close();
    await Promise.all(refused);
    await expect(parse(parser, MESSAGE)).rejects.toMatchObject({ code: 'ERR_SHUTTING_DOWN' });
    expect(parser.workerCount).toBe(0);
  });
});
