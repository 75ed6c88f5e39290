// What the client sees for each handler answer, and for each way a handler can fail, at every step.
import { afterEach, describe, expect, it } from 'vitest';
import {
  afterEhlo,
  SmtpClient as Client,
  destroyAllClients,
  greeted,
  type SmtpClient,
  type SmtpReply,
  sendData,
} from '../../helpers/smtp-client.ts';
import {
  type HookScript,
  type HookStep,
  neverAnswers,
  startGateway,
  stopAllGateways,
  type TestGateway,
} from '../../helpers/start-gateway.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
});

const FAILED = '451 4.3.0 Temporary failure, please try again later\r\n';
const FAILED_AT_CONNECT = '421 4.3.0 Service temporarily unavailable, try again later\r\n';

/** Drives a fresh session up to `step` and returns the client with the reply to that step. */
async function reach(
  gw: TestGateway,
  step: HookStep,
): Promise<{ client: SmtpClient; reply: SmtpReply }> {
  if (step === 'connect') {
    const client = await Client.connect(gw.port);
    return { client, reply: await client.readReply() };
  }
  const client = await greeted(gw.port);
  if (step === 'helo') return { client, reply: await client.command('EHLO client.test') };
  await client.command('EHLO client.test');
  if (step === 'mail') return { client, reply: await client.command('MAIL FROM:<a@client.test>') };
  await client.command('MAIL FROM:<a@client.test>');
  if (step === 'rcpt') return { client, reply: await client.command('RCPT TO:<b@mx.test>') };
  await client.command('RCPT TO:<b@mx.test>');
  return { client, reply: await sendData(client, 'Subject: failure\r\n\r\nbody\r\n') };
}

/** After a failed step the session must still work (except at connect, where it is closed). */
async function expectUsable(client: SmtpClient): Promise<void> {
  expect((await client.command('NOOP')).raw).toBe('250 2.0.0 OK\r\n');
}

const STEPS: readonly HookStep[] = ['connect', 'helo', 'mail', 'rcpt', 'data'];

/** Answers that no step can use: each must become a temporary failure. */
const ILLEGAL: Record<HookStep, unknown> = {
  connect: { code: 250 },
  helo: { code: 354 },
  mail: { code: 220 },
  rcpt: { code: 354 },
  data: { code: 220 },
};

const FAILURES: readonly [string, (step: HookStep) => HookScript<HookStep>][] = [
  [
    'a hook that throws',
    () => () => {
      throw new Error('boom');
    },
  ],
  ['a hook whose promise rejects', () => async () => Promise.reject(new Error('async boom'))],
  ['a hook slower than functionTimeoutMs', () => neverAnswers()],
  ['a hook answering a code the step cannot use', (step) => () => ILLEGAL[step]],
  ['a hook answering something that is not a response', () => () => ({ verdict: 'fine' })],
  ['a hook answering a string', () => () => 'accept'],
];

describe('handler failures become temporary failures', () => {
  for (const step of STEPS) {
    describe(`at ${step}`, () => {
      it.each(FAILURES)(
        `%s gets ${step === 'connect' ? '421 4.3.0 and close' : '451 4.3.0'}`,
        async (_name, make) => {
          const gw = await startGateway({ functionTimeoutMs: 200 });
          gw.script(step, make(step));
          const { client, reply } = await reach(gw, step);
          if (step === 'connect') {
            expect(reply.raw).toBe(FAILED_AT_CONNECT);
            await client.expectClosed();
            return;
          }
          expect(reply.raw).toBe(FAILED);
          await expectUsable(client);
          expect(gw.messages.length).toBe(step === 'data' ? 1 : 0);
        },
      );
    });
  }

  it('aborts the signal of a hook that ran out of time', async () => {
    const gw = await startGateway({ functionTimeoutMs: 200, script: { rcpt: neverAnswers() } });
    const { reply } = await reach(gw, 'rcpt');
    expect(reply.raw).toBe(FAILED);
    expect(gw.callsOf('rcpt')[0]!.signal.aborted).toBe(true);
  });

  it('never answers 250 to a data hook that returns undefined', async () => {
    const gw = await startGateway({ script: { data: () => undefined } });
    const { client, reply } = await reach(gw, 'data');
    expect(reply.raw).toBe(FAILED);
    // The transaction is over; the session takes a new one.
    expect((await client.command('RCPT TO:<b@mx.test>')).code).toBe(503);
    gw.script('data', () => ({ action: 'accept' }));
    await client.command('MAIL FROM:<a@client.test>');
    await client.command('RCPT TO:<b@mx.test>');
    expect((await sendData(client, 'x\r\n')).raw).toBe('250 2.0.0 Message accepted\r\n');
  });

  it('accepts a helo, mail or rcpt hook that returns undefined', async () => {
    const gw = await startGateway({
      script: { helo: () => undefined, mail: () => undefined, rcpt: () => undefined },
    });
    const { reply } = await reach(gw, 'data');
    expect(reply.raw).toBe('250 2.0.0 Message accepted\r\n');
  });
});

