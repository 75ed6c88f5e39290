// Middleware around a handler's hooks over real sessions: the order it runs in, what it can change,
// the shipped logger, recover and Return-Path, and the steps it never sees.
import pino, { type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createGateway,
  type Gateway,
  type Handler,
  logger,
  type Middleware,
  recover,
  returnPath,
} from '../../../gateway/index.ts';
import {
  afterEhlo,
  SmtpClient as Client,
  destroyAllClients,
  greeted,
  inTransaction,
  sendData,
} from '../../helpers/smtp-client.ts';
import { answerAfter, startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';

const ownGateways: Gateway[] = [];

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
  await Promise.all(ownGateways.splice(0).map((gateway) => gateway.stop()));
});

type LogLine = Record<string, unknown> & { level: number; msg: string };

/** A pino logger whose lines land in `lines`, parsed, and in `text` as written. */
function capturingLogger(): { log: Logger; lines: LogLine[]; text: () => string } {
  const written: string[] = [];
  const lines: LogLine[] = [];
  const log = pino(
    { level: 'trace' },
    {
      write(line: string) {
        written.push(line);
        lines.push(JSON.parse(line) as LogLine);
      },
    },
  );
  return { log, lines, text: () => written.join('') };
}

/** A gateway with this exact handler (the test helper's has every hook but auth), AUTH allowed in plain text. */
async function gatewayWith(handler: Handler, middleware: readonly Middleware[]): Promise<number> {
  const gateway = createGateway({
    listen: [{ host: '127.0.0.1', port: 0, implicitTls: false }],
    hostname: 'mx.test',
    handler,
    middleware,
    auth: { allowInsecure: true },
    authChecks: [],
    shutdownGraceMs: 5_000,
  });
  ownGateways.push(gateway);
  return (await gateway.start())[0]!.port;
}

const plain = (user: string, password: string): string =>
  Buffer.from(`\0${user}\0${password}`).toString('base64');

const MESSAGE = 'Subject: middleware\r\n\r\nbody\r\n';

describe('middleware order', () => {
  it('runs m1 → m2 → hook → m2 → m1 around every hook call, in step order', async () => {
    const events: string[] = [];
    const named =
      (name: string): Middleware =>
      async (c, next) => {
        events.push(`${name}>${c.step}`);
        await next();
        events.push(`${name}<${c.step}`);
      };
    const hook = (step: string) => () => {
      events.push(`hook:${step}`);
      return step === 'data' ? { action: 'accept' as const } : undefined;
    };
    const gw = await startGateway({
      middleware: [named('m1'), named('m2')],
      script: {
        connect: hook('connect'),
        helo: hook('helo'),
        mail: hook('mail'),
        rcpt: hook('rcpt'),
        data: hook('data'),
      },
    });
    const client = await inTransaction(gw.port, { from: 'a@client.test', to: ['b@mx.test'] });
    expect((await sendData(client, MESSAGE)).code).toBe(250);
    const around = (step: string) => [
      `m1>${step}`,
      `m2>${step}`,
      `hook:${step}`,
      `m2<${step}`,
      `m1<${step}`,
    ];
    expect(events).toEqual(['connect', 'helo', 'mail', 'rcpt', 'data'].flatMap(around));
  });

  it('runs for no step the handler has no hook for: the gateway decides those without a call', async () => {
    const steps: string[] = [];
    const port = await gatewayWith({ data: () => ({ action: 'accept' }) }, [
      (c, next) => {
        steps.push(c.step);
        return next();
      },
    ]);
    const client = await inTransaction(port, { from: 'a@client.test', to: ['b@mx.test'] });
    expect((await sendData(client, MESSAGE)).code).toBe(250);
    // Without an auth hook AUTH fails, and no middleware could make it pass.
    expect((await client.command(`AUTH PLAIN ${plain('joe', 'pw')}`)).code).toBe(535);
    expect(steps).toEqual(['data']);
  });
});

