// Calls reuse pooled keep-alive connections, and a function that closes them is never mistaken for a failure.
import { afterEach, describe, expect, it } from 'vitest';
import { json, startFunctionServer } from '../../helpers/function-server.ts';
import { afterEhlo, sendData } from '../../helpers/smtp-client.ts';
import { startBridge } from '../../helpers/start-bridge.ts';
import { waitUntil } from '../../helpers/wait.ts';
import { cleanUp, MESSAGE } from './steps.ts';

afterEach(cleanUp);

describe('keep-alive', () => {
  it('several messages in a row reuse pooled connections', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url });
    const client = await afterEhlo(bridge.port);
    const count = 8;
    for (let i = 0; i < count; i++) {
      expect((await client.command(`MAIL FROM:<a${i}@client.test>`)).code).toBe(250);
      expect((await client.command('RCPT TO:<b@mx.test>')).code).toBe(250);
      expect((await sendData(client, MESSAGE)).raw).toBe('250 2.0.0 Message accepted\r\n');
    }
    expect(fn.requests).toHaveLength(2 * count);
    // One call at a time: one pooled connection carries them all.
    expect(fn.connectionCount).toBe(1);
    expect(new Set(fn.requests.map((r) => r.connection))).toEqual(new Set([1]));
  });

  it('a function that closes idle connections quickly (keepAliveTimeout 50 ms) causes no 451', async () => {
    const fn = await startFunctionServer();
    fn.server.keepAliveTimeout = 50;
    const bridge = await startBridge({ functionUrl: fn.url });
    const client = await afterEhlo(bridge.port);
    for (let i = 0; i < 3; i++) {
      expect((await client.command('MAIL FROM:<a@client.test>')).code).toBe(250);
      expect((await client.command('RCPT TO:<b@mx.test>')).code).toBe(250);
      expect((await sendData(client, MESSAGE)).raw).toBe('250 2.0.0 Message accepted\r\n');
      // The function server has hung up on every idle connection before the next message.
      await waitUntil(() => fn.openConnections === 0, 'the function to close idle connections');
    }
    expect(fn.requestsFor('data')).toHaveLength(3);
  });

  it('a function that drops the connection right after each answer causes no 451 and no duplicate call', async () => {
    const fn = await startFunctionServer();
    fn.answer('rcpt', json({ action: 'accept' }, { closeAfter: true }));
    fn.answer('data', json({ action: 'accept' }, { closeAfter: true }));
    const bridge = await startBridge({ functionUrl: fn.url });
    const client = await afterEhlo(bridge.port);
    const count = 10;
    for (let i = 0; i < count; i++) {
      // Pipelined (RFC 2920), so the data call follows the rcpt answer as closely as it can.
      await client.send('MAIL FROM:<a@client.test>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\n');
      const replies = await client.readReplies(3);
      expect(replies.map((r) => r.code)).toEqual([250, 250, 354]);
      await client.send(`${MESSAGE}.\r\n`);
      expect((await client.readReply()).raw).toBe('250 2.0.0 Message accepted\r\n');
    }
    // A call on a connection that was already gone never reached the function; retried, it did, once.
    expect(fn.requestsFor('rcpt')).toHaveLength(count);
    expect(fn.requestsFor('data')).toHaveLength(count);
  });
});

describe('a pooled connection that died as it was reused', () => {
  // A small body goes out as one Buffer, a large one (over 256 KiB of JSON) as a stream.
  const messages = {
    small: MESSAGE,
    large: `Subject: large\r\n\r\n${'0123456789abcdef'.repeat(4).concat('\r\n').repeat(8000)}`,
  };
  it.each(Object.keys(messages) as (keyof typeof messages)[])(
    'is retried once on a new connection (%s body): the function sees the call once, the client 250',
    async (size) => {
      const message = messages[size];
      const fn = await startFunctionServer();
      // Each rcpt answer dooms its connection: the data call that reuses it is reset unread.
      fn.answer('rcpt', json({ action: 'accept' }, { resetNext: true }));
      const bridge = await startBridge({ functionUrl: fn.url });
      const client = await afterEhlo(bridge.port);
      const count = 3;
      for (let i = 0; i < count; i++) {
        expect((await client.command('MAIL FROM:<a@client.test>')).code).toBe(250);
        expect((await client.command('RCPT TO:<b@mx.test>')).code).toBe(250);
        expect((await sendData(client, message)).raw).toBe('250 2.0.0 Message accepted\r\n');
      }
      expect(fn.droppedRequests).toBe(count);
      const data = fn.requestsFor('data');
      const rcpt = fn.requestsFor('rcpt');
      expect(data).toHaveLength(count);
      for (let i = 0; i < count; i++) {
        expect(data[i]!.connection).not.toBe(rcpt[i]!.connection);
        const raw = Buffer.from(data[i]!.body.message.raw!, 'base64').toString('latin1');
        expect(raw.endsWith(message)).toBe(true);
      }
    },
  );
});
