// The Hono helpers, run with app.request() and no server: verification, routing, and checking the handler's answer.
import { Hono } from 'hono';
import { describe, expect, it, vi } from 'vitest';
import { MxhookError } from '../../../../functions/sdk/errors.ts';
import {
  type MxhookOptions,
  type MxhookVariables,
  mxhook,
  mxhookVerify,
  type StepHandlers,
} from '../../../../functions/sdk/hono.ts';
import { MemorySeenIdStore } from '../../../../functions/sdk/replay.ts';
import { accept, defer, reject, withHeaders } from '../../../../functions/sdk/responses.ts';
import { importHmacSecret } from '../../../../functions/sdk/sign.ts';
import { SIGNATURE_HEADER, type Step } from '../../../../functions/sdk/wire.ts';
import {
  encode,
  FUNCTION_URL,
  NOW,
  now,
  OTHER_SECRET,
  payloadFor,
  SECRET,
  signedRequest,
} from './helpers.ts';

type Bindings = { MXHOOK_SIGNING_SECRET: string };
type WorkerEnv = { Bindings: Bindings };
const env: Bindings = { MXHOOK_SIGNING_SECRET: SECRET };

async function call(
  app: Hono<WorkerEnv>,
  step: Step,
  secret = SECRET,
  path = `/${step}`,
): Promise<Response> {
  const request = await signedRequest(payloadFor(step), await importHmacSecret(secret));
  return app.request(
    path,
    { method: 'POST', body: await request.arrayBuffer(), headers: request.headers },
    env,
  );
}

function app(
  handlers: StepHandlers<WorkerEnv>,
  extra: Partial<MxhookOptions<WorkerEnv>> = {},
): Hono<WorkerEnv> {
  return mxhook<WorkerEnv>(handlers, { keys: (c) => c.env.MXHOOK_SIGNING_SECRET, now, ...extra });
}

