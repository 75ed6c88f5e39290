// Limits and abuse defences over real sockets: line and message size, recipients, errors, timeouts.
import { afterEach, describe, expect, it } from 'vitest';
import {
  afterEhlo,
  destroyAllClients,
  greeted,
  inTransaction,
  SmtpClient,
  sendData,
  transaction,
} from '../../helpers/smtp-client.ts';
import { gate, startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';
import { waitUntil } from '../../helpers/wait.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
});

const TOO_BIG = '552 5.3.4 Message size exceeds fixed maximum message size\r\n';

describe('line length', () => {
  it('answers a 600-octet command line with 500 5.5.2 and stays usable (RFC 5321 §4.5.3.1.4)', async () => {
    const gw = await startGateway();
    const client = await afterEhlo(gw.port);
    expect((await client.command(`NOOP ${'x'.repeat(593)}`)).raw).toBe(
      '500 5.5.2 Line too long\r\n',
    );
    expect((await client.command(`EHLO ${'a'.repeat(594)}`)).raw).toBe(
      '500 5.5.2 Line too long\r\n',
    );
    expect(gw.callsOf('helo')).toHaveLength(1);
    await transaction(client, 'a@client.test', ['b@mx.test']);
    expect((await sendData(client, 'x\r\n')).code).toBe(250);
  });

  it('answers a 20 KB line without a newline once, then serves the next command', async () => {
    const gw = await startGateway();
    const client = await afterEhlo(gw.port);
    await client.send('X'.repeat(20_000));
    expect((await client.readReply()).raw).toBe('500 5.5.2 Line too long\r\n');
    // The rest of the over-long line is dropped up to its newline; then commands work again.
    await client.send(`${'Y'.repeat(5_000)}\r\nNOOP\r\n`);
    expect((await client.readReply()).raw).toBe('250 2.0.0 OK\r\n');
    expect((await client.command('MAIL FROM:<a@client.test>')).code).toBe(250);
  });

  it('answers a 20 KB line with its newline once', async () => {
    const gw = await startGateway();
    const client = await afterEhlo(gw.port);
    await client.send(`MAIL FROM:<${'x'.repeat(20_000)}@client.test>\r\nNOOP\r\n`);
    expect((await client.readReplies(2)).map((r) => r.raw)).toEqual([
      '500 5.5.2 Line too long\r\n',
      '250 2.0.0 OK\r\n',
    ]);
    expect(gw.callsOf('mail')).toHaveLength(0);
  });

  it('refuses a message line over 1000 octets when longLines is "reject"', async () => {
    const gw = await startGateway({ longLines: 'reject' });
    const client = await inTransaction(gw.port);
    expect((await sendData(client, `Subject: long\r\n\r\n${'z'.repeat(999)}\r\n`)).raw).toBe(
      '550 5.5.2 Message contains a line longer than 1000 octets (RFC 5321 section 4.5.3.1.6)\r\n',
    );
    await transaction(client, 'a@client.test', ['b@mx.test']);
    expect((await sendData(client, `Subject: ok\r\n\r\n${'z'.repeat(998)}\r\n`)).code).toBe(250);
    expect(gw.messages).toHaveLength(1);
  });
});

