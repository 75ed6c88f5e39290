// The send API end to end: `mxhook serve` with a queue takes a message as JSON on POST /v1/send
// (bearer token or a signed request), builds it with MailComposer, DKIM-signs it, queues it, and
// delivers it to the recipient's MX (receiving MTAs on 127.0.0.x found through a loopback DNS
// server); delivery reports then reach a real function server, signed.
import { generateKeyPairSync } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createSendClient,
  type DeliveryReportRequest,
  importHmacSecret,
  MxhookSendError,
  SIGNATURE_HEADER,
  signBody,
  verifyDeliveryBody,
} from '../../../functions/sdk/index.ts';
import { dkimKeyRecord } from '../../helpers/dkim-signer.ts';
import { verifyDkim } from '../../helpers/dkim-verifier.ts';
import { mxHost, startDnsServer, type TestDnsServer } from '../../helpers/dns-server.ts';
import {
  closeAllFunctionServers,
  type FunctionServer,
  startFunctionServer,
} from '../../helpers/function-server.ts';
import {
  closeAllReceivingMtas,
  freePort,
  type MtaScript,
  type ReceivingMta,
  startReceivingMta,
} from '../../helpers/receiving-mta.ts';
import { startBridge, stopAllBridges, type TestBridge } from '../../helpers/start-bridge.ts';
import { waitUntil } from '../../helpers/wait.ts';
import { expectValidRequests } from '../bridge/schema.ts';

const TOKEN = 'send-token-0123456789abcdefghijklmnopqrstuvwxyz';
const DKIM_KEY = generateKeyPairSync('ed25519');

let dns: TestDnsServer;
let port: number;
let keyFile: string;
const directories: string[] = [];

beforeAll(async () => {
  dns = await startDnsServer({
    ...mxHost('dest.test', '127.0.0.2'),
    ...mxHost('picky.test', '127.0.0.3'),
    'mail._domainkey.sender.test': [{ type: 'TXT', data: dkimKeyRecord(DKIM_KEY.publicKey) }],
  });
  port = await freePort(['127.0.0.2', '127.0.0.3']);
  const keyDir = await directory();
  keyFile = join(keyDir, 'dkim.pem');
  await writeFile(keyFile, DKIM_KEY.privateKey.export({ type: 'pkcs8', format: 'pem' }));
});
afterAll(async () => {
  dns.close();
  await Promise.all(directories.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});
afterEach(async () => {
  await stopAllBridges();
  await closeAllFunctionServers();
  await closeAllReceivingMtas();
});

async function directory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mxhook-send-'));
  directories.push(dir);
  return dir;
}

interface Setup {
  readonly bridge: TestBridge;
  readonly fn: FunctionServer;
  readonly url: string;
  readonly dest: ReceivingMta;
  readonly picky: ReceivingMta;
}

