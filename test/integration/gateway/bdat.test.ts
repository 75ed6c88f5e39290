// CHUNKING (RFC 3030) over a real socket: exact byte counts, binary content, limits, sequencing.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { destroyAllClients, inTransaction, transaction } from '../../helpers/smtp-client.ts';
import { startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
});

const bdat = (content: Buffer | string, last = false): Buffer => {
  const bytes = Buffer.from(content);
  return Buffer.concat([Buffer.from(`BDAT ${bytes.length}${last ? ' LAST' : ''}\r\n`), bytes]);
};

describe('BDAT', () => {
  it('takes chunks of exactly the announced size and joins them', async () => {
    const gw = await startGateway();
    const client = await inTransaction(gw.port);
    await client.send(bdat('Subject: chunks\r\n\r\nhel'));
    expect((await client.readReply()).raw).toBe('250 2.0.0 22 octets received\r\n');
    await client.send(bdat('lo world\r\n', true));
    expect((await client.readReply()).raw).toBe('250 2.0.0 Message accepted\r\n');
    expect(gw.messages[0]!.body.toString()).toBe('Subject: chunks\r\n\r\nhello world\r\n');
    expect(gw.messages[0]!.received).toMatch(/with ESMTP id /);
  });

  it('passes binary content, <CRLF>.<CRLF>, bare LF and NUL through unchanged', async () => {
    const gw = await startGateway();
    const client = await inTransaction(gw.port);
    const content = Buffer.concat([
      Buffer.from('Subject: binary\r\n\r\n'),
      Buffer.from('\r\n.\r\nMAIL FROM:<smuggled@x>\r\n..\n.\n\x00\xff\xfe\r', 'latin1'),
      randomBytes(4096),
    ]);
    await client.send(bdat(content, true));
    expect((await client.readReply()).raw).toBe('250 2.0.0 Message accepted\r\n');
    expect(gw.messages[0]!.body.equals(content)).toBe(true);
    expect(gw.callsOf('mail')).toHaveLength(1);
  });

  it('ends a message with BDAT 0 LAST', async () => {
    const gw = await startGateway();
    const client = await inTransaction(gw.port);
    await client.send(bdat('Subject: zero\r\n\r\nbody\r\n'));
    expect((await client.readReply()).code).toBe(250);
    expect((await client.command('BDAT 0 LAST')).raw).toBe('250 2.0.0 Message accepted\r\n');
    expect(gw.messages[0]!.body.toString()).toBe('Subject: zero\r\n\r\nbody\r\n');
  });

  it('accepts an empty message sent as BDAT 0 LAST alone', async () => {
    const gw = await startGateway();
    const client = await inTransaction(gw.port);
    expect((await client.command('BDAT 0 LAST')).raw).toBe('250 2.0.0 Message accepted\r\n');
    expect(gw.messages[0]!.body.length).toBe(0);
    expect(gw.messages[0]!.received).toMatch(/^Received: /);
  });

  it('answers BDAT pipelined with its data and further commands in one write, in order', async () => {
    const gw = await startGateway();
    const client = await inTransaction(gw.port);
    await client.send(
      Buffer.concat([
        bdat('abcd'),
        bdat('xyz\r\n', true),
        Buffer.from('MAIL FROM:<c@client.test>\r\n'),
      ]),
    );
    expect((await client.readReplies(3)).map((r) => r.raw)).toEqual([
      '250 2.0.0 4 octets received\r\n',
      '250 2.0.0 Message accepted\r\n',
      '250 2.1.0 Sender OK\r\n',
    ]);
    expect(gw.messages[0]!.body.toString()).toBe('abcdxyz\r\n');
  });

  it('runs a whole pipelined transaction: MAIL, RCPT and BDAT LAST in one write', async () => {
    const gw = await startGateway();
    const client = await inTransaction(gw.port);
    await client.command('RSET');
    await client.send(
      Buffer.concat([
        Buffer.from('MAIL FROM:<a@client.test>\r\nRCPT TO:<b@mx.test>\r\n'),
        bdat('Subject: one write\r\n\r\nx\r\n', true),
      ]),
    );
    expect((await client.readReplies(3)).map((r) => r.code)).toEqual([250, 250, 250]);
    expect(gw.messages[0]!.body.toString()).toBe('Subject: one write\r\n\r\nx\r\n');
  });

  it('reads a chunk that arrives in many writes', async () => {
    const gw = await startGateway();
    const client = await inTransaction(gw.port);
    const content = randomBytes(100_000);
    await client.send(`BDAT ${content.length} LAST\r\n`);
    for (let at = 0; at < content.length; at += 9_999) {
      await client.send(content.subarray(at, at + 9_999));
    }
    expect((await client.readReply()).raw).toBe('250 2.0.0 Message accepted\r\n');
    expect(gw.messages[0]!.body.equals(content)).toBe(true);
  });

  it('refuses a chunk over the size limit with 552 5.3.4 only after consuming its bytes', async () => {
    const gw = await startGateway({ maxMessageBytes: 100 });
    const client = await inTransaction(gw.port);
    // 150 bytes that would be 25 commands if the gateway read them as such.
    await client.send(bdat('NOOP\r\n'.repeat(25), true));
    await client.send('NOOP\r\n');
    expect((await client.readReplies(2)).map((r) => r.raw)).toEqual([
      '552 5.3.4 Message size exceeds fixed maximum message size\r\n',
      '250 2.0.0 OK\r\n',
    ]);
    expect(gw.messages).toHaveLength(0);
    await transaction(client, 'a@client.test', ['b@mx.test']);
    expect((await client.command('BDAT 0 LAST')).code).toBe(250);
  });

  it('keeps refusing the rest of the chunks once the total went over the limit (RFC 3030 §2)', async () => {
    const gw = await startGateway({ maxMessageBytes: 100 });
    const client = await inTransaction(gw.port);
    await client.send(
      Buffer.concat([bdat('a'.repeat(60)), bdat('b'.repeat(60)), bdat('c'.repeat(10), true)]),
    );
    expect((await client.readReplies(3)).map((r) => r.raw)).toEqual([
      '250 2.0.0 60 octets received\r\n',
      '552 5.3.4 Message size exceeds fixed maximum message size\r\n',
      '552 5.3.4 Message size exceeds fixed maximum message size\r\n',
    ]);
    expect(gw.messages).toHaveLength(0);
    // The transaction ended with the last chunk.
    expect((await client.command('RCPT TO:<b@mx.test>')).raw).toBe(
      '503 5.5.1 Need MAIL command first\r\n',
    );
  });

  it('refuses DATA after BDAT in the same transaction with 503 (RFC 3030 §2)', async () => {
    const gw = await startGateway();
    const client = await inTransaction(gw.port);
    await client.send(bdat('abc'));
    expect((await client.readReply()).code).toBe(250);
    expect((await client.command('DATA')).raw).toBe(
      '503 5.5.1 DATA and BDAT cannot be mixed in one transaction\r\n',
    );
    expect((await client.command('RCPT TO:<c@mx.test>')).raw).toBe(
      '503 5.5.1 Transaction in progress, send RSET first\r\n',
    );
    expect((await client.command('BDAT 0 LAST')).raw).toBe('250 2.0.0 Message accepted\r\n');
    expect(gw.messages[0]!.body.toString()).toBe('abc');
  });

  it('consumes the chunk of a BDAT sent before MAIL and answers 503 once', async () => {
    const gw = await startGateway();
    const client = await inTransaction(gw.port);
    await client.command('RSET');
    await client.send(Buffer.concat([bdat('NOOP\r\n'), Buffer.from('NOOP\r\n')]));
    expect((await client.readReplies(2)).map((r) => r.raw)).toEqual([
      '503 5.5.1 Need MAIL command first\r\n',
      '250 2.0.0 OK\r\n',
    ]);
  });

  it('closes the session on BDAT without a usable size, since its chunk cannot be skipped', async () => {
    const gw = await startGateway();
    const client = await inTransaction(gw.port);
    await client.send('BDAT many\r\nMAIL FROM:<smuggled@x>\r\n');
    expect(await client.readUntilClosed()).toBe(
      '501 5.5.4 Syntax error: BDAT needs a chunk size and optional LAST\r\n',
    );
    expect(gw.callsOf('mail').map((c) => c.mailFrom.address)).toEqual(['sender@client.test']);
  });
});
