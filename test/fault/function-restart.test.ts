// Fault: the function process is killed and started again on the same port, between and during messages.
import { afterEach, describe, expect, it } from 'vitest';
import { expectRecovered, faultBridge } from '../helpers/faults/fault-bridge.ts';
import { FaultFunction, stopAllFaultFunctions } from '../helpers/faults/fault-function.ts';
import { checkPromise } from '../helpers/faults/promise.ts';
import { Random, testSeed, withSeed } from '../helpers/faults/seed.ts';
import { type Outcome, sendMessage } from '../helpers/faults/send-message.ts';
import { TcpProxy } from '../helpers/faults/tcp-proxy.ts';
import { destroyAllClients } from '../helpers/smtp-client.ts';
import { stopAllBridges } from '../helpers/start-bridge.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllBridges();
  await stopAllFaultFunctions();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('a function that restarts', () => {
  it('between messages: the next message after each restart gets 250, not a 451 from a dead pooled connection', async () => {
    const fn = await FaultFunction.start({ mode: 'normal' });
    const bridge = await faultBridge(fn);
    const outcomes: Outcome[] = [];
    for (let round = 0; round < 4; round++) {
      // Two at once, so the gateway's pool holds more than one keep-alive connection to it.
      outcomes.push(
        ...(await Promise.all([
          sendMessage(bridge.port, `between-${round}-a`),
          sendMessage(bridge.port, `between-${round}-b`),
        ])),
      );
      await fn.restart();
      outcomes.push(await sendMessage(bridge.port, `between-${round}-after`));
    }
    await fn.sync();
    expect(checkPromise(outcomes, fn.ledger)).toMatchObject({ accepted: outcomes.length });
    await expectRecovered(bridge, fn, 'between-end');
  });

  it('during messages: kill and restart at random moments while 6 clients keep sending', async () => {
    const seed = testSeed();
    await withSeed(seed, async () => {
      const random = new Random(seed);
      const fn = await FaultFunction.start({ mode: 'slow', slowMs: [20, 250], seed });
      const bridge = await faultBridge(fn);
      const outcomes: Outcome[] = [];
      let chaosOver = false;
      const sender = async (n: number): Promise<void> => {
        // Each sender goes on until the chaos is over, and sends at least a few messages.
        for (let i = 0; i < 200 && (!chaosOver || i < 3); i++) {
          outcomes.push(await sendMessage(bridge.port, `restart-${seed}-${n}-${i}`));
        }
      };
      const chaos = async (): Promise<void> => {
        for (let cycle = 0; cycle < 4; cycle++) {
          await sleep(random.int(150, 400));
          await fn.kill();
          await sleep(random.int(0, 150));
          await fn.restart('slow');
        }
        chaosOver = true;
      };
      await Promise.all([chaos(), ...Array.from({ length: 6 }, (_, n) => sender(n))]);
      await fn.sync();
      const summary = checkPromise(outcomes, fn.ledger, `seed ${seed}`);
      expect(summary.accepted).toBeGreaterThan(0);
      expect(summary.deferred + summary.closed).toBeGreaterThan(0);
      await expectRecovered(bridge, fn, `restart-${seed}-end`);
    });
  });
});

describe('a function replica that dies behind a load balancer', () => {
  it('is answered by another replica: the one call the gateway sends again is accepted once, 250, never lost', async () => {
    // The gateway sends a call once more when its connection breaks (function-client.ts), which is
    // meant for keep-alive connections the function closed while idle. Here the first replica had
    // the call and died mid-way; the load balancer routes the resent call to the second replica.
    // The message reaches the function twice — as the same call, with the same `id`, which a
    // function checking replays recognises — and is accepted once.
    const first = await FaultFunction.start({ mode: 'hang' });
    const second = await FaultFunction.start({ mode: 'normal', ledger: first.ledger });
    const balancer = await TcpProxy.start(first.port);
    try {
      const bridge = await faultBridge(first, { MXHOOK_FUNCTION_URL: balancer.url });
      const pending = Array.from({ length: 5 }, (_, i) => sendMessage(bridge.port, `replica-${i}`));
      await first.waitFor(
        () => first.ledger.receivedCount() >= 5,
        'the first replica to have all calls',
      );
      balancer.routeTo(second.port);
      await first.kill();
      const outcomes = await Promise.all(pending);
      await second.sync();
      const summary = checkPromise(outcomes, first.ledger, 'replicas', {
        allowSameCallAgain: true,
      });
      expect(summary.accepted + summary.deferred).toBe(5);
      // What happened, exactly: every message the client saw 250 for went out twice as one call.
      for (const outcome of outcomes.filter((o) => o.code === 250)) {
        const calls = first.ledger.received.get(outcome.id)!;
        expect(calls).toHaveLength(2);
        expect(calls[1]).toBe(calls[0]);
      }
      await expectRecovered(bridge, second, 'replica-after');
    } finally {
      await balancer.close();
    }
  });
});