describe('message size', () => {
  it('answers 552 5.3.4 only after the whole message was read, then takes the next one', async () => {
    const gw = await startGateway({ maxMessageBytes: 1_000 });
    const client = await inTransaction(gw.port);
    expect((await client.command('DATA')).code).toBe(354);
    // Lines that would be commands if the gateway stopped reading the message early.
    await client.send(`Subject: big\r\n\r\n${'MAIL FROM:<smuggled@x>\r\n'.repeat(200)}.\r\n`);
    expect((await client.readReply()).raw).toBe(TOO_BIG);
    expect((await client.command('NOOP')).raw).toBe('250 2.0.0 OK\r\n');
    expect(gw.messages).toHaveLength(0);
    expect(gw.gateway.bytesInFlight).toBe(0);
    await transaction(client, 'a@client.test', ['b@mx.test']);
    expect((await sendData(client, 'Subject: small\r\n\r\nfits\r\n')).code).toBe(250);
    expect(gw.callsOf('mail')).toHaveLength(2);
  });

  it('counts the limit on the unstuffed bytes the client sent, not the Received header', async () => {
    const gw = await startGateway({ maxMessageBytes: 100 });
    const client = await inTransaction(gw.port);
    expect((await sendData(client, `${'a'.repeat(98)}\r\n`)).code).toBe(250);
    await transaction(client, 'a@client.test', ['b@mx.test']);
    expect((await sendData(client, `${'a'.repeat(99)}\r\n`)).raw).toBe(TOO_BIG);
  });
});

describe('recipients', () => {
  it('answers 452 4.5.3 to one recipient more than maxRecipients, and delivers to the rest', async () => {
    const gw = await startGateway({ maxRecipients: 3 });
    const client = await inTransaction(gw.port, { to: ['r1@mx.test', 'r2@mx.test', 'r3@mx.test'] });
    expect((await client.command('RCPT TO:<r4@mx.test>')).raw).toBe(
      '452 4.5.3 Too many recipients\r\n',
    );
    expect(gw.callsOf('rcpt')).toHaveLength(3);
    expect((await sendData(client, 'x\r\n')).code).toBe(250);
    expect(gw.messages[0]!.call.envelope.rcptTo).toHaveLength(3);
  });
});

describe('bad commands', () => {
  it('closes with 421 4.7.0 after maxBadCommands errors', async () => {
    const gw = await startGateway({ maxBadCommands: 3 });
    const client = await greeted(gw.port);
    expect((await client.command('FROB')).code).toBe(500);
    expect((await client.command('RCPT TO:<a@mx.test>')).code).toBe(503);
    await client.send('FROB\r\n');
    expect(await client.readUntilClosed()).toBe(
      '500 5.5.2 Command not recognized\r\n421 4.7.0 Too many errors, closing connection\r\n',
    );
  });

  it('does not count policy refusals as bad commands', async () => {
    const gw = await startGateway({
      maxBadCommands: 2,
      script: { rcpt: () => ({ action: 'reject' }) },
    });
    const client = await afterEhlo(gw.port);
    await client.command('MAIL FROM:<a@client.test>');
    for (let i = 0; i < 5; i++)
      expect((await client.command(`RCPT TO:<r${i}@mx.test>`)).code).toBe(550);
    expect((await client.command('NOOP')).code).toBe(250);
  });
});

describe('timeouts', () => {
  it('closes an idle session with 421 4.4.2', async () => {
    const gw = await startGateway({ idleTimeoutMs: 300 });
    const client = await SmtpClient.connect(gw.port);
    expect(await client.readUntilClosed()).toBe(
      '220 mx.test ESMTP mxhook\r\n421 4.4.2 Idle timeout, closing connection\r\n',
    );
    await waitUntil(() => gw.gateway.sessionCount === 0, 'the session to end');
  });

  it('closes a session that stalls inside DATA after dataTimeoutMs, without a data call', async () => {
    const gw = await startGateway({ idleTimeoutMs: 60_000, dataTimeoutMs: 300 });
    const client = await inTransaction(gw.port);
    expect((await client.command('DATA')).code).toBe(354);
    await client.send('Subject: stalled\r\n\r\nhalf a mess');
    expect(await client.readUntilClosed()).toBe(
      '421 4.4.2 Timeout waiting for message data, closing connection\r\n',
    );
    expect(gw.messages).toHaveLength(0);
    await waitUntil(() => gw.gateway.bytesInFlight === 0, 'the held bytes to be released');
  });

  it('closes a session that stalls inside a BDAT chunk after dataTimeoutMs', async () => {
    const gw = await startGateway({ idleTimeoutMs: 60_000, dataTimeoutMs: 300 });
    const client = await inTransaction(gw.port);
    await client.send('BDAT 100 LAST\r\nonly a few bytes');
    expect(await client.readUntilClosed()).toBe(
      '421 4.4.2 Timeout waiting for message data, closing connection\r\n',
    );
    expect(gw.messages).toHaveLength(0);
  });

  it('does not count the time a hook takes as client idleness', async () => {
    const slow = gate<'rcpt'>();
    const gw = await startGateway({ idleTimeoutMs: 1_000, script: { rcpt: slow.hook } });
    const client = await greeted(gw.port);
    await client.send('EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<b@mx.test>\r\n');
    expect((await client.readReplies(2)).map((r) => r.code)).toEqual([250, 250]);
    await gw.waitForCall('rcpt');
    // Longer than the idle timeout, measured by the gateway's own timer firing on another session.
    const witness = await greeted(gw.port);
    expect(await witness.readUntilClosed()).toBe('421 4.4.2 Idle timeout, closing connection\r\n');
    slow.open(undefined);
    expect((await client.readReply()).raw).toBe('250 2.1.5 Recipient OK\r\n');
  });
});