describe('what a middleware can change', () => {
  it("changes the hook's call before next() and its answer after", async () => {
    const gw = await startGateway({
      middleware: [
        async (c, next) => {
          if (c.step !== 'rcpt') return next();
          // Narrowed on the step: c.call is the rcpt call.
          c.call = {
            ...c.call,
            rcpt: { ...c.call.rcpt, address: c.call.rcpt.address.toLowerCase() },
          };
          await next();
          if (c.call.rcpt.address.startsWith('nobody@'))
            c.answer = { code: 550, enhanced: '5.1.1', message: 'No such user here' };
        },
      ],
    });
    const client = await afterEhlo(gw.port);
    expect((await client.command('MAIL FROM:<a@client.test>')).code).toBe(250);
    expect((await client.command('RCPT TO:<Bob@MX.test>')).code).toBe(250);
    expect((await client.command('RCPT TO:<nobody@mx.test>')).raw).toBe(
      '550 5.1.1 No such user here\r\n',
    );
    expect(gw.callsOf('rcpt').map((call) => call.rcpt.address)).toEqual([
      'bob@mx.test',
      'nobody@mx.test',
    ]);
  });

  it('answers without calling the hook by not calling next(), narrowing on the step', async () => {
    const blockList: Middleware = async (c, next) => {
      if (c.step === 'rcpt' && c.call.rcpt.address.endsWith('@blocked.test')) {
        c.answer = { action: 'reject' };
        return;
      }
      await next();
    };
    const gw = await startGateway({ middleware: [blockList] });
    const client = await afterEhlo(gw.port);
    expect((await client.command('MAIL FROM:<a@client.test>')).code).toBe(250);
    expect((await client.command('RCPT TO:<x@blocked.test>')).code).toBe(550);
    expect((await client.command('RCPT TO:<b@mx.test>')).code).toBe(250);
    expect(gw.callsOf('rcpt').map((call) => call.rcpt.address)).toEqual(['b@mx.test']);
  });

  it('fails a data call the chain leaves without an answer: 451, never 250', async () => {
    const gw = await startGateway({
      middleware: [(c, next) => (c.step === 'data' ? undefined : next())],
    });
    const client = await inTransaction(gw.port, { from: 'a@client.test', to: ['b@mx.test'] });
    expect((await sendData(client, MESSAGE)).code).toBe(451);
    expect(gw.callsOf('data')).toHaveLength(0);
  });

  it('fails a call whose middleware calls next() twice, running the hook once', async () => {
    const gw = await startGateway({
      middleware: [
        async (c, next) => {
          await next();
          if (c.step === 'helo') await next();
        },
      ],
    });
    const client = await greeted(gw.port);
    expect((await client.command('EHLO client.test')).code).toBe(451);
    expect(gw.callsOf('helo')).toHaveLength(1);
  });
});

describe('the logger middleware', () => {
  it('writes one line per hook call with step, code, outcome and duration, and no message', async () => {
    const { log, lines, text } = capturingLogger();
    const gw = await startGateway({
      middleware: [logger(log)],
      script: { rcpt: answerAfter(60, undefined) },
    });
    const client = await inTransaction(gw.port, { from: 'a@client.test', to: ['b@mx.test'] });
    expect((await sendData(client, 'Subject: private\r\n\r\nsecret-body-text\r\n')).code).toBe(250);

    const session = gw.callsOf('data')[0]!.session.id;
    expect(lines.map((line) => [line.msg, line.step, line.code, line.outcome])).toEqual([
      ['hook answered', 'connect', 220, 'accepted'],
      ['hook answered', 'helo', 250, 'accepted'],
      ['hook answered', 'mail', 250, 'accepted'],
      ['hook answered', 'rcpt', 250, 'accepted'],
      ['hook answered', 'data', 250, 'accepted'],
    ]);
    for (const line of lines) {
      expect(line.session).toBe(session);
      expect(line.level).toBe(30);
      expect(typeof line.durationMs).toBe('number');
    }
    expect(lines[3]!.durationMs as number).toBeGreaterThanOrEqual(55);
    expect(text()).not.toContain('secret-body-text');
    expect(text()).not.toContain('private');
  });

  it('logs the auth call without its password, and a throw at warn before passing it on', async () => {
    const { log, lines, text } = capturingLogger();
    const port = await gatewayWith(
      {
        auth: ({ auth }) =>
          auth.password === 'right-pw-7f3a' ? { action: 'accept' } : { action: 'reject' },
        mail: () => {
          throw new Error('directory down');
        },
        data: () => ({ action: 'accept' }),
      },
      [logger(log)],
    );
    const client = await afterEhlo(port);
    expect((await client.command(`AUTH PLAIN ${plain('joe', 'right-pw-7f3a')}`)).code).toBe(235);
    expect((await client.command('MAIL FROM:<a@client.test>')).code).toBe(451);

    expect(lines.map((line) => [line.msg, line.step, line.code, line.outcome])).toEqual([
      ['hook answered', 'auth', 235, 'accepted'],
      ['hook failed', 'mail', 451, 'failed'],
    ]);
    expect(lines[1]!.level).toBe(40);
    expect(lines[1]!.error).toEqual({ code: 'Error', message: 'directory down' });
    expect(text()).not.toContain('right-pw-7f3a');
  });
});

