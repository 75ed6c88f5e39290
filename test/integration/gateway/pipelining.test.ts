// PIPELINING (RFC 2920) over a real socket: commands in one write get their replies in order.
import { afterEach, describe, expect, it } from 'vitest';
import { afterEhlo, destroyAllClients } from '../../helpers/smtp-client.ts';
import { answerAfter, startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
});

const GROUP = 'MAIL FROM:<a@client.test>\r\nRCPT TO:<b@mx.test>\r\nRCPT TO:<c@mx.test>\r\nDATA\r\n';
const GROUP_REPLIES = [
  '250 2.1.0 Sender OK\r\n',
  '250 2.1.5 Recipient OK\r\n',
  '250 2.1.5 Recipient OK\r\n',
  '354 End data with <CR><LF>.<CR><LF>\r\n',
];

describe('pipelining', () => {
  it('answers MAIL, RCPT, RCPT and DATA sent in one write in order, then takes the message', async () => {
    const gw = await startGateway();
    const client = await afterEhlo(gw.port);
    await client.send(GROUP);
    expect((await client.readReplies(4)).map((r) => r.raw)).toEqual(GROUP_REPLIES);
    await client.send('Subject: pipelined\r\n\r\nbody\r\n.\r\n');
    expect((await client.readReply()).raw).toBe('250 2.0.0 Message accepted\r\n');
    expect(gw.messages[0]!.body.toString()).toBe('Subject: pipelined\r\n\r\nbody\r\n');
    expect(gw.messages[0]!.call.envelope.rcptTo.map((r) => r.address)).toEqual([
      'b@mx.test',
      'c@mx.test',
    ]);
  });

  it('keeps the order when every hook answers late', async () => {
    const gw = await startGateway({
      script: {
        mail: answerAfter(30, undefined),
        rcpt: answerAfter(30, undefined),
        data: answerAfter(30, { action: 'accept' }),
      },
    });
    const client = await afterEhlo(gw.port);
    await client.send(GROUP);
    expect((await client.readReplies(4)).map((r) => r.raw)).toEqual(GROUP_REPLIES);
    await client.send('Subject: slow\r\n\r\nbody\r\n.\r\nNOOP\r\n');
    expect((await client.readReplies(2)).map((r) => r.raw)).toEqual([
      '250 2.0.0 Message accepted\r\n',
      '250 2.0.0 OK\r\n',
    ]);
  });

  it('runs two whole transactions and QUIT written at once after the 354s', async () => {
    const gw = await startGateway();
    const client = await afterEhlo(gw.port);
    await client.send(GROUP);
    await client.readReplies(4);
    // The end of message 1, the next transaction's group: the server must not read past the marker.
    await client.send(`one\r\n..dot\r\n.\r\n${GROUP}`);
    const replies = await client.readReplies(5);
    expect(replies.map((r) => r.code)).toEqual([250, 250, 250, 250, 354]);
    await client.send('two\r\n.\r\nQUIT\r\n');
    expect(await client.readUntilClosed()).toBe(
      '250 2.0.0 Message accepted\r\n221 2.0.0 mx.test closing connection\r\n',
    );
    expect(gw.messages.map((m) => m.body.toString())).toEqual(['one\r\n.dot\r\n', 'two\r\n']);
  });

  it('answers 554 to a pipelined DATA whose recipients were all refused, then 221 for what follows it (RFC 2920 §3.1)', async () => {
    const gw = await startGateway({ script: { rcpt: () => ({ action: 'reject' }) } });
    const client = await afterEhlo(gw.port);
    // DATA ends a group: a NOOP behind it was sent without waiting, as a message body would be.
    await client.send('MAIL FROM:<a@client.test>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\nNOOP\r\n');
    expect(await client.readUntilClosed()).toBe(
      '250 2.1.0 Sender OK\r\n' +
        '550 5.1.1 No such user\r\n' +
        '554 5.5.1 No valid recipients\r\n' +
        '221 2.7.0 Error: I can break rules, too. Goodbye.\r\n',
    );
  });

  it('gives the same replies when the group arrives one byte per write', async () => {
    const gw = await startGateway();
    const client = await afterEhlo(gw.port);
    client.socket.setNoDelay(true);
    const bytes = Buffer.from(`${GROUP}x\r\n.\r\nNOOP\r\n`);
    for (const byte of bytes) await client.send(Buffer.from([byte]));
    expect((await client.readReplies(6)).map((r) => r.raw)).toEqual([
      ...GROUP_REPLIES,
      '250 2.0.0 Message accepted\r\n',
      '250 2.0.0 OK\r\n',
    ]);
    expect(gw.messages[0]!.body.toString()).toBe('x\r\n');
  });
});
