// Commands a program adds through the library API (`verbs`), over a real socket: advertised in EHLO
// when asked, answered by the program, and held to the rules every command keeps.
import { afterEach, describe, expect, it } from 'vitest';
import type { ExtraVerbDefinition } from '../../../gateway/index.ts';
import { createGateway } from '../../../gateway/index.ts';
import { capturingLogger } from '../../helpers/capturing-logger.ts';
import { afterEhlo, destroyAllClients, greeted } from '../../helpers/smtp-client.ts';
import { startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
});

const XSTATUS: ExtraVerbDefinition = {
  ehlo: 'XSTATUS 2',
  handle: ({ args, session }) => ({
    code: 250,
    enhanced: '2.0.0',
    message: [`status of ${args || 'all'}`, `for ${session.client.address}`],
  }),
};

describe('a verb a program added', () => {
  it('is advertised in EHLO and answered by the program, with the arguments and session', async () => {
    const gw = await startGateway({ verbs: { xstatus: XSTATUS } });
    const client = await greeted(gw.port);
    const ehlo = await client.command('EHLO client.test');
    expect(ehlo.lines).toContain('XSTATUS 2');
    expect(ehlo.lines.at(-1)).toBe('HELP');
    expect((await client.command('xstatus queue')).raw).toBe(
      '250-2.0.0 status of queue\r\n250 2.0.0 for 127.0.0.1\r\n',
    );
  });

  it('is not advertised without an EHLO line, and answers before HELO like any command', async () => {
    const gw = await startGateway({
      verbs: { ETRN: { handle: ({ args }) => ({ code: 250, message: `Queuing for ${args}` }) } },
    });
    const client = await greeted(gw.port);
    expect((await client.command('ETRN example.org')).raw).toBe(
      '250 2.0.0 Queuing for example.org\r\n',
    );
    expect((await client.command('EHLO client.test')).lines).not.toContain('ETRN');
  });

  it('leaves a verb nobody added answered 500, as before', async () => {
    const gw = await startGateway({ verbs: { XSTATUS } });
    const client = await afterEhlo(gw.port);
    expect((await client.command('XOTHER')).raw).toBe('500 5.5.2 Command not recognized\r\n');
  });

  it('answers pipelined commands in order around it', async () => {
    const gw = await startGateway({ verbs: { XSTATUS } });
    const client = await afterEhlo(gw.port);
    await client.send('NOOP\r\nXSTATUS\r\nNOOP\r\n');
    const replies = await client.readReplies(3);
    expect(replies.map((r) => r.code)).toEqual([250, 250, 250]);
    expect(replies[1]!.lines[0]).toBe('2.0.0 status of all');
  });

  it('gets the line limit of any command: 500 5.5.2 past 512 octets', async () => {
    let called = 0;
    const gw = await startGateway({
      verbs: {
        XSTATUS: {
          handle: () => {
            called += 1;
            return { code: 250 };
          },
        },
      },
    });
    const client = await afterEhlo(gw.port);
    expect((await client.command(`XSTATUS ${'x'.repeat(510)}`)).raw).toBe(
      '500 5.5.2 Line too long\r\n',
    );
    expect(called).toBe(0);
  });

  it("counts the program's protocol errors towards the bad-command limit", async () => {
    const gw = await startGateway({
      maxBadCommands: 2,
      verbs: { XSTATUS: { handle: () => ({ code: 501, message: 'which queue?' }) } },
    });
    const client = await afterEhlo(gw.port);
    expect((await client.command('XSTATUS')).raw).toBe('501 5.0.0 which queue?\r\n');
    await client.send('XSTATUS\r\n');
    expect(await client.readUntilClosed()).toBe(
      '501 5.0.0 which queue?\r\n421 4.7.0 Too many errors, closing connection\r\n',
    );
  });

  it('closes the session when the program answers 421', async () => {
    const gw = await startGateway({
      verbs: { XSTATUS: { handle: () => ({ code: 421, enhanced: '4.3.2', message: 'bye' }) } },
    });
    const client = await afterEhlo(gw.port);
    await client.send('XSTATUS\r\n');
    expect(await client.readUntilClosed()).toBe('421 4.3.2 bye\r\n');
  });

  it.each([
    [
      'throws',
      () => {
        throw new Error('queue unavailable');
      },
      'added command threw',
    ],
    ['answers a 3xx', () => ({ code: 354 }), 'added command answered with no valid reply'],
    [
      'answers an enhanced code of another class',
      () => ({ code: 250, enhanced: '5.0.0' }),
      'added command answered with no valid reply',
    ],
    [
      'answers a promise',
      () => Promise.resolve({ code: 250 }),
      'added command answered with no valid reply',
    ],
  ])('answers 451 4.3.0 and logs it when the program %s', async (_, handle, logged) => {
    const { logger, lines } = capturingLogger('warn');
    const gw = await startGateway({
      logger,
      verbs: { XSTATUS: { handle: handle as ExtraVerbDefinition['handle'] } },
    });
    const client = await afterEhlo(gw.port);
    expect((await client.command('XSTATUS')).raw).toBe(
      '451 4.3.0 Temporary failure, please try again later\r\n',
    );
    expect(lines.find((line) => line.msg === logged)).toMatchObject({ verb: 'XSTATUS' });
    // The session goes on.
    expect((await client.command('NOOP')).code).toBe(250);
  });

  it.each([
    [
      'a verb the gateway implements',
      { MAIL: XSTATUS },
      'MAIL is a command the gateway implements',
    ],
    ['a name that is not a verb', { 'X STATUS': XSTATUS }, 'is not a verb'],
    [
      'an EHLO line with a line break',
      { XSTATUS: { ...XSTATUS, ehlo: 'XSTATUS\r\n250 X' } },
      'is not an EHLO keyword line',
    ],
  ])('refuses %s at creation', (_, verbs, problem) => {
    expect(() =>
      createGateway({
        listen: [{ host: '127.0.0.1', port: 0, implicitTls: false }],
        hostname: 'mx.test',
        handler: { data: () => ({ action: 'accept' }) },
        authChecks: [],
        verbs,
      }),
    ).toThrow(problem);
  });
});
