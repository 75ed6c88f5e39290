// Delay notices end to end: `mxhook serve` relays a message whose recipients the receiving MTA
// keeps deferring; once they have waited MXHOOK_DELAY_WARNING, the sender's MX gets one RFC 3464
// "delayed" notice for the recipients whose NOTIFY asks for delays (or is absent), and no second
// one however often they are retried.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mxHost, startDnsServer, type TestDnsServer } from '../../helpers/dns-server.ts';
import { closeAllFunctionServers } from '../../helpers/function-server.ts';
import { closeAllReceivingMtas, freePort, startReceivingMta } from '../../helpers/receiving-mta.ts';
import { afterEhlo, sendData } from '../../helpers/smtp-client.ts';
import { startRelayingBridge, stopAllBridges } from '../../helpers/start-bridge.ts';
import { waitUntil } from '../../helpers/wait.ts';

const RELAY_CLIENT = '127.0.0.9';
/** Retries come at the runner's polls, about a second apart: room for ten on a loaded machine. */
const TRIES_MS = 40_000;
const TEST_LIMIT = { timeout: 90_000 };
const GREYLISTED = '451 4.2.0 Greylisted, try again later';
const MESSAGE =
  'From: alice@sender.test\r\nTo: bob@dest.test\r\nSubject: slow\r\n' +
  'Message-ID: <slow@sender.test>\r\n\r\nThis will take a while.\r\n';

let dns: TestDnsServer;
const directories: string[] = [];

beforeAll(async () => {
  dns = await startDnsServer({
    ...mxHost('dest.test', '127.0.0.2'),
    ...mxHost('sender.test', '127.0.0.4'),
  });
});
afterAll(async () => {
  await dns.close();
  await Promise.all(directories.map((dir) => rm(dir, { recursive: true, force: true })));
});
afterEach(async () => {
  await stopAllBridges();
  await closeAllFunctionServers();
  await closeAllReceivingMtas();
});

/**
 * `mxhook serve` relaying alice's message to bob (no NOTIFY: failures and delays), carol
 * (NOTIFY=FAILURE) and dave (NOTIFY=DELAY), whose MX greylists them for good; alice's MX records
 * what she is told.
 */
async function relayToGreylisting(delayWarning: string) {
  const port = await freePort(['127.0.0.2', '127.0.0.4']);
  const dest = await startReceivingMta('127.0.0.2', port, {
    rcpt: {
      'bob@dest.test': [GREYLISTED],
      'carol@dest.test': [GREYLISTED],
      'dave@dest.test': [GREYLISTED],
    },
  });
  const sender = await startReceivingMta('127.0.0.4', port);
  const relay = {
    queue: await queueDirectory(),
    client: RELAY_CLIENT,
    port,
    dnsServer: dns.server,
  };
  const { bridge } = await startRelayingBridge(relay, { MXHOOK_DELAY_WARNING: delayWarning });
  const client = await afterEhlo(bridge.port, { localAddress: RELAY_CLIENT });
  expect((await client.command('MAIL FROM:<alice@sender.test> ENVID=slow-1')).code).toBe(250);
  // bob: no NOTIFY (failures and delays); carol: failures only; dave: delays only.
  expect((await client.command('RCPT TO:<bob@dest.test>')).code).toBe(250);
  expect((await client.command('RCPT TO:<carol@dest.test> NOTIFY=FAILURE')).code).toBe(250);
  expect((await client.command('RCPT TO:<dave@dest.test> NOTIFY=DELAY')).code).toBe(250);
  expect((await sendData(client, MESSAGE)).code).toBe(250);
  await client.command('QUIT');

  return { dest, sender };
}

async function queueDirectory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mxhook-delay-notice-'));
  directories.push(dir);
  return dir;
}

describe('delay notices (MXHOOK_DELAY_WARNING)', () => {
  it(
    'tells the sender once about the recipients that asked, after the delay, never again',
    TEST_LIMIT,
    async () => {
      const { dest, sender } = await relayToGreylisting('0.5');
      // Retries are jittered, so bob and dave may be tried apart: one notice each, or one for both.
      const warned = () =>
        sender.messages.flatMap((notice) =>
          [...notice.body.toString('latin1').matchAll(/Final-Recipient: rfc822; (\S+)/g)].map(
            (match) => match[1],
          ),
        );
      await waitUntil(() => warned().length >= 2, 'delay notices for bob and dave', TRIES_MS);
      // Tried again and again after the notices (each try is one MAIL): no notice more.
      const triesAtNotice = dest.mailCommands;
      await waitUntil(() => dest.mailCommands >= triesAtNotice + 4, 'four more tries', TRIES_MS);
      expect(warned().sort()).toEqual(['bob@dest.test', 'dave@dest.test']);

      for (const notice of sender.messages) {
        expect(notice.mailFrom).toBe('');
        expect(notice.recipients.map((r) => r.address)).toEqual(['alice@sender.test']);
        const parsed = await simpleParser(notice.body);
        expect(parsed.subject).toBe('Delivery Status Notification (Delay)');
        expect(parsed.headers.get('content-type')).toMatchObject({
          value: 'multipart/report',
          params: { 'report-type': 'delivery-status' },
        });
        const status = notice.body.toString('latin1');
        const blocks = status
          .split(/\r\n\r\n/)
          .filter((block) => block.includes('Final-Recipient:'));
        for (const block of blocks) {
          expect(block).toContain('Action: delayed');
          expect(block).toContain('Status: 4.2.0');
          expect(block).toContain('Diagnostic-Code: smtp; 451 4.2.0 Greylisted, try again later');
          expect(block).toMatch(/Will-Retry-Until: \w{3}, \d{2} \w{3} \d{4} /);
        }
        expect(status).toContain('Original-Envelope-Id: slow-1');
      }
    },
  );

  it('sends none with MXHOOK_DELAY_WARNING=0, however long the wait', TEST_LIMIT, async () => {
    const { dest, sender } = await relayToGreylisting('0');
    // Ten tries of three recipients make four of one of them, which retries no sooner than
    // 0.16 s, 0.32 s, 0.32 s apart (MXHOOK_RETRY_MIN 0.2 less jitter): past the 0.5 s the other
    // test warns after.
    await waitUntil(() => dest.mailCommands >= 10, 'ten tries', TRIES_MS);
    expect(sender.messages).toEqual([]);
  });
});