async function sendingGateway(
  env: Readonly<Record<string, string>> = {},
  signing: 'HS256' | 'EdDSA' = 'HS256',
  destScript: MtaScript = {},
): Promise<Setup> {
  const dest = await startReceivingMta('127.0.0.2', port, destScript);
  const picky = await startReceivingMta('127.0.0.3', port, {
    rcpt: { 'nobody@picky.test': ['550 5.1.1 no such user'] },
  });
  const fn = await startFunctionServer();
  const bridge = await startBridge({
    functionUrl: fn.url,
    signing,
    env: {
      MXHOOK_QUEUE: await directory(),
      MXHOOK_DELIVERY_PORT: String(port),
      MXHOOK_DNS_SERVERS: dns.server,
      MXHOOK_DKIM_SIGN: `sender.test:mail:${keyFile}`,
      MXHOOK_SEND_TOKEN: TOKEN,
      MXHOOK_SEND_SIGNED: 'true',
      MXHOOK_RETRY_MIN: '0.2',
      MXHOOK_RETRY_MAX: '0.4',
      ...env,
    },
  });
  return { bridge, fn, url: `${bridge.adminUrl}/v1/send`, dest, picky };
}

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown> & { error?: { code: string; message: string } };
}

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` },
): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

const SIMPLE = {
  from: 'Alice <alice@sender.test>',
  to: 'bob@dest.test',
  subject: 'Hello',
  text: 'Hi Bob',
};

describe('POST /v1/send', () => {
  it('builds text, html and an attachment with MailComposer, DKIM-signs it and delivers it; bcc is never in the headers', async () => {
    const { url, dest } = await sendingGateway();
    const answer = await post(url, {
      from: { name: 'Alice Example', address: 'alice@sender.test' },
      to: ['bob@dest.test'],
      cc: 'Carol <carol@dest.test>',
      bcc: 'secret@dest.test',
      replyTo: 'help@sender.test',
      subject: 'Quarterly numbers — é',
      text: 'See attached.',
      html: '<p>See <b>attached</b>.</p>',
      attachments: [
        {
          filename: 'numbers.csv',
          contentType: 'text/csv',
          content: Buffer.from('a,b\n1,2\n').toString('base64'),
        },
      ],
      headers: { 'X-Campaign': 'q4' },
    });
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({
      id: expect.any(String),
      messageId: expect.stringMatching(/^<[^@]+@mx\.test>$/),
      recipients: ['bob@dest.test', 'carol@dest.test', 'secret@dest.test'],
    });
    await waitUntil(() => dest.messages.length >= 1, 'the message at dest');
    const [received] = dest.messages;
    expect(received!.mailFrom).toBe('alice@sender.test');
    expect(received!.recipients.map((r) => r.address).sort()).toEqual([
      'bob@dest.test',
      'carol@dest.test',
      'secret@dest.test',
    ]);
    const parsed = await simpleParser(received!.body);
    expect(parsed.subject).toBe('Quarterly numbers — é');
    expect(parsed.text?.trim()).toBe('See attached.');
    expect(parsed.html).toContain('<p>See <b>attached</b>.</p>');
    expect(parsed.messageId).toBe(answer.body.messageId);
    expect(parsed.headers.get('x-campaign')).toBe('q4');
    expect(parsed.replyTo?.text).toBe('help@sender.test');
    expect(parsed.attachments).toHaveLength(1);
    expect(parsed.attachments[0]!.filename).toBe('numbers.csv');
    expect(parsed.attachments[0]!.content.toString()).toBe('a,b\n1,2\n');
    const head = received!.body.toString('utf8').split('\r\n\r\n')[0]!;
    expect(head).not.toMatch(/^bcc:/im);
    expect(head).not.toContain('secret@dest.test');
    const resolver = new Resolver();
    resolver.setServers([dns.server]);
    expect(await verifyDkim(received!.body, resolver)).toMatchObject({ result: 'pass' });
  });

  it('sends a raw message as given, line ends made CRLF, keeping its own Message-ID', async () => {
    const { url, dest } = await sendingGateway();
    const raw =
      'From: alice@sender.test\nTo: bob@dest.test\nSubject: raw\nMessage-ID: <raw-1@sender.test>\n\nAs is.\n';
    const answer = await post(url, {
      from: 'alice@sender.test',
      to: 'bob@dest.test',
      raw: Buffer.from(raw).toString('base64'),
    });
    expect(answer).toMatchObject({ status: 202, body: { messageId: '<raw-1@sender.test>' } });
    await waitUntil(() => dest.messages.length >= 1, 'the raw message at dest');
    const text = dest.messages[0]!.body.toString('utf8');
    expect(text).toContain('Subject: raw\r\nMessage-ID: <raw-1@sender.test>\r\n\r\nAs is.\r\n');
    expect(text).toMatch(/^DKIM-Signature: /);
  });

  it('refuses each invalid request with its code and status', async () => {
    const { url } = await sendingGateway({ MXHOOK_MAX_MESSAGE_SIZE: '65536' });
    const cases: [unknown, number, string][] = [
      ['{not json', 400, 'ERR_BODY_MALFORMED'],
      [[SIMPLE], 400, 'ERR_BODY_MALFORMED'],
      [{ ...SIMPLE, text: undefined }, 400, 'ERR_FIELD_INVALID'],
      [{ ...SIMPLE, to: undefined }, 400, 'ERR_FIELD_INVALID'],
      [{ ...SIMPLE, priority: 'high' }, 400, 'ERR_FIELD_INVALID'],
      [{ ...SIMPLE, subject: 'a\r\nBcc: victim@dest.test' }, 400, 'ERR_FIELD_INVALID'],
      [{ ...SIMPLE, to: 'not an address' }, 400, 'ERR_ADDRESS_INVALID'],
      [{ ...SIMPLE, to: 'bob@dest.test\r\nBcc: victim@dest.test' }, 400, 'ERR_ADDRESS_INVALID'],
      [{ ...SIMPLE, headers: { 'X-A': 'a\r\nBcc: victim@dest.test' } }, 400, 'ERR_HEADER_INVALID'],
      [{ ...SIMPLE, headers: { 'Bad Name': 'x' } }, 400, 'ERR_HEADER_INVALID'],
      [{ ...SIMPLE, headers: { 'Message-ID': '<x@y>' } }, 400, 'ERR_HEADER_INVALID'],
      [{ ...SIMPLE, from: 'mallory@elsewhere.test' }, 403, 'ERR_FROM_NOT_ALLOWED'],
      [
        {
          ...SIMPLE,
          attachments: [{ filename: 'big.bin', content: Buffer.alloc(60_000).toString('base64') }],
        },
        413,
        'ERR_MESSAGE_TOO_LARGE',
      ],
    ];
    for (const [body, status, code] of cases) {
      const answer = await post(url, body);
      expect({ body, status: answer.status, code: answer.body.error?.code }).toEqual({
        body,
        status,
        code,
      });
      expect(answer.body.error?.message).toEqual(expect.any(String));
    }
    const badKey = await post(url, SIMPLE, {
      authorization: `Bearer ${TOKEN}`,
      'idempotency-key': 'has spaces in it',
    });
    expect([badKey.status, badKey.body.error?.code]).toEqual([400, 'ERR_IDEMPOTENCY_KEY_INVALID']);
    const get = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(get.status).toBe(405);
    expect(((await get.json()) as Answer['body']).error?.code).toBe('ERR_METHOD_NOT_ALLOWED');
  });
});

describe('authentication', () => {
  it('refuses no credentials and a wrong token with 401 ERR_SEND_UNAUTHORIZED', async () => {
    const { url } = await sendingGateway();
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong-token' },
      { authorization: 'Basic x' },
    ];
    for (const headers of attempts) {
      const answer = await post(url, SIMPLE, headers);
      expect([answer.status, answer.body.error?.code]).toEqual([401, 'ERR_SEND_UNAUTHORIZED']);
    }
  });

  it('accepts a request signed with the gateway secret (the SDK client), and refuses a stale, replayed or misaddressed one', async () => {
    const { bridge, url, dest } = await sendingGateway();
    const client = createSendClient({ url, secret: bridge.secret! });
    const sent = await client.send(SIMPLE);
    expect(sent.id).toEqual(expect.any(String));
    await waitUntil(() => dest.messages.length >= 1, 'the signed send at dest');

    const key = await importHmacSecret(bridge.secret!);
    const signed = async (claims: Record<string, unknown>) => {
      const body = Buffer.from(JSON.stringify({ ...SIMPLE, v: 1, ...claims }));
      return { body: body.toString(), headers: { [SIGNATURE_HEADER]: await signBody(body, key) } };
    };
    const now = Math.floor(Date.now() / 1000);
    const stale = await signed({ id: 'stale-1', timestamp: now - 3600, audience: url });
    expect(await codeOf(url, stale)).toEqual([401, 'ERR_TIMESTAMP_EXPIRED']);
    const once = await signed({ id: 'once-1', timestamp: now, audience: url });
    expect(await codeOf(url, once)).toEqual([202, undefined]);
    expect(await codeOf(url, once)).toEqual([401, 'ERR_REPLAYED']);
    const elsewhere = await signed({
      id: 'aud-1',
      timestamp: now,
      audience: 'https://x.test/other',
    });
    expect(await codeOf(url, elsewhere)).toEqual([401, 'ERR_AUDIENCE_MISMATCH']);
    const otherKey = await importHmacSecret('another-secret-0123456789abcdefghijklmnop');
    const body = Buffer.from(
      JSON.stringify({ ...SIMPLE, v: 1, id: 'k-1', timestamp: now, audience: url }),
    );
    const forged = {
      body: body.toString(),
      headers: { [SIGNATURE_HEADER]: await signBody(body, otherKey) },
    };
    expect(await codeOf(url, forged)).toEqual([401, 'ERR_KEY_UNKNOWN']);
  });

  it('accepts a request signed with the Ed25519 key pair the gateway signs with (MXHOOK_SIGNING_KEY)', async () => {
    const { bridge, url } = await sendingGateway({}, 'EdDSA');
    const privateKey = await readFile(bridge.keyFile!, 'utf8');
    const sent = await createSendClient({ url, privateKey }).send(SIMPLE);
    expect(sent.recipients).toEqual(['bob@dest.test']);
    const other = generateKeyPairSync('ed25519').privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    const refused = await createSendClient({ url, privateKey: other.toString(), retries: 0 })
      .send(SIMPLE)
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'ERR_KEY_UNKNOWN', status: 401 });
  });

  it('is off without MXHOOK_SEND_TOKEN and MXHOOK_SEND_SIGNED: 404 ERR_SEND_OFF', async () => {
    const { url } = await sendingGateway({ MXHOOK_SEND_TOKEN: '', MXHOOK_SEND_SIGNED: 'false' });
    const answer = await post(url, SIMPLE);
    expect([answer.status, answer.body.error?.code]).toEqual([404, 'ERR_SEND_OFF']);
    expect(answer.body.error?.message).toContain('MXHOOK_SEND_TOKEN');
  });

  it('answers 503 ERR_QUEUE_OFF without MXHOOK_QUEUE', async () => {
    const { url } = await sendingGateway({ MXHOOK_QUEUE: '' });
    const answer = await post(url, SIMPLE);
    expect([answer.status, answer.body.error?.code]).toEqual([503, 'ERR_QUEUE_OFF']);
    await expect(
      createSendClient({ url, token: TOKEN, retries: 1, backoffMs: 10 }).send(SIMPLE),
    ).rejects.toMatchObject({
      code: 'ERR_QUEUE_OFF',
      status: 503,
    });
  });
});

describe('idempotency', () => {
  it('queues one message for the same key sent twice at once, and refuses the key for another message', async () => {
    const { url, dest } = await sendingGateway();
    const headers = { authorization: `Bearer ${TOKEN}`, 'idempotency-key': 'order-42' };
    const [first, second] = await Promise.all([
      post(url, SIMPLE, headers),
      post(url, SIMPLE, headers),
    ]);
    expect(first!.status).toBe(202);
    expect(second!.body).toEqual(first!.body);
    const again = await post(url, SIMPLE, headers);
    expect(again.body).toEqual(first!.body);
    const other = await post(url, { ...SIMPLE, text: 'Something else' }, headers);
    expect([other.status, other.body.error?.code]).toEqual([409, 'ERR_IDEMPOTENCY_CONFLICT']);
    await waitUntil(() => dest.messages.length >= 1, 'the message at dest');
    // A second message would be on its way by now: the queue polls and delivers within a second.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(dest.messages).toHaveLength(1);
  });

  it("retries a 5xx with the client's idempotency key and still queues once", async () => {
    const { url, dest } = await sendingGateway();
    let calls = 0;
    const flaky: typeof fetch = async (input, init) => {
      calls += 1;
      const response = await fetch(input, init);
      // The first attempt reached the gateway and queued; its answer is lost as a 502 would be.
      return calls === 1 ? new Response('bad gateway', { status: 502 }) : response;
    };
    const client = createSendClient({ url, token: TOKEN, fetch: flaky, backoffMs: 10 });
    const sent = await client.send(SIMPLE, { idempotencyKey: 'retry-1' });
    expect(calls).toBe(2);
    expect(sent.recipients).toEqual(['bob@dest.test']);
    await waitUntil(() => dest.messages.length >= 1, 'the message at dest');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(dest.messages).toHaveLength(1);
  });

  it('gives up after its retries with ERR_SEND_NETWORK when nothing answers', async () => {
    const closed = await freePort(['127.0.0.1']);
    const client = createSendClient({
      url: `http://127.0.0.1:${closed}/v1/send`,
      token: TOKEN,
      retries: 2,
      backoffMs: 10,
    });
    const error = await client.send(SIMPLE).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MxhookSendError);
    expect(error).toMatchObject({ code: 'ERR_SEND_NETWORK', status: null });
  });
});

