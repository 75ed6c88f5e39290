// Sending through mxhook end to end: `mxhook serve` with a queue directory takes mail from a relay
// network or as its function says, queues it before the 250, and delivers it to the recipients' MX
// hosts (receiving MTAs on 127.0.0.x, found through a loopback DNS server): retries, bounces,
// DKIM signing checked by the tests' own verifier.
import { generateKeyPairSync } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../../gateway/auth/password-hash.ts';
import { dkimKeyRecord } from '../../helpers/dkim-signer.ts';
import { verifyDkim } from '../../helpers/dkim-verifier.ts';
import { mxHost, startDnsServer, type TestDnsServer } from '../../helpers/dns-server.ts';
import { json, startFunctionServer } from '../../helpers/function-server.ts';
import {
  closeAllReceivingMtas,
  freePort,
  type MtaScript,
  type ReceivingMta,
  startReceivingMta,
} from '../../helpers/receiving-mta.ts';
import { closeAllRecordingMtas, startRecordingMta } from '../../helpers/recording-mta.ts';
import { afterEhlo, inTransaction, sendData } from '../../helpers/smtp-client.ts';
import { startBridge, startRelayingBridge, stopAllBridges } from '../../helpers/start-bridge.ts';
import { waitUntil } from '../../helpers/wait.ts';
import { cleanUp } from '../bridge/steps.ts';

const RELAY_CLIENT = '127.0.0.9';
const DKIM_KEY = generateKeyPairSync('ed25519');

let dns: TestDnsServer;
let port: number;
const directories: string[] = [];

