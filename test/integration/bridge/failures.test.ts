// Every way a function call can fail becomes 451 4.3.0 (421 4.3.0 and close at connect), and the gateway keeps serving.
import { afterEach, describe, expect, it } from 'vitest';
import { type Behaviour, json, startFunctionServer } from '../../helpers/function-server.ts';
import { startBridge } from '../../helpers/start-bridge.ts';
import {
  ALL_STEPS,
  cleanUp,
  expectNormalTransaction,
  HOOK_FAILED,
  HOOK_FAILED_AT_CONNECT,
  replyTo,
  STEPS,
  type Step,
} from './steps.ts';

afterEach(cleanUp);

/** The function client's answer cap (gateway/bridge/function-client.ts). */
const MAX_ANSWER_BYTES = 64 * 1024;

/** A code each step cannot use: 354 belongs to DATA's intermediate reply, 220 to the banner. */
const ILLEGAL_CODE: Readonly<Record<Step, number>> = {
  connect: 250,
  helo: 354,
  mail: 220,
  rcpt: 354,
  data: 354,
};

interface FailureMode {
  readonly name: string;
  readonly behaviour: (step: Step) => Behaviour;
  /** MXHOOK_ variables the mode needs. */
  readonly env?: Readonly<Record<string, string>>;
}

const FAILURE_MODES: readonly FailureMode[] = [
  {
    name: 'slower than MXHOOK_FUNCTION_TIMEOUT',
    // The answer would come long after the 1 s deadline; the gateway gives up and hangs up.
    behaviour: () => json({ action: 'accept' }, { delayMs: 60_000 }),
    env: { MXHOOK_FUNCTION_TIMEOUT: '1' },
  },
  { name: 'HTTP 500', behaviour: () => ({ kind: 'status', status: 500 }) },
  { name: 'HTTP 404', behaviour: () => ({ kind: 'status', status: 404 }) },
  { name: 'HTTP 401', behaviour: () => ({ kind: 'status', status: 401 }) },
  {
    name: 'HTTP 500 with an accepting JSON body',
    behaviour: () => json({ action: 'accept' }, { status: 500 }),
  },
  {
    name: 'HTTP 302 redirect',
    behaviour: () => json({ action: 'accept' }, { status: 302 }),
  },
  { name: 'invalid JSON', behaviour: () => ({ kind: 'raw', body: '{"action": "accept"' }) },
  { name: 'an empty body', behaviour: () => ({ kind: 'raw', body: '' }) },
  { name: 'JSON that is not an object', behaviour: () => json(['accept']) },
  { name: 'an unknown action', behaviour: () => json({ action: 'maybe' }) },
  { name: 'neither action nor code', behaviour: () => json({ message: 'hello' }) },
  {
    name: 'both action and code',
    behaviour: () => json({ action: 'accept', code: 250 }),
  },
  {
    name: 'an answer larger than 64 KiB',
    behaviour: () => ({ kind: 'oversized', bytes: MAX_ANSWER_BYTES + 1024 }),
  },
  {
    // Read only up to the answer cap, not until the function timeout (30 s) ends it.
    name: 'an answer that never ends',
    behaviour: () => ({ kind: 'endless', status: 200 }),
  },
  {
    name: 'HTTP 500 with a body that never ends',
    behaviour: () => ({ kind: 'endless', status: 500 }),
  },
  {
    name: 'a code the step cannot use',
    behaviour: (step) => json({ code: ILLEGAL_CODE[step] }),
  },
  {
    name: 'an enhanced code of the wrong class',
    behaviour: (step) => json({ code: step === 'connect' ? 554 : 550, enhanced: '4.1.1' }),
  },
  {
    name: 'the socket destroyed mid-response',
    behaviour: () => ({ kind: 'destroy-mid-response' }),
  },
];

const CASES = FAILURE_MODES.flatMap((mode) => STEPS.map((step) => ({ ...mode, step })));

describe('a failed function call is a temporary failure', () => {
  it.each(CASES)('$name at $step', async ({ step, behaviour, env }) => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({
      functionUrl: fn.url,
      env: { MXHOOK_STEPS: ALL_STEPS, ...env },
    });
    fn.answerOnce(step, behaviour(step));
    const { client, reply } = await replyTo(step, bridge.port);
    if (step === 'connect') {
      expect(reply.raw).toBe(HOOK_FAILED_AT_CONNECT);
      await client.expectClosed();
    } else {
      expect(reply.raw).toBe(HOOK_FAILED);
      // The session survives the failure.
      expect((await client.command('NOOP')).raw).toBe('250 2.0.0 OK\r\n');
    }
    // The failing call was made once: a call that reached the function is never sent again.
    expect(fn.requestsFor(step)).toHaveLength(1);
    await expectNormalTransaction(bridge.port);
  });
});

describe('the edges of a good answer', () => {
  it('an answer just under 64 KiB is still read', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url });
    fn.answer('data', { kind: 'oversized', bytes: MAX_ANSWER_BYTES - 1024 });
    const { reply } = await replyTo('data', bridge.port);
    expect(reply.raw).toBe('250 2.0.0 Message accepted\r\n');
  });

  it('any 2xx status counts (201, 299)', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url });
    fn.answerOnce('data', json({ action: 'accept' }, { status: 201 }));
    fn.answerOnce('data', json({ action: 'accept' }, { status: 299 }));
    expect((await replyTo('data', bridge.port)).reply.code).toBe(250);
    expect((await replyTo('data', bridge.port)).reply.code).toBe(250);
  });
});

describe('a function that cannot be reached', () => {
  it.each(STEPS)(
    'connection refused at %s; served again once the function is back',
    async (step) => {
      const fn = await startFunctionServer();
      const { port, url } = fn;
      await fn.close();
      // Only this step (and data, always) calls the function, so the steps before it accept.
      const bridge = await startBridge({ functionUrl: url, env: { MXHOOK_STEPS: step } });
      const { client, reply } = await replyTo(step, bridge.port);
      if (step === 'connect') {
        expect(reply.raw).toBe(HOOK_FAILED_AT_CONNECT);
        await client.expectClosed();
      } else {
        expect(reply.raw).toBe(HOOK_FAILED);
      }
      // The function comes back on the same port: the same gateway serves again.
      const back = await startFunctionServer({ port });
      await expectNormalTransaction(bridge.port);
      expect(back.requestsFor('data')).toHaveLength(1);
    },
  );
});
