// Command-level policy over a real socket: input behind a refused DATA, junk commands, the session time limit.
import { afterEach, describe, expect, it } from 'vitest';
import { afterEhlo, destroyAllClients, SmtpClient, sendData } from '../../helpers/smtp-client.ts';
import { startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
});

const EXPIRED = '421 4.7.0 Session time limit reached, closing connection\r\n';
const BREAK = '221 2.7.0 Error: I can break rules, too. Goodbye.\r\n';
const GROUP = 'MAIL FROM:<outer@client.test>\r\nRCPT TO:<refused@mx.test>\r\nDATA\r\n';
const GROUP_REPLIES =
  '250 2.1.0 Sender OK\r\n550 5.1.1 Recipient rejected\r\n554 5.5.1 No valid recipients\r\n';
// A message whose body is a whole SMTP transaction under another sender.
const SMUGGLED =
  'MAIL FROM:<inner@evil.test>\r\nRCPT TO:<victim@mx.test>\r\nDATA\r\n' +
  'Subject: smuggled\r\n\r\nhi\r\n.\r\nQUIT\r\n';

/** A gateway whose rcpt step refuses refused@mx.test and accepts everyone else. */
function refusingGateway() {
  return startGateway({
    script: {
      rcpt: ({ rcpt }) =>
        rcpt.address === 'refused@mx.test'
          ? { code: 550, enhanced: '5.1.1', message: 'Recipient rejected' }
          : { action: 'accept' },
    },
  });
}

describe('a body pipelined behind a refused DATA (RFC 2920 §3.1)', () => {
  it('answers the refusal, then 221 2.7.0 and closes, when the body came in the same write', async () => {
    const gw = await refusingGateway();
    const client = await afterEhlo(gw.port);
    await client.send(`${GROUP}Subject: x\r\n\r\n${SMUGGLED}`);
    expect(await client.readUntilClosed()).toBe(GROUP_REPLIES + BREAK);
    expect(gw.callsOf('mail').map((c) => c.mailFrom.address)).toEqual(['outer@client.test']);
    expect(gw.callsOf('rcpt')).toHaveLength(1);
    expect(gw.callsOf('data')).toHaveLength(0);
  });

  it.each([
    ['a header line', `Subject: x\r\n\r\n${SMUGGLED}`],
    ['a transaction', SMUGGLED],
    ['a reset and a transaction', `RSET\r\n${SMUGGLED}`],
  ])(
    'closes with 221 when the body, starting with %s, arrives in a later write',
    async (_, body) => {
      const gw = await refusingGateway();
      const client = await afterEhlo(gw.port);
      await client.send(GROUP);
      // The server has answered DATA before the body arrives: nothing was buffered behind it.
      expect((await client.readReplies(3)).map((r) => r.raw).join('')).toBe(GROUP_REPLIES);
      await client.send(body);
      expect(await client.readUntilClosed()).toBe(BREAK);
      expect(gw.callsOf('mail')).toHaveLength(1);
      expect(gw.callsOf('rcpt')).toHaveLength(1);
      expect(gw.callsOf('data')).toHaveLength(0);
    },
  );

  it('lets a client that read the refusal reset and send its next message', async () => {
    const gw = await refusingGateway();
    const client = await afterEhlo(gw.port);
    await client.send(GROUP);
    await client.readReplies(3);
    expect((await client.command('RSET')).raw).toBe('250 2.0.0 Reset OK\r\n');
    expect((await client.command('MAIL FROM:<next@client.test>')).code).toBe(250);
    expect((await client.command('RCPT TO:<b@mx.test>')).code).toBe(250);
    expect((await sendData(client, 'Subject: next\r\n\r\nhi\r\n')).code).toBe(250);
    expect(gw.messages).toHaveLength(1);
    expect(gw.messages[0]!.call.envelope.mailFrom?.address).toBe('next@client.test');
  });
});

describe('slots held without progress', () => {
  it('closes with 421 4.7.0 at the first junk command past maxJunkCommands', async () => {
    const gw = await startGateway({ maxJunkCommands: 3 });
    const client = await afterEhlo(gw.port);
    for (const line of ['NOOP', 'RSET', 'HELP'])
      expect((await client.command(line)).code).not.toBe(421);
    await client.send('NOOP\r\n');
    expect(await client.readUntilClosed()).toBe(
      '421 4.7.0 Too many commands without a message, closing connection\r\n',
    );
  });

  it('closes an idle session with 421 4.7.0 at maxSessionDurationMs', async () => {
    const gw = await startGateway({ maxSessionDurationMs: 200 });
    const client = await SmtpClient.connect(gw.port);
    expect(await client.readUntilClosed()).toBe(`220 mx.test ESMTP mxhook\r\n${EXPIRED}`);
  });

  it('closes a session kept busy with NOOP at maxSessionDurationMs', async () => {
    const gw = await startGateway({ maxSessionDurationMs: 200, maxJunkCommands: 1_000_000 });
    const client = await SmtpClient.connect(gw.port);
    expect((await client.readReply()).code).toBe(220);
    const seen = new Set<string>();
    let last = '';
    for (let n = 0; n < 1_000_000 && last !== EXPIRED; n++) {
      await client.send('NOOP\r\n').catch(() => {}); // the server may have closed meanwhile
      last = (await client.readReply()).raw;
      seen.add(last);
    }
    expect(last).toBe(EXPIRED);
    // Every NOOP before it was answered: being busy does not keep the session open.
    expect([...seen].filter((r) => r !== EXPIRED)).toEqual(
      seen.size > 1 ? ['250 2.0.0 OK\r\n'] : [],
    );
    await client.expectClosed();
  });
});