describe('connections', () => {
  it('refuses a connection over maxConnections with 421 4.7.0 and closes it', async () => {
    const gw = await startGateway({ maxConnections: 3 });
    const clients = [await greeted(gw.port), await greeted(gw.port), await greeted(gw.port)];
    const fourth = await SmtpClient.connect(gw.port);
    expect(await fourth.readUntilClosed()).toBe(
      '421 4.7.0 Too many connections, try again later\r\n',
    );
    expect(gw.callsOf('connect')).toHaveLength(3);
    // A freed slot is usable again.
    expect((await clients[0]!.command('QUIT')).code).toBe(221);
    await waitUntil(() => gw.gateway.sessionCount === 2, 'the session to end');
    const fifth = await afterEhlo(gw.port);
    expect((await fifth.command('NOOP')).code).toBe(250);
  });

  it('exempts loopback clients from maxConnectionsPerIp', async () => {
    // The per-address cap skips loopback, as Postfix exempts its own networks. Every test
    // connection comes from 127.0.0.1, so only the exemption can be shown here: more sessions
    // than the cap, all greeted.
    const gw = await startGateway({ maxConnectionsPerIp: 2 });
    const clients = await Promise.all([1, 2, 3, 4, 5].map(() => greeted(gw.port)));
    expect(gw.gateway.sessionCount).toBe(5);
    for (const client of clients) expect((await client.command('NOOP')).code).toBe(250);
  });
});

