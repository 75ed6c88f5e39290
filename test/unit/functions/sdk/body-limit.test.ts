// The body limit: verify(), mxhookVerify() and mxhook() refuse a body over maxBodyBytes with 413
// (ERR_BODY_TOO_LARGE) before buffering past the limit, from Content-Length or while streaming.
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { mxhook, mxhookVerify } from '../../../../functions/sdk/hono.ts';
import { importHmacSecret } from '../../../../functions/sdk/sign.ts';
import { verify, verifyBody } from '../../../../functions/sdk/verify.ts';
import {
  DEFAULT_MAX_BODY_BYTES,
  type VerifyOptions,
} from '../../../../functions/sdk/verify-options.ts';
import { SIGNATURE_HEADER } from '../../../../functions/sdk/wire.ts';
import { now, payloadFor, SECRET, signedRequest } from './helpers.ts';

const LIMIT = 64 * 1024;
const CHUNK = new Uint8Array(16 * 1024).fill(0x61);
// A signature that looks right but signs nothing: the sender need not know any key.
const FAKE_SIGNATURE = 'eyJhbGciOiJIUzI1NiJ9..c2lnbmF0dXJl';

/** A body of `chunks` × 16 KiB produced on demand, counting how many chunks were pulled. */
function countedBody(chunks: number): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (pulled === chunks) return controller.close();
        pulled += 1;
        controller.enqueue(CHUNK);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => pulled };
}

function post(
  body: ReadableStream<Uint8Array> | string,
  headers: Record<string, string> = {},
): Request {
  return new Request('http://localhost/rcpt', {
    method: 'POST',
    body,
    headers: { [SIGNATURE_HEADER]: FAKE_SIGNATURE, ...headers },
    duplex: 'half',
  } as RequestInit);
}

const options: VerifyOptions = { now, maxBodyBytes: LIMIT };

describe('verify() body limit', () => {
  it('refuses a declared Content-Length over the limit without reading the body', async () => {
    const body = countedBody(1_000);
    const request = post(body.stream, { 'content-length': String(1_000 * CHUNK.byteLength) });
    await expect(verify(request, SECRET, options)).rejects.toMatchObject({
      code: 'ERR_BODY_TOO_LARGE',
    });
    expect(body.pulled()).toBe(0);
  });

  it('counts a streamed body and stops at the first chunk past the limit', async () => {
    const body = countedBody(1_000);
    await expect(verify(post(body.stream), SECRET, options)).rejects.toMatchObject({
      code: 'ERR_BODY_TOO_LARGE',
    });
    // 4 chunks fill the limit; the 5th passes it. Never the 1,000 a full read would take.
    expect(body.pulled()).toBeLessThanOrEqual(LIMIT / CHUNK.byteLength + 2);
  });

  it('still verifies a signed body within the limit, and verifyBody() applies the same limit', async () => {
    const request = await signedRequest(payloadFor('rcpt'), await importHmacSecret(SECRET));
    const bytes = new Uint8Array(await request.clone().arrayBuffer());
    expect((await verify(request, SECRET, { now, maxBodyBytes: bytes.byteLength })).step).toBe(
      'rcpt',
    );
    await expect(
      verifyBody(bytes, FAKE_SIGNATURE, SECRET, { now, maxBodyBytes: bytes.byteLength - 1 }),
    ).rejects.toMatchObject({ code: 'ERR_BODY_TOO_LARGE' });
  });

  it('defaults to 64 MiB and refuses a limit that is not a positive whole number', async () => {
    expect(DEFAULT_MAX_BODY_BYTES).toBe(64 * 1024 * 1024);
    for (const maxBodyBytes of [0, -1, 1.5, Number.NaN]) {
      await expect(verify(post('x'), SECRET, { maxBodyBytes })).rejects.toMatchObject({
        code: 'ERR_OPTION_INVALID',
        message: expect.stringContaining('maxBodyBytes'),
      });
      expect(() => mxhook({}, { keys: SECRET, maxBodyBytes })).toThrow(/maxBodyBytes/);
    }
  });
});

describe('mxhook() and mxhookVerify() body limit (app.request)', () => {
  const hooks = mxhook({}, { keys: SECRET, now, maxBodyBytes: LIMIT });

  it('answers 413 ERR_BODY_TOO_LARGE to a declared Content-Length over the limit, reading nothing', async () => {
    const body = countedBody(1_000);
    const response = await hooks.request(
      post(body.stream, { 'content-length': String(1_000 * CHUNK.byteLength) }),
    );
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: 'ERR_BODY_TOO_LARGE' });
    expect(body.pulled()).toBe(0);
  });

  it('answers 413 to a streamed body once it passes the limit, without reading it to the end', async () => {
    const body = countedBody(1_000);
    const response = await hooks.request(post(body.stream));
    expect(response.status).toBe(413);
    expect(body.pulled()).toBeLessThanOrEqual(LIMIT / CHUNK.byteLength + 2);
  });

  it('lets routes after mxhookVerify() read the body it read', async () => {
    const app = new Hono();
    app.post('/:step', mxhookVerify({ keys: SECRET, now, maxBodyBytes: LIMIT }), async (c) =>
      c.json({ id: ((await c.req.json()) as { id: string }).id }),
    );
    const payload = payloadFor('rcpt');
    const signed = await signedRequest(
      payload,
      await importHmacSecret(SECRET),
      'http://localhost/rcpt',
    );
    const response = await app.request(signed);
    expect(await response.json()).toEqual({ id: payload.id });

    const big = countedBody(1_000);
    expect((await app.request(post(big.stream))).status).toBe(413);
  });
});

describe('body limit on a real Node server', () => {
  let close: () => Promise<void> = async () => {};
  afterEach(() => close());

  it('answers 413 to a 256 MiB upload with a fake signature long before the upload ends', async () => {
    const server = serve({
      fetch: mxhook({}, { keys: SECRET, now, maxBodyBytes: LIMIT }).fetch,
      hostname: '127.0.0.1',
      port: 0,
    });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    close = () => new Promise((resolve) => server.close(() => resolve()));
    const { port } = server.address() as AddressInfo;

    const totalBytes = 256 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sentBytes = 0;
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/rcpt',
        headers: { [SIGNATURE_HEADER]: FAKE_SIGNATURE, 'transfer-encoding': 'chunked' },
      });
      let answered = false;
      req.on('response', (response) => {
        answered = true;
        response.resume();
        resolve(response.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', (error) => {
        if (!answered) reject(error);
      });
      // Write only as fast as the server reads, and stop once it has answered.
      const writeMore = (): void => {
        while (!answered && sentBytes < totalBytes) {
          sentBytes += chunk.byteLength;
          if (!req.write(chunk)) return void req.once('drain', writeMore);
        }
        if (!answered) req.end();
      };
      writeMore();
    });

    expect(status).toBe(413);
    // What the client managed to write before the answer: the limit plus socket buffers, not 256 MiB.
    expect(sentBytes).toBeLessThan(totalBytes / 8);
  });
});
