// Fault: `mxhook serve` receives SIGTERM with 50 transactions in flight; it drains them and exits 0.
import { afterEach, describe, expect, it } from 'vitest';
import { dotStuff } from '../helpers/dot-stuff.ts';
import { FaultFunction, stopAllFaultFunctions } from '../helpers/faults/fault-function.ts';
import { GatewayProcess, killAllGatewayProcesses } from '../helpers/faults/gateway-process.ts';
import { checkPromise } from '../helpers/faults/promise.ts';
import { testSeed, withSeed } from '../helpers/faults/seed.ts';
import { messageFor, type Outcome } from '../helpers/faults/send-message.ts';
import { destroyAllClients, SmtpClient } from '../helpers/smtp-client.ts';
import { newSecret } from '../helpers/start-bridge.ts';
import { waitUntil } from '../helpers/wait.ts';

afterEach(async () => {
  destroyAllClients();
  await killAllGatewayProcesses();
  await stopAllFaultFunctions();
});

const SHUTTING_DOWN = '421 4.3.2 mx.test shutting down, try again later\r\n';
const CLIENTS = 50;

/** A client past DATA's 354 that has sent the first half of its message. */
interface Sending {
  readonly id: string;
  readonly client: SmtpClient;
  readonly rest: Buffer;
}

async function startSending(port: number, id: string): Promise<Sending> {
  const client = await SmtpClient.connect(port);
  const expectCode = async (code: number, line?: string): Promise<void> => {
    if (line !== undefined) await client.send(`${line}\r\n`);
    const reply = await client.readReply();
    if (reply.code !== code) throw new Error(`${id}: ${line ?? 'banner'} got ${reply.raw}`);
  };
  await expectCode(220);
  await expectCode(250, 'EHLO client.test');
  await expectCode(250, 'MAIL FROM:<sender@client.test>');
  await expectCode(250, 'RCPT TO:<rcpt@mx.test>');
  await expectCode(354, 'DATA');
  const wire = dotStuff(messageFor(id, { bodyBytes: 2_000 }));
  await client.send(wire.subarray(0, wire.length >> 1));
  return { id, client, rest: wire.subarray(wire.length >> 1) };
}

/** The final reply to the message, then what the gateway says before it closes. */
async function finish(sending: Sending, sendRest: boolean): Promise<Outcome & { after: string }> {
  const { id, client } = sending;
  if (sendRest) await client.send(sending.rest).catch(() => {});
  try {
    const reply = await client.readReply();
    const after = await client.readUntilClosed();
    return { id, code: reply.code, step: 'message', reply: reply.raw, after };
  } catch (error) {
    return { id, code: null, step: 'message', reply: (error as Error).message, after: '' };
  }
}

function gatewayEnv(fn: FaultFunction, grace: string): Record<string, string> {
  return {
    MXHOOK_FUNCTION_URL: fn.url,
    MXHOOK_SIGNING_SECRET: newSecret(),
    MXHOOK_HOSTNAME: 'mx.test',
    MXHOOK_STEPS: 'data',
    MXHOOK_PAYLOAD: 'raw',
    MXHOOK_FUNCTION_TIMEOUT: '10',
    MXHOOK_SHUTDOWN_GRACE: grace,
  };
}

describe('SIGTERM to mxhook serve', () => {
  it(`with ${CLIENTS} transactions in flight: each finishes with 250 then 421 4.3.2, and the process exits 0`, async () => {
    const seed = testSeed();
    await withSeed(seed, async () => {
      const fn = await FaultFunction.start({ mode: 'slow', slowMs: [300, 900], seed });
      const gateway = await GatewayProcess.start(gatewayEnv(fn, '20'));
      const sessions = await Promise.all(
        Array.from({ length: CLIENTS }, (_, i) => startSending(gateway.port, `term-${seed}-${i}`)),
      );
      // Half finish their message now, so their data calls are running when the signal comes;
      // the other half are still in the middle of DATA and finish after it.
      const inCall = sessions.slice(0, CLIENTS / 2);
      const midData = sessions.slice(CLIENTS / 2);
      const callOutcomes = inCall.map((s) => finish(s, true));
      await fn.waitFor(() => fn.ledger.receivedCount() >= inCall.length, 'the data calls to start');

      gateway.signal('SIGTERM');
      const started = performance.now();
      await waitUntil(
        () => gateway.stderr.includes('SIGTERM received, draining sessions'),
        'the gateway to start draining',
      );
      // New connections are no longer taken.
      await expect(
        SmtpClient.connect(gateway.port).then((c) => c.readReply(2_000)),
      ).rejects.toThrow();
      const dataOutcomes = midData.map((s) => finish(s, true));
      const outcomes = await Promise.all([...callOutcomes, ...dataOutcomes]);
      const exit = await gateway.exited;

      expect(exit).toEqual({ code: 0, signal: null });
      expect(performance.now() - started).toBeLessThan(15_000);
      await fn.sync();
      expect(checkPromise(outcomes, fn.ledger, `seed ${seed}`)).toMatchObject({
        accepted: CLIENTS,
      });
      for (const outcome of outcomes) expect(outcome.after).toBe(SHUTTING_DOWN);
    });
  });

  it('with data calls that outlast the grace period: they get 451, never 250, and the process exits 0', async () => {
    const fn = await FaultFunction.start({ mode: 'hang' });
    const gateway = await GatewayProcess.start(gatewayEnv(fn, '0.3'));
    const sessions = await Promise.all(
      Array.from({ length: 10 }, (_, i) => startSending(gateway.port, `grace-${i}`)),
    );
    const pending = sessions.map((s) => finish(s, true));
    await fn.waitFor(() => fn.ledger.receivedCount() >= 10, 'the data calls to start');
    gateway.signal('SIGTERM');
    const outcomes = await Promise.all(pending);
    expect(await gateway.exited).toEqual({ code: 0, signal: null });
    await fn.sync();
    expect(checkPromise(outcomes, fn.ledger)).toMatchObject({ accepted: 0 });
    // Each cancelled call's 451 goes out before the socket is closed.
    for (const outcome of outcomes)
      expect(outcome.reply).toBe('451 4.3.0 Temporary failure, please try again later\r\n');
  });
});
