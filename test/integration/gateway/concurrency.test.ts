// Many sessions at once over real sockets: every message accepted once, every session cleaned up.
import { afterEach, describe, expect, it } from 'vitest';
import { destroyAllClients, greeted, type SmtpReply } from '../../helpers/smtp-client.ts';
import { startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';
import { waitUntil } from '../../helpers/wait.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
});

const SESSIONS = 200;

/** One whole session, pipelined where RFC 2920 allows it; returns the reply to the message. */
async function sendOne(port: number, n: number): Promise<SmtpReply> {
  const client = await greeted(port);
  await client.command(`EHLO client${n}.test`);
  await client.send(`MAIL FROM:<sender${n}@client.test>\r\nRCPT TO:<rcpt${n}@mx.test>\r\nDATA\r\n`);
  const group = await client.readReplies(3);
  if (group[2]!.code !== 354) throw new Error(`session ${n}: ${group.map((r) => r.raw).join('')}`);
  await client.send(`Subject: message ${n}\r\n\r\nbody of message ${n}\r\n.\r\nQUIT\r\n`);
  const final = await client.readReply();
  await client.readUntilClosed();
  return final;
}

describe(`${SESSIONS} concurrent sessions`, () => {
  it('each get 250 for their one message, and every session is gone afterwards', async () => {
    const gw = await startGateway();
    const replies = await Promise.all(
      Array.from({ length: SESSIONS }, (_, n) => sendOne(gw.port, n)),
    );
    expect(replies.filter((r) => r.raw === '250 2.0.0 Message accepted\r\n')).toHaveLength(
      SESSIONS,
    );
    expect(gw.messages).toHaveLength(SESSIONS);
    // Each message arrived once, with its own envelope.
    const bodies = new Set(gw.messages.map((m) => m.body.toString()));
    expect(bodies.size).toBe(SESSIONS);
    for (const message of gw.messages) {
      const n = /message (\d+)\r\n/.exec(message.body.toString())![1];
      expect(message.call.envelope.rcptTo).toEqual([{ address: `rcpt${n}@mx.test`, params: {} }]);
      expect(message.call.session.helo).toBe(`client${n}.test`);
    }
    expect(new Set(gw.messages.map((m) => m.call.session.id)).size).toBe(SESSIONS);
    await waitUntil(() => gw.gateway.sessionCount === 0, 'every session to end');
    expect(gw.gateway.bytesInFlight).toBe(0);
  });

  it('keep their answers apart when the data hook answers out of order', async () => {
    const gw = await startGateway({
      script: {
        data: ({ message }) => {
          const n = Number(/message (\d+)\r\n/.exec(Buffer.concat(message.chunks).toString())![1]);
          // Odd messages are refused, and every answer takes a different time.
          const answer = n % 2 === 0 ? { action: 'accept' } : { action: 'reject' };
          return new Promise((resolve) => setTimeout(() => resolve(answer), (n * 7) % 50));
        },
      },
    });
    const replies = await Promise.all(
      Array.from({ length: SESSIONS }, (_, n) => sendOne(gw.port, n).then((r) => [n, r] as const)),
    );
    for (const [n, reply] of replies) {
      expect(reply.raw).toBe(
        n % 2 === 0 ? '250 2.0.0 Message accepted\r\n' : '554 5.7.1 Message rejected\r\n',
      );
    }
    await waitUntil(() => gw.gateway.sessionCount === 0, 'every session to end');
  });
});
