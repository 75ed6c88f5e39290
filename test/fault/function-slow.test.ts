// Fault: the function answers slowly (200–800 ms, seeded) while 50 clients send at once.
import { afterEach, describe, expect, it } from 'vitest';
import { expectRecovered, faultBridge, HOOK_FAILED } from '../helpers/faults/fault-bridge.ts';
import { FaultFunction, stopAllFaultFunctions } from '../helpers/faults/fault-function.ts';
import { checkPromise } from '../helpers/faults/promise.ts';
import { testSeed, withSeed } from '../helpers/faults/seed.ts';
import { sendMessage } from '../helpers/faults/send-message.ts';
import { destroyAllClients } from '../helpers/smtp-client.ts';
import { stopAllBridges } from '../helpers/start-bridge.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllBridges();
  await stopAllFaultFunctions();
});

const CLIENTS = 50;

describe('a function answering slowly under load', () => {
  it(`delivers all ${CLIENTS} concurrent messages exactly once within the function timeout`, async () => {
    const seed = testSeed();
    await withSeed(seed, async () => {
      const fn = await FaultFunction.start({ mode: 'slow', slowMs: [200, 800], seed });
      const bridge = await faultBridge(fn, { MXHOOK_FUNCTION_TIMEOUT: '10' });
      const outcomes = await Promise.all(
        Array.from({ length: CLIENTS }, (_, i) =>
          sendMessage(bridge.port, `slow-${seed}-${i}`, { bodyBytes: 4_000 }),
        ),
      );
      await fn.sync();
      expect(checkPromise(outcomes, fn.ledger, `seed ${seed}`)).toMatchObject({
        accepted: CLIENTS,
        acceptedUnseen: 0,
      });
      await expectRecovered(bridge, fn, `slow-${seed}-after`);
    });
  });

  it('answers 451, never 250, to the calls that outlast a shorter function timeout', async () => {
    const seed = testSeed();
    await withSeed(seed, async () => {
      const fn = await FaultFunction.start({ mode: 'slow', slowMs: [200, 800], seed });
      const bridge = await faultBridge(fn, { MXHOOK_FUNCTION_TIMEOUT: '0.5' });
      const outcomes = await Promise.all(
        Array.from({ length: CLIENTS }, (_, i) => sendMessage(bridge.port, `late-${seed}-${i}`)),
      );
      await fn.sync();
      const summary = checkPromise(outcomes, fn.ledger, `seed ${seed}`);
      // Both sides of the timeout were exercised: some answers in time, some too late.
      expect(summary.accepted).toBeGreaterThan(0);
      expect(summary.deferred).toBeGreaterThan(0);
      expect(summary.closed).toBe(0);
      for (const outcome of outcomes)
        if (outcome.code !== 250) expect(outcome.reply).toBe(HOOK_FAILED);
      await expectRecovered(bridge, fn, `late-${seed}-after`);
    });
  });
});