beforeAll(async () => {
  dns = await startDnsServer({
    ...mxHost('dest.test', '127.0.0.2'),
    ...mxHost('picky.test', '127.0.0.3'),
    ...mxHost('sender.test', '127.0.0.4'),
    'mail._domainkey.sender.test': [{ type: 'TXT', data: dkimKeyRecord(DKIM_KEY.publicKey) }],
  });
  port = await freePort(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
});
afterAll(() => dns.close());
afterEach(async () => {
  await stopAllBridges();
  await cleanUp();
  await closeAllReceivingMtas();
  await closeAllRecordingMtas();
  await Promise.all(directories.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function queueDirectory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mxhook-queue-'));
  directories.push(dir);
  return dir;
}

async function mtas(scripts: { dest?: MtaScript; picky?: MtaScript } = {}) {
  return {
    dest: await startReceivingMta('127.0.0.2', port, scripts.dest),
    picky: await startReceivingMta('127.0.0.3', port, scripts.picky),
    sender: await startReceivingMta('127.0.0.4', port),
  };
}

async function relayingBridge(env: Readonly<Record<string, string>> = {}) {
  const relay = {
    queue: await queueDirectory(),
    client: RELAY_CLIENT,
    port,
    dnsServer: dns.server,
  };
  return startRelayingBridge(relay, env);
}

const MESSAGE =
  'From: alice@sender.test\r\nTo: bob@dest.test\r\nSubject: outbound\r\n' +
  'Message-ID: <o1@sender.test>\r\n\r\nHello over there.\r\n';

async function send(
  bridgePort: number,
  to: readonly string[],
  from = 'alice@sender.test',
  localAddress = RELAY_CLIENT,
): Promise<number> {
  const client = await inTransaction(bridgePort, { localAddress, from, to });
  const reply = await sendData(client, MESSAGE);
  await client.command('QUIT');
  return reply.code;
}

function delivered(mta: ReceivingMta, count = 1): Promise<void> {
  return waitUntil(() => mta.messages.length >= count, `${count} message(s) at ${mta.address}`);
}

describe('relay', () => {
  it("delivers mail from MXHOOK_RELAY_NETWORKS to the recipient domain's MX, after the function accepted it", async () => {
    const { dest } = await mtas();
    const { fn, bridge } = await relayingBridge();
    expect(await send(bridge.port, ['bob@dest.test'])).toBe(250);
    await delivered(dest);
    const [message] = dest.messages;
    expect(message!.mailFrom).toBe('alice@sender.test');
    expect(message!.recipients.map((r) => r.address)).toEqual(['bob@dest.test']);
    const text = message!.body.toString('utf8');
    expect(text).toMatch(/^Received: from client\.test \(\[127\.0\.0\.9\]\)/m);
    expect(text).toContain('Subject: outbound');
    expect(fn.requests.map((r) => r.step)).toContain('data');
  });

  it('delivers mail of a session that authenticated, from any address', async () => {
    const { dest } = await mtas();
    const users = join(await queueDirectory(), 'users');
    await writeFile(users, `joe:${await hashPassword('right', { N: 1024, r: 8, p: 1 })}\n`);
    const { bridge } = await relayingBridge({
      MXHOOK_AUTH: 'users',
      MXHOOK_AUTH_USERS: users,
      // AUTH in clear is for this test on loopback only.
      MXHOOK_AUTH_ALLOW_INSECURE: 'true',
    });
    const client = await afterEhlo(bridge.port, { localAddress: '127.0.0.1' });
    const credentials = Buffer.from('\0joe\0right').toString('base64');
    expect((await client.command(`AUTH PLAIN ${credentials}`)).code).toBe(235);
    expect((await client.command('MAIL FROM:<joe@sender.test>')).code).toBe(250);
    expect((await client.command('RCPT TO:<bob@dest.test>')).code).toBe(250);
    expect((await sendData(client, MESSAGE)).code).toBe(250);
    await delivered(dest);
    expect(dest.messages[0]!.mailFrom).toBe('joe@sender.test');
  });

  it('leaves a delivery cut short by shutdown in the queue, and the next start delivers it', async () => {
    // Every 250 after the data comes 3 s late: the first gateway stops while it waits.
    const slow = await startRecordingMta('127.0.0.2', port, { dataDelayMs: 3_000 });
    const queue = await queueDirectory();
    const env = { MXHOOK_QUEUE: queue, MXHOOK_SHUTDOWN_GRACE: '0.2' };
    const first = await relayingBridge(env);
    expect(await send(first.bridge.port, ['bob@dest.test'])).toBe(250);
    await waitUntil(() => slow.waiting > 0, 'the delivery to be under way');
    await first.bridge.stop();
    expect(slow.deliveries).toHaveLength(0);
    await slow.close();
    const fast = await startRecordingMta('127.0.0.2', port);
    await relayingBridge(env);
    await waitUntil(() => fast.deliveries.length === 1, 'the delivery after the restart');
    expect(fast.deliveries[0]!.recipients).toEqual(['bob@dest.test']);
  });

  it('delivers nothing for other clients unless the data answer says deliver', async () => {
    const { dest } = await mtas();
    const { fn, bridge } = await relayingBridge();
    expect(await send(bridge.port, ['bob@dest.test'], 'x@sender.test', '127.0.0.1')).toBe(250);
    fn.answer('data', json({ action: 'accept', deliver: ['BOB@dest.test'] }));
    expect(
      await send(bridge.port, ['bob@dest.test', 'carol@dest.test'], 'y@sender.test', '127.0.0.1'),
    ).toBe(250);
    await delivered(dest);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(dest.messages.map((m) => [m.mailFrom, m.recipients.map((r) => r.address)])).toEqual([
      ['y@sender.test', ['bob@dest.test']],
    ]);
  });

  it('answers 451 when the function says deliver but no queue is set, and when deliver names a stranger', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url });
    fn.answer('data', json({ action: 'accept', deliver: true }));
    expect(await send(bridge.port, ['bob@dest.test'], 'x@sender.test', '127.0.0.1')).toBe(451);
    const relaying = await relayingBridge();
    relaying.fn.answer('data', json({ action: 'accept', deliver: ['eve@elsewhere.test'] }));
    expect(await send(relaying.bridge.port, ['bob@dest.test'])).toBe(451);
  });

  it('retries a recipient the MX defers, and bounces one it refuses to the sender, with the null sender', async () => {
    const { dest, picky, sender } = await mtas({
      dest: { rcpt: { 'later@dest.test': ['451 4.2.1 try again later', null] } },
      picky: { rcpt: { 'nobody@picky.test': ['550 5.1.1 no such user'] } },
    });
    const { bridge } = await relayingBridge();
    expect(await send(bridge.port, ['later@dest.test', 'nobody@picky.test'])).toBe(250);
    await delivered(dest);
    expect(dest.messages[0]!.recipients.map((r) => r.address)).toEqual(['later@dest.test']);
    await delivered(sender);
    const bounce = sender.messages[0]!;
    expect(bounce.mailFrom).toBe('');
    expect(bounce.recipients.map((r) => r.address)).toEqual(['alice@sender.test']);
    const text = bounce.body.toString('utf8');
    expect(text).toMatch(/Content-Type: multipart\/report;[\s\S]*report-type=delivery-status/i);
    expect(text).toContain('Final-Recipient: rfc822; nobody@picky.test');
    expect(text).toMatch(/Diagnostic-Code: smtp; 550 5\.1\.1/);
    expect(picky.messages).toHaveLength(0);
  });

  it("signs what it sends with MXHOOK_DKIM_SIGN; the tests' own verifier checks it", async () => {
    const { dest } = await mtas();
    const keyDir = await queueDirectory();
    const keyFile = join(keyDir, 'dkim.pem');
    await writeFile(keyFile, DKIM_KEY.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const { bridge } = await relayingBridge({ MXHOOK_DKIM_SIGN: `sender.test:mail:${keyFile}` });
    expect(await send(bridge.port, ['bob@dest.test'])).toBe(250);
    await delivered(dest);
    const resolver = new Resolver();
    resolver.setServers([dns.server]);
    expect(await verifyDkim(dest.messages[0]!.body, resolver)).toMatchObject({ result: 'pass' });
  });
});

describe('delivery status notifications (DSN, RFC 3461)', () => {
  async function sendWithParams(
    bridgePort: number,
    mail: string,
    rcpts: readonly string[],
    localAddress = RELAY_CLIENT,
  ): Promise<number> {
    const client = await afterEhlo(bridgePort, { localAddress });
    expect((await client.command(`MAIL FROM:<alice@sender.test> ${mail}`)).code).toBe(250);
    for (const rcpt of rcpts) expect((await client.command(`RCPT TO:${rcpt}`)).code).toBe(250);
    const reply = await sendData(client, MESSAGE);
    await client.command('QUIT');
    return reply.code;
  }

  it('is offered only with a queue; RET and ENVID go on to the next server', async () => {
    const fn = await startFunctionServer();
    const plain = await startBridge({ functionUrl: fn.url });
    const withoutQueue = await afterEhlo(plain.port);
    expect((await withoutQueue.command('MAIL FROM:<a@b.test> RET=FULL')).code).toBe(555);
    const { dest } = await mtas();
    const { bridge } = await relayingBridge();
    const client = await afterEhlo(bridge.port, { localAddress: RELAY_CLIENT });
    expect((await client.command('EHLO client.test')).lines).toContain('DSN');
    await client.command('QUIT');
    expect(
      await sendWithParams(bridge.port, 'RET=HDRS ENVID=QQ+2B1', [
        '<bob@dest.test> NOTIFY=FAILURE',
      ]),
    ).toBe(250);
    await delivered(dest);
    // smtp-server shows ENVID decoded: the xtext QQ+2B1 arrived as sent, not encoded twice.
    expect(dest.messages[0]!.mailParams).toMatchObject({ RET: 'HDRS', ENVID: 'QQ+1' });
    expect(dest.messages[0]!.recipients[0]!.params).toMatchObject({ NOTIFY: 'FAILURE' });
  });

  it('NOTIFY=SUCCESS gets a "delivered" notice, for mail sent on and for mail the function took', async () => {
    const { dest, sender } = await mtas();
    const { bridge } = await relayingBridge();
    const rcpt = '<bob@dest.test> NOTIFY=SUCCESS ORCPT=rfc822;bob+40dest.test';
    expect(await sendWithParams(bridge.port, 'ENVID=relayed', [rcpt])).toBe(250);
    expect(await sendWithParams(bridge.port, 'ENVID=here', [rcpt], '127.0.0.1')).toBe(250);
    await delivered(dest);
    await delivered(sender, 2);
    const notices = sender.messages.map((m) => m.body.toString('utf8'));
    for (const notice of notices) {
      expect(notice).toMatch(/Action: delivered/);
      expect(notice).toContain('Original-Recipient: rfc822; bob@dest.test');
    }
    expect(notices.some((n) => n.includes('Original-Envelope-Id: relayed'))).toBe(true);
    expect(notices.some((n) => n.includes('Original-Envelope-Id: here'))).toBe(true);
    expect(sender.messages.every((m) => m.mailFrom === '')).toBe(true);
  });

  it('NOTIFY=NEVER: a refused recipient is not bounced', async () => {
    const { picky, sender } = await mtas({
      picky: { rcpt: { 'nobody@picky.test': ['550 5.1.1 no such user'] } },
    });
    const { bridge } = await relayingBridge();
    expect(await sendWithParams(bridge.port, '', ['<nobody@picky.test> NOTIFY=NEVER'])).toBe(250);
    await waitUntil(() => picky.connections > 0, 'the delivery attempt');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(sender.messages).toHaveLength(0);
  });
});
