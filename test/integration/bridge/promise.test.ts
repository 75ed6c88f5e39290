// The one promise: no 250 to DATA unless the data function accepted, even when the gateway stops or the client leaves mid-call.
import { afterEach, describe, expect, it } from 'vitest';
import { dotStuff } from '../../helpers/dot-stuff.ts';
import { gated, json, startFunctionServer } from '../../helpers/function-server.ts';
import { inTransaction } from '../../helpers/smtp-client.ts';
import { BRIDGE_HOSTNAME, startBridge } from '../../helpers/start-bridge.ts';
import { waitUntil } from '../../helpers/wait.ts';
import { cleanUp, expectNormalTransaction, HOOK_FAILED, MESSAGE } from './steps.ts';

afterEach(cleanUp);

const SHUTTING_DOWN = `421 4.3.2 ${BRIDGE_HOSTNAME} shutting down, try again later\r\n`;

/** A session whose message is complete and whose data call has reached the function. */
async function inDataCall(port: number, message = MESSAGE) {
  const client = await inTransaction(port, { from: 'a@client.test', to: ['b@mx.test'] });
  expect((await client.command('DATA')).code).toBe(354);
  await client.send(dotStuff(Buffer.from(message)));
  return client;
}

describe('gateway shutdown during the data call', () => {
  it.each([
    ['its accept reaches the client', 'accept', '250 2.0.0 Message accepted\r\n'],
    ['a reject is passed on as is', 'reject', '554 5.7.1 Message rejected\r\n'],
  ] as const)(
    'within the grace period the function still decides: %s, then 421',
    async (_what, action, reply) => {
      const fn = await startFunctionServer();
      const gate = gated();
      fn.answer('data', gate.responder);
      const bridge = await startBridge({
        functionUrl: fn.url,
        env: { MXHOOK_SHUTDOWN_GRACE: '30' },
      });
      const client = await inDataCall(bridge.port);
      await fn.waitForRequest('data');

      const stopping = bridge.stop();
      gate.open(json({ action }));
      expect((await client.readReply()).raw).toBe(reply);
      expect((await client.readReply()).raw).toBe(SHUTTING_DOWN);
      await client.expectClosed();
      await stopping;
    },
  );

  it.each(['0', '0.2'])(
    'MXHOOK_SHUTDOWN_GRACE=%s and a function that has not answered: the client gets 451, never 250',
    async (grace) => {
      const fn = await startFunctionServer();
      const gate = gated();
      fn.answer('data', gate.responder);
      const bridge = await startBridge({
        functionUrl: fn.url,
        env: { MXHOOK_SHUTDOWN_GRACE: grace },
      });
      const client = await inDataCall(bridge.port);
      const call = await fn.waitForRequest('data');

      const stopping = bridge.stop();
      expect((await client.readReply()).raw).toBe(HOOK_FAILED);
      // The gateway hung up on the function; an accept that comes now reaches nobody.
      await call.aborted;
      gate.open(json({ action: 'accept' }));
      const rest = await client.readUntilClosed();
      expect(rest).not.toMatch(/^250/m);
      expect(['', SHUTTING_DOWN]).toContain(rest);
      await stopping;
      expect(bridge.running.gateway.sessionCount).toBe(0);
    },
  );

  it('an idle session is told 421 at once, and new connections are no longer served', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url });
    const idle = await inTransaction(bridge.port);
    await idle.command('RSET');
    await bridge.stop();
    expect(await idle.readUntilClosed()).toBe(SHUTTING_DOWN);
    expect(fn.requestsFor('data')).toHaveLength(0);
  });
});

describe('the client disconnecting during the data call', () => {
  // A large message's call body is streamed (over 256 KiB of JSON); a small one is one Buffer.
  const LARGE = `Subject: large\r\n\r\n${'0123456789abcdef'.repeat(4).concat('\r\n').repeat(8000)}`;
  it.each([
    ['small', MESSAGE],
    ['large', LARGE],
  ])(
    'cancels the call (%s message), frees the session and its bytes, and the gateway keeps serving',
    async (_, message) => {
      const fn = await startFunctionServer();
      const gate = gated();
      fn.answerOnce('data', gate.responder);
      const bridge = await startBridge({ functionUrl: fn.url });
      const client = await inDataCall(bridge.port, message);
      const call = await fn.waitForRequest('data');
      const { gateway } = bridge.running;
      expect(gateway.sessionCount).toBe(1);

      client.destroy();
      await call.aborted;
      await waitUntil(() => gateway.sessionCount === 0, 'the session to close');
      expect(gateway.bytesInFlight).toBe(0);
      // An answer that comes after the client left changes nothing.
      gate.open(json({ action: 'accept' }));
      await expectNormalTransaction(bridge.port);
      await waitUntil(() => gateway.sessionCount === 0, 'the second session to close');
    },
  );
});