describe('handler answers', () => {
  it.each([
    ['connect', { action: 'reject' }, '554 5.7.1 Connection refused'],
    ['connect', { action: 'defer' }, '421 4.7.1 Service not available, try again later'],
    ['connect', { code: 554, enhanced: '5.7.1', message: 'go away' }, '554 5.7.1 go away'],
  ] as const)('at connect, %s → %s, then close', async (_step, answer, expected) => {
    const gw = await startGateway({ script: { connect: () => answer } });
    const { client, reply } = await reach(gw, 'connect');
    expect(reply.raw).toBe(`${expected}\r\n`);
    await client.expectClosed();
  });

  it.each([
    ['helo', { action: 'reject' }, '550 5.7.1 Hostname rejected'],
    ['helo', { action: 'defer' }, '451 4.7.1 Try again later'],
    ['mail', { action: 'reject' }, '550 5.7.1 Sender rejected'],
    [
      'mail',
      { code: 553, enhanced: '5.1.8', message: 'bad sender domain' },
      '553 5.1.8 bad sender domain',
    ],
    ['rcpt', { action: 'reject' }, '550 5.1.1 No such user'],
    ['rcpt', { action: 'defer' }, '451 4.7.1 Try again later'],
    ['rcpt', { code: 550, enhanced: '5.1.1', message: 'no such user' }, '550 5.1.1 no such user'],
    ['rcpt', { code: 251, message: 'will forward' }, '251 2.1.5 will forward'],
    ['data', { action: 'accept' }, '250 2.0.0 Message accepted'],
    ['data', { action: 'reject' }, '554 5.7.1 Message rejected'],
    ['data', { action: 'defer', message: 'queue full' }, '451 4.7.1 queue full'],
    ['data', { code: 552, enhanced: '5.2.2', message: 'mailbox full' }, '552 5.2.2 mailbox full'],
  ] as const)('at %s, %j → %s', async (step, answer, expected) => {
    const gw = await startGateway();
    gw.script(step, () => answer);
    const { client, reply } = await reach(gw, step);
    expect(reply.raw).toBe(`${expected}\r\n`);
    await expectUsable(client);
  });

  it('a refused EHLO leaves the session ungreeted, a refused MAIL leaves no transaction', async () => {
    const gw = await startGateway({ script: { helo: () => ({ action: 'reject' }) } });
    const client = await greeted(gw.port);
    expect((await client.command('EHLO client.test')).code).toBe(550);
    expect((await client.command('MAIL FROM:<a@client.test>')).raw).toBe(
      '503 5.5.1 Send HELO/EHLO first\r\n',
    );
    gw.script('helo', () => undefined);
    gw.script('mail', () => ({ action: 'reject' }));
    expect((await client.command('EHLO client.test')).code).toBe(250);
    expect((await client.command('MAIL FROM:<a@client.test>')).code).toBe(550);
    expect((await client.command('RCPT TO:<b@mx.test>')).raw).toBe(
      '503 5.5.1 Need MAIL command first\r\n',
    );
  });

  it('closes the session after a 421 answer at any step (RFC 5321 §3.8)', async () => {
    const gw = await startGateway({
      script: { rcpt: () => ({ code: 421, enhanced: '4.3.2', message: 'going away' }) },
    });
    const client = await afterEhlo(gw.port);
    await client.command('MAIL FROM:<a@client.test>');
    await client.send('RCPT TO:<b@mx.test>\r\n');
    expect(await client.readUntilClosed()).toBe('421 4.3.2 going away\r\n');
  });

  it('sends a multi-line answer as a multi-line reply', async () => {
    const gw = await startGateway({
      script: {
        rcpt: () => ({ code: 550, enhanced: '5.7.1', message: ['first line', 'second line'] }),
      },
    });
    const { reply } = await reach(gw, 'rcpt');
    expect(reply.raw).toBe('550-5.7.1 first line\r\n550 5.7.1 second line\r\n');
  });

  it('does not let a hook message inject reply lines', async () => {
    const gw = await startGateway({
      script: { rcpt: () => ({ action: 'reject', message: 'no\r\n250 2.1.5 fake OK\rhidden' }) },
    });
    const { client, reply } = await reach(gw, 'rcpt');
    expect(reply.code).toBe(550);
    expect(reply.lines.every((line) => line.startsWith('5.1.1 '))).toBe(true);
    await expectUsable(client);
  });

  it('gives hooks the session, the envelope so far, and an unaborted signal', async () => {
    const gw = await startGateway();
    await reach(gw, 'data');
    const [connect] = gw.callsOf('connect');
    expect(connect!.session).toMatchObject({
      client: { address: '127.0.0.1' },
      server: { address: '127.0.0.1', port: gw.port, hostname: 'mx.test' },
      helo: null,
      tls: null,
      auth: null,
      proxied: false,
    });
    const ids = new Set(gw.calls.map((c) => c.call.session.id));
    expect(ids.size).toBe(1);
    expect(gw.callsOf('rcpt')[0]!.envelope.mailFrom).toEqual({
      address: 'a@client.test',
      params: {},
    });
    expect(gw.callsOf('data')[0]!.signal.aborted).toBe(false);
  });
});
