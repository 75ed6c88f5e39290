// Fault: the function takes the call and never answers; MXHOOK_FUNCTION_TIMEOUT turns that into 451.
import { afterEach, describe, expect, it } from 'vitest';
import { expectRecovered, faultBridge, HOOK_FAILED } from '../helpers/faults/fault-bridge.ts';
import { FaultFunction, stopAllFaultFunctions } from '../helpers/faults/fault-function.ts';
import { checkPromise } from '../helpers/faults/promise.ts';
import { type Outcome, sendMessage } from '../helpers/faults/send-message.ts';
import { destroyAllClients } from '../helpers/smtp-client.ts';
import { stopAllBridges } from '../helpers/start-bridge.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllBridges();
  await stopAllFaultFunctions();
});

const TIMEOUT_MS = 500;

describe('a function that hangs', () => {
  it('gives 451 to each hanging call after the function timeout, while calls beside them get 250', async () => {
    const fn = await FaultFunction.start({ mode: 'normal' });
    const bridge = await faultBridge(fn, { MXHOOK_FUNCTION_TIMEOUT: String(TIMEOUT_MS / 1000) });
    const timed = async (id: string, hang: boolean): Promise<Outcome & { ms: number }> => {
      const started = performance.now();
      const outcome = await sendMessage(bridge.port, id, hang ? { fault: 'hang' } : {});
      return { ...outcome, ms: performance.now() - started };
    };
    const outcomes = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => timed(`hang-${i}`, true)),
      ...Array.from({ length: 10 }, (_, i) => timed(`fine-${i}`, false)),
    ]);
    await fn.sync();
    const summary = checkPromise(outcomes, fn.ledger);
    expect(summary).toMatchObject({ accepted: 10, deferred: 10, closed: 0, acceptedUnseen: 0 });
    for (const outcome of outcomes.filter((o) => o.id.startsWith('hang-'))) {
      expect(outcome.reply).toBe(HOOK_FAILED);
      // The whole transaction took at least the function timeout, and not much more on a busy machine.
      expect(outcome.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
      expect(outcome.ms).toBeLessThan(TIMEOUT_MS + 5_000);
    }
    // The gateway hung up on every hanging call; it keeps no connection waiting on them.
    await fn.waitFor(() => fn.ledger.aborted >= 10, 'the function to see 10 calls aborted');
    await expectRecovered(bridge, fn, 'hang-after');
  });

  it('gives 451 to every call while the function hangs on all of them, and recovers when it answers again', async () => {
    const fn = await FaultFunction.start({ mode: 'hang' });
    const bridge = await faultBridge(fn, { MXHOOK_FUNCTION_TIMEOUT: String(TIMEOUT_MS / 1000) });
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => sendMessage(bridge.port, `allhang-${i}`)),
    );
    await fn.sync();
    expect(checkPromise(outcomes, fn.ledger)).toMatchObject({ accepted: 0, deferred: 20 });
    await fn.setMode('normal');
    await expectRecovered(bridge, fn, 'allhang-after');
  });
});
