// The request body of every step: the fields the wire contract lists, with the values this session produced.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testCertificate } from '../../helpers/certs.ts';
import { json, startFunctionServer } from '../../helpers/function-server.ts';
import { greeted, sendData } from '../../helpers/smtp-client.ts';
import { BRIDGE_HOSTNAME, startBridge } from '../../helpers/start-bridge.ts';
import { expectValidRequests } from './schema.ts';
import { ALL_STEPS, cleanUp, MESSAGE } from './steps.ts';

const tempDirs: string[] = [];

afterEach(async () => {
  try {
    await cleanUp();
  } finally {
    await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  }
});

const BASE_PATH = '/hooks/mx';

describe('every call of an ESMTP session', () => {
  it('carries v, a unique id, step, timestamp, audience, session, envelope and the step fields', async () => {
    const fn = await startFunctionServer({ basePath: BASE_PATH });
    fn.answer('rcpt', ({ body }) =>
      json({
        action:
          body.step === 'rcpt' && body.rcpt.address === 'rejected@mx.test' ? 'reject' : 'accept',
      }),
    );
    const bridge = await startBridge({ functionUrl: fn.url, env: { MXHOOK_STEPS: ALL_STEPS } });
    const before = Math.floor(Date.now() / 1000);

    const client = await greeted(bridge.port);
    expect((await client.command('EHLO client.test')).code).toBe(250);
    expect((await client.command('MAIL FROM:<a@client.test> SIZE=1234 BODY=8BITMIME')).code).toBe(
      250,
    );
    expect((await client.command('RCPT TO:<b@mx.test>')).code).toBe(250);
    expect((await client.command('RCPT TO:<rejected@mx.test>')).code).toBe(550);
    expect((await client.command('RCPT TO:<c@mx.test>')).code).toBe(250);
    expect((await sendData(client, MESSAGE)).code).toBe(250);
    const after = Math.ceil(Date.now() / 1000);

    const { requests } = fn;
    expect(requests.map((r) => r.step)).toEqual([
      'connect',
      'helo',
      'mail',
      'rcpt',
      'rcpt',
      'rcpt',
      'data',
    ]);
    expectValidRequests(requests);

    const sessionId = requests[0]!.body.session.id;
    for (const { body, path, method, headers, raw } of requests) {
      expect(method).toBe('POST');
      expect(headers['content-type']).toBe('application/json');
      expect(headers['content-length']).toBe(String(raw.length));
      expect(headers['user-agent']).toMatch(/^mxhook\//);
      expect(path).toBe(`${BASE_PATH}/${body.step}`);
      expect(body.v).toBe(1);
      expect(body.audience).toBe(`${fn.url}${body.step}`);
      expect(body.timestamp).toBeGreaterThanOrEqual(before - 2);
      expect(body.timestamp).toBeLessThanOrEqual(after + 2);
      expect(Number.isInteger(body.timestamp)).toBe(true);
      expect(body.session).toMatchObject({
        id: sessionId,
        client: { address: '127.0.0.1', port: client.socket.localPort },
        server: { address: '127.0.0.1', port: bridge.port, hostname: BRIDGE_HOSTNAME },
        tls: null,
        auth: null,
        proxied: false,
      });
    }
    expect(typeof sessionId).toBe('string');
    expect(new Set(requests.map((r) => r.body.id)).size).toBe(requests.length);

    // The helo call already shows the name it decides on; every later call keeps it.
    expect(requests.map((r) => r.body.session.helo)).toEqual([
      null,
      'client.test',
      'client.test',
      'client.test',
      'client.test',
      'client.test',
      'client.test',
    ]);

    const [connect] = fn.requestsFor('connect');
    expect(connect!.body.envelope).toEqual({ mailFrom: null, rcptTo: [] });

    const [helo] = fn.requestsFor('helo');
    expect(helo!.body.helo).toEqual({ hostname: 'client.test', esmtp: true });
    expect(helo!.body.envelope).toEqual({ mailFrom: null, rcptTo: [] });

    const mailFrom = { address: 'a@client.test', params: { SIZE: '1234', BODY: '8BITMIME' } };
    const [mail] = fn.requestsFor('mail');
    expect(mail!.body.mailFrom).toEqual(mailFrom);
    // The mail call's envelope is the transaction it would open.
    expect(mail!.body.envelope).toEqual({ mailFrom, rcptTo: [] });

    const b = { address: 'b@mx.test', params: {} };
    const c = { address: 'c@mx.test', params: {} };
    const rcpts = fn.requestsFor('rcpt');
    expect(rcpts.map((r) => r.body.rcpt)).toEqual([
      b,
      { address: 'rejected@mx.test', params: {} },
      c,
    ]);
    // The envelope holds the recipients accepted before this one; the rejected one never joins.
    expect(rcpts.map((r) => r.body.envelope)).toEqual([
      { mailFrom, rcptTo: [] },
      { mailFrom, rcptTo: [b] },
      { mailFrom, rcptTo: [b] },
    ]);

    const [data] = fn.requestsFor('data');
    expect(data!.body.envelope).toEqual({ mailFrom, rcptTo: [b, c] });
    expect(Object.keys(data!.body.message).sort()).toEqual(['parsed', 'raw', 'size']);
  });

  it('a second transaction in the same session starts from an empty envelope; a new session gets a new id', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url, env: { MXHOOK_STEPS: 'mail,rcpt' } });
    const client = await greeted(bridge.port);
    await client.command('EHLO client.test');
    for (const [from, to] of [
      ['one@client.test', 'x@mx.test'],
      ['<>', 'y@mx.test'],
    ] as const) {
      await client.command(`MAIL FROM:${from.startsWith('<') ? from : `<${from}>`}`);
      await client.command(`RCPT TO:<${to}>`);
      expect((await sendData(client, MESSAGE)).code).toBe(250);
    }
    const other = await greeted(bridge.port);
    await other.command('HELO other.test');
    await other.command('MAIL FROM:<z@client.test>');

    const [, secondMail, thirdMail] = fn.requestsFor('mail');
    expect(secondMail!.body.mailFrom).toEqual({ address: '', params: {} });
    expect(secondMail!.body.envelope).toEqual({
      mailFrom: { address: '', params: {} },
      rcptTo: [],
    });
    const datas = fn.requestsFor('data');
    expect(datas.map((r) => r.body.envelope.rcptTo.map((p) => p.address))).toEqual([
      ['x@mx.test'],
      ['y@mx.test'],
    ]);
    expect(thirdMail!.body.session.id).not.toBe(secondMail!.body.session.id);
    expect(thirdMail!.body.session.helo).toBe('other.test');
    expectValidRequests(fn.requests);
  });

  it('HELO (not EHLO) is sent as esmtp false', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url, env: { MXHOOK_STEPS: 'helo' } });
    const client = await greeted(bridge.port);
    expect((await client.command('HELO old.client.test')).raw).toBe(
      `250 ${BRIDGE_HOSTNAME} greets old.client.test\r\n`,
    );
    const [helo] = fn.requestsFor('helo');
    expect(helo!.body.helo).toEqual({ hostname: 'old.client.test', esmtp: false });
    expectValidRequests(fn.requests);
  });
});

