// Every answer a real HTTP function can give, at every step, and the exact SMTP reply the client sees.
import { afterEach, describe, expect, it } from 'vitest';
import { type FunctionServer, json, startFunctionServer } from '../../helpers/function-server.ts';
import { afterEhlo, greeted, inTransaction, sendData } from '../../helpers/smtp-client.ts';
import { BRIDGE_HOSTNAME, startBridge, type TestBridge } from '../../helpers/start-bridge.ts';
import { ALL_STEPS, cleanUp, MESSAGE, replyTo, type Step } from './steps.ts';

afterEach(cleanUp);

async function started(): Promise<{ fn: FunctionServer; bridge: TestBridge }> {
  const fn = await startFunctionServer();
  const bridge = await startBridge({ functionUrl: fn.url, env: { MXHOOK_STEPS: ALL_STEPS } });
  return { fn, bridge };
}

interface Case {
  readonly step: Step;
  readonly answer: unknown;
  /** The exact reply bytes. */
  readonly reply: string;
  /** The gateway closes the connection after it. */
  readonly closes?: true;
}

const EHLO_REPLY = [
  `250-${BRIDGE_HOSTNAME} greets client.test`,
  '250-PIPELINING',
  '250-SIZE 10485760',
  '250-8BITMIME',
  '250-SMTPUTF8',
  '250-ENHANCEDSTATUSCODES',
  '250-CHUNKING',
  '250 HELP',
  '',
].join('\r\n');

const CASES: readonly Case[] = [
  // connect: the banner, or a refusal that closes the connection.
  {
    step: 'connect',
    answer: { action: 'accept' },
    reply: `220 ${BRIDGE_HOSTNAME} ESMTP mxhook\r\n`,
  },
  {
    step: 'connect',
    answer: { action: 'reject' },
    reply: '554 5.7.1 Connection refused\r\n',
    closes: true,
  },
  {
    step: 'connect',
    answer: { action: 'defer' },
    reply: '421 4.7.1 Service not available, try again later\r\n',
    closes: true,
  },
  {
    step: 'connect',
    answer: { code: 554, enhanced: '5.7.1', message: 'listed at dnsbl.example' },
    reply: '554 5.7.1 listed at dnsbl.example\r\n',
    closes: true,
  },
  {
    step: 'connect',
    answer: { code: 421, message: ['busy', 'come back later'] },
    reply: '421-4.7.1 busy\r\n421 4.7.1 come back later\r\n',
    closes: true,
  },
  // helo
  { step: 'helo', answer: { action: 'accept' }, reply: EHLO_REPLY },
  { step: 'helo', answer: { action: 'reject' }, reply: '550 5.7.1 Hostname rejected\r\n' },
  { step: 'helo', answer: { action: 'defer' }, reply: '451 4.7.1 Try again later\r\n' },
  {
    step: 'helo',
    answer: {
      code: 550,
      enhanced: '5.7.25',
      message: ['reverse DNS missing', 'see https://mx.example/why'],
    },
    reply: '550-5.7.25 reverse DNS missing\r\n550 5.7.25 see https://mx.example/why\r\n',
  },
  {
    step: 'helo',
    answer: { code: 421, enhanced: '4.7.0', message: 'go away for now' },
    reply: '421 4.7.0 go away for now\r\n',
    closes: true,
  },
  // mail
  { step: 'mail', answer: { action: 'accept' }, reply: '250 2.1.0 Sender OK\r\n' },
  { step: 'mail', answer: { action: 'reject' }, reply: '550 5.7.1 Sender rejected\r\n' },
  { step: 'mail', answer: { action: 'defer' }, reply: '451 4.7.1 Try again later\r\n' },
  {
    step: 'mail',
    answer: { code: 553, enhanced: '5.1.8', message: 'sender domain does not exist' },
    reply: '553 5.1.8 sender domain does not exist\r\n',
  },
  {
    step: 'mail',
    answer: { action: 'reject', message: 'not from you' },
    reply: '550 5.7.1 not from you\r\n',
  },
  // rcpt
  { step: 'rcpt', answer: { action: 'accept' }, reply: '250 2.1.5 Recipient OK\r\n' },
  { step: 'rcpt', answer: { action: 'reject' }, reply: '550 5.1.1 No such user\r\n' },
  { step: 'rcpt', answer: { action: 'defer' }, reply: '451 4.7.1 Try again later\r\n' },
  {
    step: 'rcpt',
    answer: { code: 550, enhanced: '5.1.1', message: 'no such user here' },
    reply: '550 5.1.1 no such user here\r\n',
  },
  {
    step: 'rcpt',
    answer: { code: 452, enhanced: '4.2.2', message: ['mailbox full', 'try tomorrow'] },
    reply: '452-4.2.2 mailbox full\r\n452 4.2.2 try tomorrow\r\n',
  },
  {
    step: 'rcpt',
    answer: { code: 252 },
    reply: '252 2.1.5 Cannot verify user, but will accept message and attempt delivery\r\n',
  },
  // data
  { step: 'data', answer: { action: 'accept' }, reply: '250 2.0.0 Message accepted\r\n' },
  {
    step: 'data',
    answer: { action: 'accept', message: 'queued as 42' },
    reply: '250 2.0.0 queued as 42\r\n',
  },
  { step: 'data', answer: { action: 'reject' }, reply: '554 5.7.1 Message rejected\r\n' },
  { step: 'data', answer: { action: 'defer' }, reply: '451 4.7.1 Try again later\r\n' },
  {
    step: 'data',
    answer: { code: 552, enhanced: '5.3.4', message: 'too big for this mailbox' },
    reply: '552 5.3.4 too big for this mailbox\r\n',
  },
  {
    step: 'data',
    answer: { code: 550, enhanced: '5.7.1', message: ['spam detected', 'score 12.5'] },
    reply: '550-5.7.1 spam detected\r\n550 5.7.1 score 12.5\r\n',
  },
  {
    step: 'data',
    answer: { code: 250, enhanced: '2.6.0', message: ['queued', 'as 42'] },
    reply: '250-2.6.0 queued\r\n250 2.6.0 as 42\r\n',
  },
  // 421 closes the connection at any step (RFC 5321 §3.8).
  {
    step: 'rcpt',
    answer: { code: 421, enhanced: '4.3.2', message: 'going down' },
    reply: '421 4.3.2 going down\r\n',
    closes: true,
  },
  {
    step: 'data',
    answer: { code: 421, enhanced: '4.3.2', message: 'going down' },
    reply: '421 4.3.2 going down\r\n',
    closes: true,
  },
];

