// Fault: clients that hang up in the middle of DATA, or while their message's data call is running.
import { afterEach, describe, expect, it } from 'vitest';
import { expectRecovered, faultBridge } from '../helpers/faults/fault-bridge.ts';
import { FaultFunction, stopAllFaultFunctions } from '../helpers/faults/fault-function.ts';
import { expectNoLeaks } from '../helpers/faults/leaks.ts';
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

describe('clients that disconnect', () => {
  it('in the middle of DATA: the function never sees their messages, the others are delivered once', async () => {
    const fn = await FaultFunction.start({ mode: 'normal' });
    const bridge = await faultBridge(fn);
    const outcomes = await Promise.all([
      // 64 KiB messages, cut after half: the gateway holds part of each when they go.
      ...Array.from({ length: 20 }, (_, i) =>
        sendMessage(bridge.port, `middata-${i}`, { abandon: 'mid-data', bodyBytes: 64 * 1024 }),
      ),
      ...Array.from({ length: 10 }, (_, i) => sendMessage(bridge.port, `whole-${i}`)),
    ]);
    await expectNoLeaks(bridge.running.gateway);
    await fn.sync();
    expect(checkPromise(outcomes, fn.ledger)).toMatchObject({ accepted: 10, closed: 20 });
    for (let i = 0; i < 20; i++) expect(fn.ledger.received.has(`middata-${i}`)).toBe(false);
    await expectRecovered(bridge, fn, 'middata-after');
  });

  it('while the data call runs: the gateway cancels the call, and no client saw 250 for it', async () => {
    const seed = testSeed();
    await withSeed(seed, async () => {
      const fn = await FaultFunction.start({ mode: 'slow', slowMs: [400, 800], seed });
      const bridge = await faultBridge(fn);
      const leaving = Array.from({ length: 20 }, (_, i) => {
        const id = `incall-${seed}-${i}`;
        return sendMessage(bridge.port, id, {
          abandon: 'after-message',
          // Hang up only once the function has the call, so the call is really in flight.
          abandonAfter: () => fn.waitFor(() => fn.ledger.received.has(id), `the call for ${id}`),
        });
      });
      const staying = Array.from({ length: 10 }, (_, i) =>
        sendMessage(bridge.port, `stays-${seed}-${i}`),
      );
      const outcomes = await Promise.all([...leaving, ...staying]);
      await expectNoLeaks(bridge.running.gateway);
      // Each abandoned call was hung up on by the gateway (aborted) before the function answered.
      await fn.waitFor(() => fn.ledger.aborted >= 20, '20 calls aborted');
      await fn.sync();
      const summary = checkPromise(outcomes, fn.ledger, `seed ${seed}`);
      expect(summary).toMatchObject({ accepted: 10, closed: 20, acceptedUnseen: 0 });
      await expectRecovered(bridge, fn, `incall-${seed}-after`);
    });
  });
});