describe('early talkers', () => {
  it('refuses a client that talks before the banner with 554 5.5.1 and closes', async () => {
    const slow = gate<'connect'>();
    const gw = await startGateway({ script: { connect: slow.hook } });
    const client = await SmtpClient.connect(gw.port);
    await gw.waitForCall('connect');
    await client.send('EHLO x\r\n');
    expect(await client.readUntilClosed()).toBe(
      '554 5.5.1 Protocol error: client sent data before the greeting\r\n',
    );
    expect(gw.callsOf('helo')).toHaveLength(0);
    slow.open(undefined);
  });

  it('catches an early talker during greetingDelayMs without a connect hook', async () => {
    const gw = await startGateway({ greetingDelayMs: 3_000 });
    const client = await SmtpClient.connect(gw.port);
    await client.send('EHLO x\r\nMAIL FROM:<spam@x>\r\n');
    expect(await client.readUntilClosed()).toBe(
      '554 5.5.1 Protocol error: client sent data before the greeting\r\n',
    );
    expect(gw.callsOf('helo')).toHaveLength(0);
  });

  it('refuses an HTTP client, which talks first, as an early talker', async () => {
    const gw = await startGateway({ greetingDelayMs: 3_000 });
    const client = await SmtpClient.connect(gw.port);
    await client.send('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(await client.readUntilClosed()).toMatch(/^554 5\.5\.1 /);
  });
});

describe('memory', () => {
  it('keeps serving others while a client sends 10,000 NOOPs and reads no reply', async () => {
    // The junk-command limit would end the flood early; this is about memory and back-pressure.
    const gw = await startGateway({ maxJunkCommands: 20_000 });
    const flooder = await afterEhlo(gw.port);
    flooder.pauseReading();
    const heapBefore = process.memoryUsage().heapUsed;
    void flooder.send('NOOP\r\n'.repeat(10_000)).catch(() => {});

    const other = await inTransaction(gw.port);
    expect((await sendData(other, 'Subject: meanwhile\r\n\r\nstill served\r\n')).code).toBe(250);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);

    // Nothing was dropped: once the flooder reads, every NOOP has its reply, in order.
    flooder.resumeReading();
    for (let i = 0; i < 10_000; i++) {
      const reply = await flooder.readReply();
      if (reply.raw !== '250 2.0.0 OK\r\n') throw new Error(`reply ${i}: ${reply.raw}`);
    }
    expect((await flooder.command('QUIT')).code).toBe(221);
  });

  it('stops reading from a client that reads none of its replies', async () => {
    let received = 0;
    const gw = await startGateway({
      maxJunkCommands: 2_000_000, // as above: the flood must not end at the junk-command limit
      observer: {
        bytesReceived: (count) => {
          received += count;
        },
      },
    });
    const flooder = await afterEhlo(gw.port);
    flooder.pauseReading();
    const before = received;
    // 6 MB of commands would make 16 MB of replies; far more than socket buffers hold.
    const flood = 'NOOP\r\n'.repeat(1_000_000);
    void flooder.send(flood).catch(() => {});
    // There is no event for "stopped reading": wait until the count holds still for 20 polls.
    let last = -1;
    let steady = 0;
    await waitUntil(() => {
      const now = received - before;
      steady = now === last ? steady + 1 : 0;
      last = now;
      return steady >= 20;
    }, 'the gateway to stop reading from the flooder');
    expect(last).toBeLessThan(flood.length);

    const other = await inTransaction(gw.port);
    expect((await sendData(other, 'Subject: meanwhile\r\n\r\nstill served\r\n')).code).toBe(250);
    flooder.destroy();
    await waitUntil(() => gw.gateway.sessionCount === 1, 'the flooder session to end');
  });

  it('answers 452 4.3.1 to DATA and BDAT while held message bytes exceed maxBytesInFlight', async () => {
    const held = gate<'data'>();
    const gw = await startGateway({ maxBytesInFlight: 1_000, script: { data: held.hook } });
    const holder = await inTransaction(gw.port);
    expect((await holder.command('DATA')).code).toBe(354);
    // Exactly the budget: a message that would pass it is itself refused after its end.
    await holder.send(`Subject: held\r\n\r\n${'h'.repeat(981)}\r\n.\r\n`);
    await gw.waitForCall('data');
    expect(gw.gateway.bytesInFlight).toBe(1_000);

    const other = await inTransaction(gw.port);
    expect((await other.command('DATA')).raw).toBe(
      '452 4.3.1 Insufficient system storage, try again later\r\n',
    );
    // After a refused DATA the client must show it read the refusal before a BDAT is a command.
    expect((await other.command('NOOP')).code).toBe(250);
    await other.send('BDAT 6 LAST\r\nNOOP\r\nNOOP\r\n');
    expect((await other.readReplies(2)).map((r) => r.raw)).toEqual([
      '452 4.3.1 Insufficient system storage, try again later\r\n',
      '250 2.0.0 OK\r\n',
    ]);

    held.open({ action: 'accept' });
    expect((await holder.readReply()).code).toBe(250);
    expect(gw.gateway.bytesInFlight).toBe(0);
    await transaction(other, 'a@client.test', ['b@mx.test']);
    expect((await sendData(other, 'x\r\n')).code).toBe(250);
  });
});
