// The admin HTTP server next to the bridge: liveness, readiness through a drain, and the JWKS consumers fetch.
import { readFile } from 'node:fs/promises';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { dotStuff } from '../../helpers/dot-stuff.ts';
import { gated, json, startFunctionServer } from '../../helpers/function-server.ts';
import { greeted, inTransaction } from '../../helpers/smtp-client.ts';
import { startBridge } from '../../helpers/start-bridge.ts';
import { cleanUp, MESSAGE } from './steps.ts';

afterEach(cleanUp);

async function get(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init);
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    cache: response.headers.get('cache-control'),
    text: await response.text(),
  };
}

describe('admin HTTP', () => {
  it('answers /healthz and /readyz with 200 while serving', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url });
    expect(await get(`${bridge.adminUrl}/healthz`)).toMatchObject({ status: 200, text: 'ok\n' });
    expect(await get(`${bridge.adminUrl}/readyz`)).toMatchObject({ status: 200, text: 'ready\n' });
  });

  it('serves the JWKS as application/jwk-set+json with a cache header', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url, signing: 'EdDSA' });
    const jwks = await get(`${bridge.adminUrl}/.well-known/jwks.json`);
    expect(jwks.status).toBe(200);
    expect(jwks.type).toBe('application/jwk-set+json');
    expect(jwks.cache).toBe('public, max-age=300');
    const body = JSON.parse(jwks.text) as { keys: { kty: string; d?: string }[] };
    expect(body.keys).toHaveLength(1);
    expect(body.keys[0]!.kty).toBe('OKP');
    expect(body.keys[0]!.d).toBeUndefined();
  });

  it('lists its endpoints at / (the URL the npm start banner shows); /metrics only when enabled', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url });
    const index = await get(`${bridge.adminUrl}/`);
    expect(index).toMatchObject({ status: 200, type: 'application/json' });
    const manifest = JSON.parse(
      await readFile(new URL('../../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    const body = JSON.parse(index.text) as { endpoints: Record<string, string> };
    expect(body).toMatchObject({ service: 'mxhook', version: manifest.version });
    expect(Object.keys(body.endpoints)).toEqual([
      '/healthz',
      '/readyz',
      '/.well-known/jwks.json',
      '/v1/audit',
    ]);
    for (const path of Object.keys(body.endpoints))
      expect((await get(`${bridge.adminUrl}${path}`)).status, path).toBe(200);
  });

  it('refuses other paths (404) and methods (405); /metrics is 404 when not enabled', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url });
    expect((await get(`${bridge.adminUrl}/nope`)).status).toBe(404);
    expect((await get(`${bridge.adminUrl}/metrics`)).status).toBe(404);
    expect((await get(`${bridge.adminUrl}/healthz`, { method: 'POST' })).status).toBe(405);
  });

  it('/readyz turns 503 while draining a transaction in flight, and the server is gone after stop', async () => {
    const fn = await startFunctionServer();
    const gate = gated();
    fn.answer('data', gate.responder);
    const bridge = await startBridge({ functionUrl: fn.url, env: { MXHOOK_SHUTDOWN_GRACE: '30' } });
    const client = await inTransaction(bridge.port);
    expect((await client.command('DATA')).code).toBe(354);
    await client.send(dotStuff(Buffer.from(MESSAGE)));
    await fn.waitForRequest('data');

    const stopping = bridge.stop();
    expect(await get(`${bridge.adminUrl}/readyz`)).toMatchObject({
      status: 503,
      text: 'not ready\n',
    });
    // Still alive: the process is working, just not taking new mail.
    expect((await get(`${bridge.adminUrl}/healthz`)).status).toBe(200);
    gate.open(json({ action: 'accept' }));
    expect((await client.readReply()).code).toBe(250);
    await stopping;
    await expect(fetch(`${bridge.adminUrl}/healthz`)).rejects.toThrow();
  });

  it('MXHOOK_HTTP_LISTEN=off runs without an admin server, and says so in the log', async () => {
    const fn = await startFunctionServer();
    const messages: string[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => void messages.push(JSON.parse(line).msg) },
    );
    const bridge = await startBridge({
      functionUrl: fn.url,
      env: { MXHOOK_HTTP_LISTEN: 'off' },
      logger,
    });
    expect(bridge.running.adminAddress).toBeNull();
    expect(messages).toContain(
      'admin HTTP off (MXHOOK_HTTP_LISTEN=off): no health, readiness, metrics or JWKS',
    );
    await greeted(bridge.port);
  });
});