describe('delivery reports (MXHOOK_DELIVERY_REPORTS)', () => {
  it('POSTs a signed delivery call for a delivered and for a bounced recipient', async () => {
    const { bridge, fn, url } = await sendingGateway({ MXHOOK_DELIVERY_REPORTS: 'send-api' });
    const answer = await post(url, { ...SIMPLE, to: ['bob@dest.test', 'nobody@picky.test'] });
    expect(answer.status).toBe(202);
    await waitUntil(
      () => fn.requests.filter((request) => request.step === 'delivery').length >= 2,
      'two delivery reports',
    );
    const calls = fn.requests.filter((request) => request.step === 'delivery');
    expectValidRequests(calls);
    const reports: DeliveryReportRequest[] = [];
    for (const call of calls) {
      const signature = call.headers[SIGNATURE_HEADER.toLowerCase()] as string;
      reports.push(
        await verifyDeliveryBody(call.raw, signature, bridge.secret!, { audience: fn.url }),
      );
    }
    const byRecipient = new Map(
      reports.map((report) => [report.delivery.recipient, report.delivery]),
    );
    expect(byRecipient.get('bob@dest.test')).toMatchObject({
      queueId: answer.body.id,
      origin: 'send-api',
      messageId: answer.body.messageId,
      sender: 'alice@sender.test',
      outcome: 'delivered',
      attempts: 1,
      nextAttemptAt: null,
      remote: { host: 'mx.dest.test', address: '127.0.0.2' },
    });
    expect(byRecipient.get('nobody@picky.test')).toMatchObject({
      queueId: answer.body.id,
      outcome: 'failed',
      reply: expect.stringMatching(/^550 5\.1\.1/),
      remote: { host: 'mx.picky.test' },
    });
  });
});

