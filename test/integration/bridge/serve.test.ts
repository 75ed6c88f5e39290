// serve() start-up failures: a listener that cannot bind is a ConfigError naming its variable, and nothing stays bound.
import { type AddressInfo, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../gateway/errors.ts';
import { startFunctionServer } from '../../helpers/function-server.ts';
import { startBridge } from '../../helpers/start-bridge.ts';
import { cleanUp } from './steps.ts';

const held: Server[] = [];

afterEach(async () => {
  await Promise.all(held.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  await cleanUp();
});

async function listen(port = 0): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  held.push(server);
  return server;
}

const portOf = (server: Server): number => (server.address() as AddressInfo).port;

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = await listen();
  const port = portOf(server);
  held.splice(held.indexOf(server), 1);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function refusal(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('serve() with a listener that cannot bind', () => {
  it('names MXHOOK_LISTEN and releases the SMTP listeners that did bind', async () => {
    const fn = await startFunctionServer();
    const first = await freePort();
    const taken = portOf(await listen());
    const error = await refusal(
      startBridge({
        functionUrl: fn.url,
        env: { MXHOOK_LISTEN: `127.0.0.1:${first},127.0.0.1:${taken}` },
      }),
    );
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.variable).toBe('MXHOOK_LISTEN');
    expect(error.message).toContain(String(taken));
    // The first listener is closed again: its port can be bound.
    await listen(first);
  });

  it('names MXHOOK_HTTP_LISTEN and releases the SMTP listener', async () => {
    const fn = await startFunctionServer();
    const smtp = await freePort();
    const taken = portOf(await listen());
    const error = await refusal(
      startBridge({
        functionUrl: fn.url,
        env: { MXHOOK_LISTEN: `127.0.0.1:${smtp}`, MXHOOK_HTTP_LISTEN: `127.0.0.1:${taken}` },
      }),
    );
    expect(error.variable).toBe('MXHOOK_HTTP_LISTEN');
    await listen(smtp);
  });
});