describe('a function answer becomes the exact SMTP reply', () => {
  it.each(CASES)('$step $answer → $reply', async ({ step, answer, reply, closes }) => {
    const { fn, bridge } = await started();
    fn.answer(step, json(answer));
    const { client, reply: got } = await replyTo(step, bridge.port);
    expect(got.raw).toBe(reply);
    expect(fn.requestsFor(step)).toHaveLength(1);
    if (closes) {
      await client.expectClosed();
      return;
    }
    // The session goes on: the client can still talk and leave politely.
    expect((await client.command('NOOP')).code).toBe(250);
    expect((await client.command('QUIT')).raw).toBe(
      `221 2.0.0 ${BRIDGE_HOSTNAME} closing connection\r\n`,
    );
    await client.expectClosed();
  });
});

describe('a reply text cannot inject protocol lines', () => {
  it.each([
    [
      'rcpt',
      { code: 550, enhanced: '5.1.1', message: 'nobody\r\n250 2.1.5 OK' },
      '550-5.1.1 nobody\r\n550 5.1.1 250 2.1.5 OK\r\n',
    ],
    [
      'data',
      { code: 554, enhanced: '5.7.1', message: 'no\r\n250 2.0.0 queued' },
      '554-5.7.1 no\r\n554 5.7.1 250 2.0.0 queued\r\n',
    ],
    ['mail', { action: 'reject', message: 'bad\rsender\n' }, '550 5.7.1 badsender\r\n'],
    [
      'data',
      { action: 'defer', message: ['one\r\n', 'two\u0000\u0085three'] },
      '451-4.7.1 one\r\n451 4.7.1 twothree\r\n',
    ],
  ] as const)('%s %j → %j', async (step, answer, reply) => {
    const { fn, bridge } = await started();
    fn.answer(step, json(answer));
    const { client, reply: got } = await replyTo(step, bridge.port);
    expect(got.raw).toBe(reply);
    // Nothing else was queued behind it: the next command gets its own, ordinary reply.
    expect((await client.command('NOOP')).raw).toBe('250 2.0.0 OK\r\n');
  });
});