describe('the recover middleware', () => {
  const throwing = (): never => {
    throw new Error('database down');
  };

  it("answers a throw with the step's temporary failure and logs the error", async () => {
    const { log, lines } = capturingLogger();
    const port = await gatewayWith({ auth: throwing, rcpt: throwing, data: throwing }, [
      recover(log),
    ]);
    const client = await afterEhlo(port);
    expect((await client.command(`AUTH PLAIN ${plain('joe', 'pw')}`)).raw).toBe(
      '454 4.7.0 Temporary authentication failure\r\n',
    );
    expect((await client.command('MAIL FROM:<a@client.test>')).code).toBe(250);
    expect((await client.command('RCPT TO:<b@mx.test>')).raw).toBe(
      '451 4.3.0 Temporary failure, please try again later\r\n',
    );
    expect(lines.map((line) => [line.level, line.msg, line.step, line.error])).toEqual([
      [
        50,
        'hook threw, answering with a temporary failure',
        'auth',
        { code: 'Error', message: 'database down' },
      ],
      [
        50,
        'hook threw, answering with a temporary failure',
        'rcpt',
        { code: 'Error', message: 'database down' },
      ],
    ]);
  });

  it('never accepts a message whose data hook threw (the one promise)', async () => {
    const { log, lines } = capturingLogger();
    const port = await gatewayWith({ rcpt: () => undefined, data: throwing }, [recover(log)]);
    const client = await inTransaction(port, { from: 'a@client.test', to: ['b@mx.test'] });
    expect((await sendData(client, MESSAGE)).raw).toBe(
      '451 4.3.0 Temporary failure, please try again later\r\n',
    );
    expect(lines.map((line) => line.step)).toEqual(['data']);
  });

  it('refuses the connection with 421 when the connect hook threw, and outer middleware sees the answer', async () => {
    const { log, lines } = capturingLogger();
    const port = await gatewayWith({ connect: throwing, data: () => ({ action: 'accept' }) }, [
      logger(log),
      recover(log),
    ]);
    const client = await Client.connect(port);
    expect((await client.readReply()).raw).toBe(
      '421 4.3.0 Service temporarily unavailable, try again later\r\n',
    );
    await client.expectClosed();
    // recover's line, then the logger's, which sees recover's answer rather than the throw.
    expect(lines.map((line) => [line.msg, line.code, line.outcome])).toEqual([
      ['hook threw, answering with a temporary failure', undefined, undefined],
      ['hook answered', 421, 'deferred'],
    ]);
  });
});

describe('the Return-Path middleware', () => {
  it('puts the envelope sender on top and removes every incoming Return-Path from the header block', async () => {
    const gw = await startGateway({ middleware: [returnPath()] });
    const client = await inTransaction(gw.port, { from: 'a@client.test', to: ['b@mx.test'] });
    const message =
      'Return-Path: <forged@evil.test>\r\n' +
      'From: a@client.test\r\n' +
      'return-path:\r\n\t<folded@evil.test>\r\n' +
      'Subject: trace\r\n' +
      'RETURN-PATH: <third@evil.test>\r\n' +
      '\r\n' +
      'Return-Path: <in-the-body@x.test>\r\n';
    expect((await sendData(client, message)).code).toBe(250);

    const { call, raw } = gw.messages[0]!;
    const text = raw.toString('latin1');
    expect(text).toMatch(/^Return-Path: <a@client\.test>\r\nReceived: from client\.test /);
    expect(text.slice(text.indexOf('From: '))).toBe(
      'From: a@client.test\r\nSubject: trace\r\n\r\nReturn-Path: <in-the-body@x.test>\r\n',
    );
    expect(call.message.sizeBytes).toBe(raw.length);
  });

  it('writes Return-Path: <> for the null sender', async () => {
    const gw = await startGateway({ middleware: [returnPath()] });
    const client = await inTransaction(gw.port, { from: '', to: ['b@mx.test'] });
    expect((await sendData(client, 'Subject: bounce\r\n\r\nundeliverable\r\n')).code).toBe(250);
    const { call, raw } = gw.messages[0]!;
    expect(raw.toString('latin1')).toMatch(/^Return-Path: <>\r\nReceived: /);
    expect(call.message.sizeBytes).toBe(raw.length);
  });
});