describe('mxhook()', () => {
  it('routes each step to its handler with the typed payload and returns the answer', async () => {
    const seen: string[] = [];
    const hooks = app({
      rcpt: (payload) => {
        seen.push(payload.rcpt.address);
        return reject('No such user');
      },
      data: (payload) => {
        seen.push(payload.message.parsed?.subject ?? '');
        return withHeaders(accept('Queued'), { 'X-Queue-Id': 'q1' });
      },
    });
    const rcpt = await call(hooks, 'rcpt');
    expect(rcpt.status).toBe(200);
    expect(await rcpt.json()).toEqual({ action: 'reject', message: 'No such user' });
    const data = await call(hooks, 'data');
    expect(await data.json()).toEqual({
      action: 'accept',
      message: 'Queued',
      headers: { 'X-Queue-Id': 'q1' },
    });
    expect(seen).toEqual(['bob@example.com', 'hi']);
  });

  it('accepts a step that has no handler', async () => {
    const response = await call(app({}), 'helo');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ action: 'accept' });
  });

  it('awaits async handlers and passes the context', async () => {
    const hooks = app({
      mail: async (_payload, c) => defer(`env has ${Object.keys(c.env).join(',')}`),
    });
    expect(await (await call(hooks, 'mail')).json()).toEqual({
      action: 'defer',
      message: 'env has MXHOOK_SIGNING_SECRET',
    });
  });

  it('answers 401 with ERR_SIGNATURE_MISSING to an unsigned call, without calling the handler', async () => {
    const handler = vi.fn(() => accept());
    const response = await app({ rcpt: handler }).request(
      '/rcpt',
      { method: 'POST', body: JSON.stringify(payloadFor('rcpt')) },
      env,
    );
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'ERR_SIGNATURE_MISSING' });
    expect(handler).not.toHaveBeenCalled();
  });

  it('answers 401 with ERR_KEY_UNKNOWN to a call signed with another secret', async () => {
    const response = await call(app({}), 'rcpt', OTHER_SECRET);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'ERR_KEY_UNKNOWN' });
  });

  it('answers 401 with ERR_SIGNATURE_INVALID to a tampered body', async () => {
    const request = await signedRequest(payloadFor('rcpt'), await importHmacSecret(SECRET));
    const tampered = encode({
      ...payloadFor('rcpt'),
      rcpt: { address: 'eve@example.com', params: {} },
    });
    const response = await app({}).request(
      '/rcpt',
      { method: 'POST', body: tampered, headers: request.headers },
      env,
    );
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'ERR_SIGNATURE_INVALID' });
  });

  it('answers 401 with ERR_TIMESTAMP_EXPIRED to a stale call', async () => {
    const hooks = app({}, { now: () => NOW + 3600 });
    expect(await (await call(hooks, 'rcpt')).json()).toEqual({ error: 'ERR_TIMESTAMP_EXPIRED' });
  });

  it('answers 401 with ERR_AUDIENCE_MISMATCH to a call meant for another function', async () => {
    const hooks = app({}, { audience: 'https://other.example.com' });
    expect(await (await call(hooks, 'rcpt')).json()).toEqual({ error: 'ERR_AUDIENCE_MISMATCH' });
    const mine = app({}, { audience: FUNCTION_URL });
    expect((await call(mine, 'rcpt')).status).toBe(200);
  });

  it('answers 401 with ERR_REPLAYED when the same call arrives twice', async () => {
    const hooks = app({}, { replay: new MemorySeenIdStore({ now }) });
    const request = await signedRequest(payloadFor('rcpt'), await importHmacSecret(SECRET));
    const body = await request.arrayBuffer();
    const init = () => ({ method: 'POST', body: body.slice(0), headers: request.headers });
    expect((await hooks.request('/rcpt', init(), env)).status).toBe(200);
    const again = await hooks.request('/rcpt', init(), env);
    expect(again.status).toBe(401);
    expect(await again.json()).toEqual({ error: 'ERR_REPLAYED' });
  });

  it('takes the replay store from the context when given a function', async () => {
    const store = new MemorySeenIdStore({ now });
    const factory = vi.fn(() => store);
    await call(app({}, { replay: factory }), 'rcpt');
    expect(factory).toHaveBeenCalledOnce();
    expect(store.size).toBe(1);
  });

  it('answers 401 with ERR_BODY_MALFORMED when the signed step does not match the route', async () => {
    const response = await call(app({}), 'rcpt', SECRET, '/data');
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'ERR_BODY_MALFORMED' });
  });

  it('answers 404 to an unknown step and to other methods', async () => {
    const hooks = app({});
    expect((await hooks.request('/vrfy', { method: 'POST' }, env)).status).toBe(404);
    expect((await hooks.request('/rcpt', { method: 'GET' }, env)).status).toBe(404);
  });

  it('answers 500 ERR_RESPONSE_INVALID when the handler returns a code the step cannot use', async () => {
    const hooks = app({ rcpt: () => ({ code: 354 }) as never });
    const response = await call(hooks, 'rcpt');
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({
      error: 'ERR_RESPONSE_INVALID',
      reason: 'code 354 cannot be used at the rcpt step',
    });
  });

  it('answers 500 ERR_RESPONSE_INVALID when the handler returns nothing', async () => {
    const response = await call(app({ data: (() => undefined) as never }), 'data');
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ error: 'ERR_RESPONSE_INVALID' });
  });

  it('works with static keys and when mounted under a base path', async () => {
    const hooks = mxhook({ rcpt: () => accept() }, { keys: [OTHER_SECRET, SECRET], now });
    const parent = new Hono().route('/hooks', hooks);
    const request = await signedRequest(payloadFor('rcpt'), await importHmacSecret(SECRET));
    const response = await parent.request('/hooks/rcpt', {
      method: 'POST',
      body: await request.arrayBuffer(),
      headers: request.headers,
    });
    expect(await response.json()).toEqual({ action: 'accept' });
  });

  it('answers 500, not 401, when the keys function returns unusable keys', async () => {
    const hooks = app({}, { keys: () => '' });
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const response = await call(hooks, 'rcpt');
    expect(response.status).toBe(500);
    errors.mockRestore();
  });

  describe('checks its options once, at construction', () => {
    it.each([
      ['no keys', {}, /option "keys" is required/],
      ['bad static keys', { keys: '' }, /option "keys"/],
      ['a negative tolerance', { keys: SECRET, toleranceSeconds: -5 }, /"toleranceSeconds"/],
      ['an empty audience', { keys: SECRET, audience: [] }, /"audience"/],
      ['a replay store without markSeen', { keys: SECRET, replay: {} }, /"replay"/],
    ])('throws for %s, naming the option', (_name, options, message) => {
      expect(() => mxhook({}, options as never)).toThrow(message);
      expect(() => mxhook({}, options as never)).toThrow(MxhookError);
    });

    it('throws for a handler of an unknown step, naming it', () => {
      expect(() => mxhook({ rcpts: () => accept() } as never, { keys: SECRET })).toThrow(
        /unknown step "rcpts"/,
      );
      expect(() => mxhook({ rcpt: 'accept' } as never, { keys: SECRET })).toThrow(/handler "rcpt"/);
    });
  });
});

describe('mxhookVerify()', () => {
  it('verifies the call and puts the payload in c.var.mxhook', async () => {
    const hooks = new Hono<{ Variables: MxhookVariables }>();
    hooks.post('/in/:step', mxhookVerify({ keys: SECRET, now }), (c) =>
      c.json({ got: c.var.mxhook.step }),
    );
    const request = await signedRequest(payloadFor('auth'), await importHmacSecret(SECRET));
    const response = await hooks.request('/in/auth', {
      method: 'POST',
      body: await request.arrayBuffer(),
      headers: request.headers,
    });
    expect(await response.json()).toEqual({ got: 'auth' });
  });

  it('answers 401 and skips the route when verification fails', async () => {
    const route = vi.fn();
    const hooks = new Hono();
    hooks.post('/in', mxhookVerify({ keys: SECRET, now }), route);
    const response = await hooks.request('/in', {
      method: 'POST',
      body: '{}',
      headers: { [SIGNATURE_HEADER]: 'a..b' },
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'ERR_SIGNATURE_INVALID' });
    expect(route).not.toHaveBeenCalled();
  });

  it('throws at construction for bad options, naming the option', () => {
    expect(() => mxhookVerify({ keys: SECRET, toleranceSeconds: 0 })).toThrow(
      /mxhookVerify\(\).*"toleranceSeconds"/,
    );
  });
});
