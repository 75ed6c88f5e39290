// End to end: the SDK's send() running inside workerd. A mail reaches the example Worker (wrangler
// dev) through the gateway; the Worker's auto-reply (AUTO_REPLY) calls the gateway's send API with
// the SDK's client, with a bearer token and then signed, and the gateway queues and delivers the
// reply to the sender's MX (a receiving MTA on 127.0.0.2, found through a loopback DNS server).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort as freeHttpPort } from '../../gateway/dev/wrangler-dev.ts';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.ts';
import { freePort, type ReceivingMta, startReceivingMta } from '../helpers/receiving-mta.ts';
import { waitUntil } from '../helpers/wait.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { sendMail } from './helpers/mail.ts';
import { startTestWorker, type TestWorker } from './helpers/worker.ts';

const TOKEN = 'e2e-send-token-0123456789abcdefghijklmnopqrstuv';

let dns: TestDnsServer;
let mta: ReceivingMta;
let smtpPort: number;

beforeAll(async () => {
  dns = await startDnsServer({
    'sender.test': [{ type: 'MX', exchange: 'mx.sender.test', priority: 10 }],
    'mx.sender.test': [{ type: 'A', address: '127.0.0.2' }],
  });
  smtpPort = await freePort(['127.0.0.2']);
  mta = await startReceivingMta('127.0.0.2', smtpPort);
});

afterAll(async () => {
  await mta?.close();
  dns?.close();
});

/**
 * How the Worker's send() authenticates: a bearer token (MXHOOK_SEND_TOKEN on both sides), or
 * requests signed with the secret it already shares with the gateway (MXHOOK_SEND_SIGNED=true).
 */
describe.each(['token', 'signed'] as const)('with the send API %s', (auth) => {
  let worker: TestWorker;
  let gateway: TestGateway;
  let queueDir: string;

  beforeAll(async () => {
    queueDir = await mkdtemp(join(tmpdir(), 'mxhook-e2e-send-'));
    // The Worker needs the send API's URL before the gateway starts, so its port is chosen first.
    const httpPort = await freeHttpPort();
    worker = await startTestWorker({
      vars: {
        AUTO_REPLY: 'Thanks, we got your message.',
        MXHOOK_SEND_URL: `http://127.0.0.1:${httpPort}/v1/send`,
        ...(auth === 'token' ? { MXHOOK_SEND_TOKEN: TOKEN } : {}),
      },
    });
    gateway = await startTestGateway(`${worker.url}mxhook/`, worker.secret, {
      MXHOOK_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      MXHOOK_QUEUE: queueDir,
      ...(auth === 'token' ? { MXHOOK_SEND_TOKEN: TOKEN } : { MXHOOK_SEND_SIGNED: 'true' }),
      MXHOOK_SEND_FROM_DOMAINS: 'inbox.test',
      MXHOOK_DELIVERY_PORT: String(smtpPort),
      MXHOOK_DNS_SERVERS: dns.server,
    });
  }, 90_000);

  afterAll(async () => {
    await gateway?.stop();
    await worker?.stop();
    if (queueDir !== undefined) await rm(queueDir, { recursive: true, force: true });
  }, 30_000);

  it("auto-replies through the SDK's send() in workerd, by RFC 3834's rules, and the gateway delivers the reply", async () => {
    // The MX is shared by both runs: count from what it holds already.
    const earlier = mta.messages.length;
    // Mailing-list mail gets no reply: sent first, so its reply would arrive before the other's.
    await sendMail(gateway.port, {
      to: 'bob@inbox.test',
      subject: 'List digest',
      text: 'news',
      headers: { 'List-Id': '<news.sender.test>' },
    });
    const info = await sendMail(gateway.port, {
      to: 'bob@inbox.test',
      subject: 'Question',
      text: 'Are you open on Sunday?',
      messageId: '<question-1@sender.test>',
    });
    expect(info.response).toMatch(/^250 /);
    await waitUntil(() => mta.messages.length > earlier, 'the auto-reply at the sender MX', 30_000);
    const reply = mta.messages[earlier];
    expect(reply!.mailFrom).toBe('bob@inbox.test');
    expect(reply!.recipients.map((r) => r.address)).toEqual(['alice@sender.test']);
    const parsed = await simpleParser(reply!.body);
    expect(parsed.subject).toBe('Re: Question');
    expect(parsed.text?.trim()).toBe('Thanks, we got your message.');
    expect(parsed.inReplyTo).toBe('<question-1@sender.test>');
    expect(parsed.headers.get('auto-submitted')).toBe('auto-replied');
    expect(parsed.messageId).toMatch(/@mx\.test>$/);
    // A reply to the list mail would have followed within this time: the queue delivers at once.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(mta.messages).toHaveLength(earlier + 1);
  }, 60_000);
});
