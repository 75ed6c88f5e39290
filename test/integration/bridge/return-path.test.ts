// `mxhook serve` delivers to the function, so the message it sends carries Return-Path (RFC 5321
// §4.4) in `raw` and in `parsed`; and the bridge is a handler middleware wraps like any other.
import { afterEach, describe, expect, it } from 'vitest';
import type { DataRequest } from '../../../functions/sdk/wire.ts';
import type { Middleware } from '../../../gateway/middleware.ts';
import { startFunctionServer } from '../../helpers/function-server.ts';
import { afterEhlo, inTransaction, sendData } from '../../helpers/smtp-client.ts';
import { startBridge } from '../../helpers/start-bridge.ts';
import { expectValidRequests } from './schema.ts';
import { cleanUp } from './steps.ts';

afterEach(cleanUp);

const FORGED =
  'Return-Path: <forged@evil.test>\r\n' +
  'From: a@client.test\r\n' +
  'return-PATH:\r\n <folded@evil.test>\r\n' +
  'Subject: traced\r\n' +
  '\r\n' +
  'Return-Path: <quoted-in-the-body@x.test>\r\n';

function rawOf(request: DataRequest): string {
  return Buffer.from(request.message.raw!, 'base64').toString('latin1');
}

describe('Return-Path through mxhook serve', () => {
  it('is the envelope sender, on top of raw and parsed, with the incoming ones gone', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url, env: { MXHOOK_PAYLOAD: 'both' } });
    const client = await inTransaction(bridge.port, { from: 'a@client.test', to: ['b@mx.test'] });
    expect((await sendData(client, FORGED)).code).toBe(250);

    const { body } = await fn.waitForRequest('data');
    const raw = rawOf(body);
    expect(raw).toMatch(/^Return-Path: <a@client\.test>\r\nReceived: from client\.test /);
    expect(raw.slice(raw.indexOf('From: '))).toBe(
      'From: a@client.test\r\nSubject: traced\r\n\r\nReturn-Path: <quoted-in-the-body@x.test>\r\n',
    );
    expect(body.message.size).toBe(Buffer.byteLength(raw, 'latin1'));
    const returnPaths = body.message.parsed!.headers.filter((h) => h.name === 'return-path');
    expect(returnPaths.map((h) => h.value)).toEqual(['<a@client.test>']);
    expectValidRequests(fn.requests);
  });

  it('is <> for the null sender', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url, env: { MXHOOK_PAYLOAD: 'raw' } });
    const client = await inTransaction(bridge.port, { from: '', to: ['b@mx.test'] });
    expect((await sendData(client, 'Subject: bounce\r\n\r\nundeliverable\r\n')).code).toBe(250);

    const { body } = await fn.waitForRequest('data');
    expect(rawOf(body)).toMatch(/^Return-Path: <>\r\nReceived: /);
    expect(body.message.size).toBe(Buffer.from(body.message.raw!, 'base64').length);
  });
});

describe('middleware given to serve()', () => {
  it('wraps the bridge inside Return-Path: it sees the rewritten message and can change answers', async () => {
    const fn = await startFunctionServer();
    const seen: string[] = [];
    const middleware: Middleware = async (c, next) => {
      if (c.step === 'data')
        seen.push(Buffer.concat(c.call.message.chunks).toString('latin1', 0, 30));
      await next();
      // The function accepts every recipient; this one is refused on the way back.
      if (c.step === 'rcpt' && c.call.rcpt.address === 'closed@mx.test')
        c.answer = { action: 'reject' };
    };
    const bridge = await startBridge({
      functionUrl: fn.url,
      env: { MXHOOK_STEPS: 'rcpt,data' },
      middleware: [middleware],
    });
    const client = await afterEhlo(bridge.port);
    expect((await client.command('MAIL FROM:<a@client.test>')).code).toBe(250);
    expect((await client.command('RCPT TO:<closed@mx.test>')).code).toBe(550);
    expect((await client.command('RCPT TO:<b@mx.test>')).code).toBe(250);
    expect((await sendData(client, 'Subject: hi\r\n\r\nhello\r\n')).code).toBe(250);

    expect(fn.requestsFor('rcpt').map((r) => r.body.rcpt.address)).toEqual([
      'closed@mx.test',
      'b@mx.test',
    ]);
    expect(seen).toEqual(['Return-Path: <a@client.test>\r\n']);
  });
});