describe('delivery reports, retried and slow', () => {
  it('reports a deferred attempt with its next time, then the delivery', async () => {
    const { fn, url } = await sendingGateway({ MXHOOK_DELIVERY_REPORTS: 'all' }, 'HS256', {
      rcpt: { 'later@dest.test': ['451 4.2.1 try again later', null] },
    });
    const answer = await post(url, { ...SIMPLE, to: 'later@dest.test' });
    const reports = () =>
      fn.requests
        .filter((request) => request.step === 'delivery')
        .map((request) => (request.body as unknown as DeliveryReportRequest).delivery);
    await waitUntil(() => reports().length >= 2, 'two delivery reports');
    expect(reports()).toMatchObject([
      {
        queueId: answer.body.id,
        outcome: 'deferred',
        attempts: 1,
        reply: expect.stringMatching(/^451 4\.2\.1/),
        nextAttemptAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
      { queueId: answer.body.id, outcome: 'delivered', attempts: 2, nextAttemptAt: null },
    ]);
  });

  it('delivers on while the function does not answer its delivery calls', async () => {
    const { fn, url, dest } = await sendingGateway({ MXHOOK_DELIVERY_REPORTS: 'send-api' });
    // The helper's scripts are typed by SMTP step; `delivery` is answered the same way.
    fn.answer('delivery' as 'data', { kind: 'hang' });
    for (let i = 0; i < 3; i++) {
      expect((await post(url, { ...SIMPLE, subject: `slow function ${i}` })).status).toBe(202);
    }
    await waitUntil(() => dest.messages.length >= 3, 'three deliveries');
    expect(fn.requests.filter((request) => request.step === 'delivery').length).toBeGreaterThan(0);
  });
});

async function codeOf(
  url: string,
  request: { body: string; headers: Record<string, string> },
): Promise<[number, string | undefined]> {
  const answer = await post(url, request.body, request.headers);
  return [answer.status, answer.body.error?.code];
}
