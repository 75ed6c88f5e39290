// The real `mxhook serve` stack in this process, calling a function process, set up for fault tests.
import { expect } from 'vitest';
import { startBridge, type TestBridge } from '../start-bridge.ts';
import type { FaultFunction } from './fault-function.ts';
import { activeResources, expectNoLeaks, expectResourcesBack } from './leaks.ts';
import { sendMessage } from './send-message.ts';

/** What the process held right after each bridge started, to compare with after the fault. */
const resourcesAtStart = new WeakMap<TestBridge, Record<string, number>>();

/** Only `data` is called, with the raw message (the function reads its Message-ID from it). */
export async function faultBridge(
  fn: FaultFunction,
  env: Readonly<Record<string, string>> = {},
): Promise<TestBridge> {
  const bridge = await startBridge({
    functionUrl: fn.url,
    env: { MXHOOK_STEPS: 'data', MXHOOK_PAYLOAD: 'raw', MXHOOK_FUNCTION_TIMEOUT: '10', ...env },
  });
  resourcesAtStart.set(bridge, activeResources());
  return bridge;
}

/**
 * After the fault: a plain message goes through and is accepted once, and nothing is left behind —
 * no session, no held message byte, no socket or timer the process did not have at the start.
 */
export async function expectRecovered(
  bridge: TestBridge,
  fn: FaultFunction,
  id: string,
): Promise<void> {
  const outcome = await sendMessage(bridge.port, id, { fault: 'normal' });
  expect(outcome.code, outcome.reply).toBe(250);
  await fn.sync();
  expect(fn.ledger.accepted.get(id)).toHaveLength(1);
  await expectNoLeaks(bridge.running.gateway);
  const before = resourcesAtStart.get(bridge);
  if (before !== undefined) await expectResourcesBack(before);
}

export const HOOK_FAILED = '451 4.3.0 Temporary failure, please try again later\r\n';
