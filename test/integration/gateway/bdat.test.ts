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

/** `content` as the function gets it under MXHOOK_BARE_LF=normalize: every bare LF as CRLF. */
const withCrlf = (content: Buffer): string =>
  content.toString('latin1').replace(/(?<!\r)\n/g, '\r\n');

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

  it('passes binary content, <CRLF>.<CRLF> and NUL through unchanged, and bare LF as CRLF', async () => {
    const gw = await startGateway();
    const client = await inTransaction(gw.port);
    const content = Buffer.concat([
      Buffer.from('Subject: binary\r\n\r\n'),
      Buffer.from('\r\n.\r\nMAIL FROM:<smuggled@x>\r\n..\n.\n\x00\xff\xfe\r', 'latin1'),
      randomBytes(4096),
    ]);
    await client.send(bdat(content, true));
    expect((await client.readReply()).raw).toBe('250 2.0.0 Message accepted\r\n');
    // Postfix normalizes BDAT content to CRLF too: `\n.\n` never reaches a consumer raw.
    expect(gw.messages[0]!.body.toString('latin1')).toBe(withCrlf(content));
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
    expect(gw.messages[0]!.body.toString('latin1')).toBe(withCrlf(content));
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
    expect((await client.command('NOOP')).code).toBe(250); // shows the refusal was read
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

  it('closes the session on a BDAT size that cannot be a message, with 552 5.3.4', async () => {
    const gw = await startGateway({ maxMessageBytes: 1000 });
    const client = await inTransaction(gw.port);
    await client.send('BDAT 99999999999999999999 LAST\r\nMAIL FROM:<smuggled@x>\r\n');
    expect(await client.readUntilClosed()).toBe(
      '552 5.3.4 Message size exceeds fixed maximum message size\r\n',
    );
    // Within the skip allowance (the size limit again) a chunk is still read and refused.
    const next = await inTransaction(gw.port);
    await next.send(`BDAT 2000 LAST\r\n${'x'.repeat(2000)}NOOP\r\n`);
    expect((await next.readReplies(2)).map((r) => r.code)).toEqual([552, 250]);
    await next.send('BDAT 2001 LAST\r\n');
    expect(await next.readUntilClosed()).toBe(
      '552 5.3.4 Message size exceeds fixed maximum message size\r\n',
    );
    expect(gw.callsOf('mail').map((c) => c.mailFrom.address)).toEqual([
      'sender@client.test',
      'sender@client.test',
    ]);
  });
});

describe('BDAT and DATA treat the same message the same (RFC 3030 §2, Postfix)', () => {
  /** What a client sends after 354: dots doubled at line starts, bare LFs left as they are. */
  const stuffed = (content: string): string => `${content.replace(/(^|\r\n)\./g, '$1..')}.\r\n`;
  /** The message as BDAT commands of `size` bytes each (then BDAT 0 LAST), so CR LF pairs fall across commands. */
  const chunked = (content: string, size: number): Buffer[] => {
    const commands: Buffer[] = [];
    for (let at = 0; at < content.length; at += size) {
      commands.push(bdat(Buffer.from(content.slice(at, at + size), 'latin1')));
    }
    return [...commands, Buffer.from('BDAT 0 LAST\r\n')];
  };

  const MESSAGES = {
    plain: 'Subject: plain\r\n\r\nhello\r\n.dot\r\n',
    bareLf: 'Subject: bare\nX: y\r\n\r\nline\n.\nMAIL FROM:<s@x>\r\n',
    splitCrLf: 'Subject: split\r\n\r\na\rb\r\n\r\n',
    longLine: `Subject: long\r\n\r\n${'z'.repeat(1500)}\r\n`,
  };
  const POLICIES = [
    { bareLf: 'normalize', longLines: 'accept' },
    { bareLf: 'reject', longLines: 'accept' },
    { bareLf: 'normalize', longLines: 'reject' },
  ] as const;

  it.each(POLICIES)('gives the same replies and function bytes under %o', async (policy) => {
    const gw = await startGateway(policy);
    for (const content of Object.values(MESSAGES)) {
      const seen = gw.messages.length;
      const data = await inTransaction(gw.port);
      expect((await data.command('DATA')).code).toBe(354);
      await data.send(Buffer.from(stuffed(content), 'latin1'));
      const dataReply = (await data.readReply()).raw;
      const bodies = gw.messages.slice(seen).map((m) => m.body.toString('latin1'));

      const ways = [
        [bdat(Buffer.from(content, 'latin1'), true)],
        chunked(content, 1),
        chunked(content, 7),
      ];
      for (const commands of ways) {
        const before = gw.messages.length;
        const client = await inTransaction(gw.port);
        await client.send(Buffer.concat(commands));
        const replies = (await client.readReplies(commands.length)).map((r) => r.raw);
        expect(replies.at(-1)).toBe(dataReply);
        for (const reply of replies.slice(0, -1)) expect(reply).toMatch(/^250 2\.0\.0 \d+ octets/);
        expect(gw.messages.slice(before).map((m) => m.body.toString('latin1'))).toEqual(bodies);
      }
      data.destroy();
    }
  });
});
