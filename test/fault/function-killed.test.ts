// Fault: the function process is SIGKILLed while data calls are in flight, then started again.
import { afterEach, describe, expect, it } from 'vitest';
import { expectRecovered, faultBridge, HOOK_FAILED } from '../helpers/faults/fault-bridge.ts';
import { FaultFunction, stopAllFaultFunctions } from '../helpers/faults/fault-function.ts';
import { checkPromise } from '../helpers/faults/promise.ts';
import { testSeed, withSeed } from '../helpers/faults/seed.ts';
import { type Outcome, sendMessage } from '../helpers/faults/send-message.ts';
import { destroyAllClients } from '../helpers/smtp-client.ts';
import { stopAllBridges } from '../helpers/start-bridge.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllBridges();
  await stopAllFaultFunctions();
});

describe('the function process is killed during data calls', () => {
  it('gives 451 for every call in flight and while it is down, 250 only for what it accepted', async () => {
    const seed = testSeed();
    await withSeed(seed, async () => {
      const fn = await FaultFunction.start({ mode: 'slow', slowMs: [300, 700], seed });
      const bridge = await faultBridge(fn);
      const send = (id: string): Promise<Outcome> => sendMessage(bridge.port, id);
      const first = Array.from({ length: 10 }, (_, i) => send(`killed-${seed}-a${i}`));
      await fn.waitFor(() => fn.ledger.acceptedCount >= 3, '3 accepted calls');
      const second = Array.from({ length: 10 }, (_, i) => send(`killed-${seed}-b${i}`));
      await fn.waitFor(() => fn.ledger.receivedCount() >= 13, '13 calls in');
      await fn.kill();
      // While it is down, the gateway cannot connect: 451 at once, never 5xx.
      const whileDown = await Promise.all(
        Array.from({ length: 5 }, (_, i) => send(`killed-${seed}-c${i}`)),
      );
      const outcomes = [...(await Promise.all([...first, ...second])), ...whileDown];

      const summary = checkPromise(outcomes, fn.ledger, `seed ${seed}`);
      expect(summary.accepted).toBeGreaterThanOrEqual(3);
      // The calls the function had but never answered: the client was told 451, not left hanging.
      for (const outcome of outcomes) {
        if (fn.ledger.received.has(outcome.id) && !fn.ledger.accepted.has(outcome.id))
          expect(outcome.reply).toBe(HOOK_FAILED);
      }
      for (const outcome of whileDown) expect(outcome.reply).toBe(HOOK_FAILED);
      expect(summary.deferred).toBeGreaterThanOrEqual(5 + 1);

      await fn.restart('normal');
      await expectRecovered(bridge, fn, `killed-${seed}-after`);
    });
  });

  it('gives 451 when the function dies on receiving the call (X-Fault: die), to it and to the calls beside it', async () => {
    const seed = testSeed();
    await withSeed(seed, async () => {
      const fn = await FaultFunction.start({ mode: 'slow', slowMs: [400, 800], seed });
      const bridge = await faultBridge(fn);
      const beside = Array.from({ length: 6 }, (_, i) =>
        sendMessage(bridge.port, `die-${seed}-beside${i}`),
      );
      await fn.waitFor(() => fn.ledger.receivedCount() >= 6, 'the calls beside to be in');
      const dying = await sendMessage(bridge.port, `die-${seed}-dies`, { fault: 'die' });
      expect(dying.reply).toBe(HOOK_FAILED);
      const outcomes = [dying, ...(await Promise.all(beside))];
      const summary = checkPromise(outcomes, fn.ledger, `seed ${seed}`);
      expect(summary.deferred).toBeGreaterThanOrEqual(1);
      await fn.waitFor(() => !fn.alive, 'the function process to be gone');

      await fn.restart('normal');
      await expectRecovered(bridge, fn, `die-${seed}-after`);
    });
  });
});