describe('reply texts are bounded and printable', () => {
  it('non-ASCII becomes "?", a line is cut at 400 characters, a reply at 20 lines', async () => {
    const { fn, bridge } = await started();
    fn.answerOnce('rcpt', json({ action: 'reject', message: 'Zoë ✓ \t tab' }));
    fn.answerOnce('rcpt', json({ action: 'reject', message: 'x'.repeat(600) }));
    fn.answerOnce(
      'rcpt',
      json({ action: 'reject', message: Array.from({ length: 25 }, (_, i) => `line ${i}`) }),
    );
    const client = await afterEhlo(bridge.port);
    await client.command('MAIL FROM:<a@client.test>');
    expect((await client.command('RCPT TO:<b@mx.test>')).raw).toBe('550 5.1.1 Zo? ?   tab\r\n');
    expect((await client.command('RCPT TO:<b@mx.test>')).raw).toBe(
      `550 5.1.1 ${'x'.repeat(400)}\r\n`,
    );
    const long = await client.command('RCPT TO:<b@mx.test>');
    expect(long.lines).toEqual(Array.from({ length: 20 }, (_, i) => `5.1.1 line ${i}`));
  });
});

describe('decisions shape the rest of the session', () => {
  it('after a helo reject the client must greet again before MAIL (503), and may', async () => {
    const { fn, bridge } = await started();
    fn.answerOnce('helo', json({ action: 'reject' }));
    const client = await greeted(bridge.port);
    expect((await client.command('EHLO bad.test')).raw).toBe('550 5.7.1 Hostname rejected\r\n');
    expect((await client.command('MAIL FROM:<a@client.test>')).raw).toBe(
      '503 5.5.1 Send HELO/EHLO first\r\n',
    );
    expect((await client.command('EHLO good.test')).code).toBe(250);
    expect((await client.command('MAIL FROM:<a@client.test>')).raw).toBe('250 2.1.0 Sender OK\r\n');
    expect(fn.requestsFor('helo').map((r) => r.body.helo.hostname)).toEqual([
      'bad.test',
      'good.test',
    ]);
  });

  it('after a mail reject there is no transaction: RCPT gets 503 and no rcpt call is made', async () => {
    const { fn, bridge } = await started();
    fn.answerOnce('mail', json({ action: 'reject' }));
    const client = await afterEhlo(bridge.port);
    expect((await client.command('MAIL FROM:<a@client.test>')).code).toBe(550);
    expect((await client.command('RCPT TO:<b@mx.test>')).raw).toBe(
      '503 5.5.1 Need MAIL command first\r\n',
    );
    expect(fn.requestsFor('rcpt')).toHaveLength(0);
  });

  it('when every recipient was rejected, DATA gets 554 and the data function is not called', async () => {
    const { fn, bridge } = await started();
    fn.answer('rcpt', json({ action: 'reject' }));
    const client = await afterEhlo(bridge.port);
    await client.command('MAIL FROM:<a@client.test>');
    expect((await client.command('RCPT TO:<b@mx.test>')).code).toBe(550);
    expect((await client.command('DATA')).raw).toBe('554 5.5.1 No valid recipients\r\n');
    expect(fn.requestsFor('data')).toHaveLength(0);
  });

  it('steps that are not enabled are not called and accept; data is always called', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url, env: { MXHOOK_STEPS: 'rcpt' } });
    const client = await inTransaction(bridge.port);
    expect((await sendData(client, MESSAGE)).raw).toBe('250 2.0.0 Message accepted\r\n');
    expect(fn.requests.map((r) => r.step)).toEqual(['rcpt', 'data']);
    expect(fn.requests.map((r) => r.path)).toEqual(['/rcpt', '/data']);
  });
});