describe('a session after STARTTLS', () => {
  it('reports tls {version, cipher, sni} and the EHLO given after the handshake', async () => {
    const certificate = await testCertificate();
    const dir = await mkdtemp(join(tmpdir(), 'mxhook-tls-'));
    tempDirs.push(dir);
    await writeFile(join(dir, 'cert.pem'), certificate.cert);
    await writeFile(join(dir, 'key.pem'), certificate.key);
    const fn = await startFunctionServer();
    const bridge = await startBridge({
      functionUrl: fn.url,
      env: {
        MXHOOK_STEPS: 'helo,mail,rcpt',
        MXHOOK_TLS_CERT: join(dir, 'cert.pem'),
        MXHOOK_TLS_KEY: join(dir, 'key.pem'),
      },
    });
    const client = await greeted(bridge.port);
    expect((await client.command('EHLO plain.test')).code).toBe(250);
    expect((await client.command('STARTTLS')).code).toBe(220);
    const secure = await client.startTls({ ca: certificate.cert, servername: 'localhost' });
    expect((await client.command('EHLO secure.test')).code).toBe(250);
    expect((await client.command('MAIL FROM:<a@client.test>')).code).toBe(250);
    expect((await client.command('RCPT TO:<b@mx.test>')).code).toBe(250);
    expect((await sendData(client, MESSAGE)).code).toBe(250);

    const [plainHelo, secureHelo] = fn.requestsFor('helo');
    expect(plainHelo!.body.session.tls).toBeNull();
    const tls = {
      version: secure.getProtocol(),
      cipher: secure.getCipher().name,
      sni: 'localhost',
    };
    expect(secureHelo!.body.session.tls).toEqual(tls);
    expect(secureHelo!.body.helo.hostname).toBe('secure.test');
    for (const request of [...fn.requestsFor('mail'), ...fn.requestsFor('data')]) {
      expect(request.body.session.tls).toEqual(tls);
      expect(request.body.session.helo).toBe('secure.test');
    }
    const raw = Buffer.from(fn.requestsFor('data')[0]!.body.message.raw!, 'base64').toString(
      'latin1',
    );
    expect(raw).toMatch(
      /^Return-Path: <a@client\.test>\r\nReceived: from secure\.test \(\[127\.0\.0\.1\]\)\r\n\t\(using TLSv1\.[23] with cipher /,
    );
    expectValidRequests(fn.requests);
  });
});
