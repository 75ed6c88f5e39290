// The live audit stream on the admin listener, through `mxhook serve` (serve()): a real SSE client
// (fetch + eventsource-parser) reads the events of a real SMTP session (nodemailer, with AUTH), of
// the message's trip through the queue and of its delivery to a receiving MTA on 127.0.0.2.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../../gateway/auth/password-hash.ts';
import {
  authorization,
  closeAllAuditStreams,
  openAuditStream,
} from '../../helpers/audit-stream.ts';
import { mxHost, startDnsServer, type TestDnsServer } from '../../helpers/dns-server.ts';
import { closeAllFunctionServers, startFunctionServer } from '../../helpers/function-server.ts';
import {
  closeAllReceivingMtas,
  freePort,
  type ReceivingMta,
  startReceivingMta,
} from '../../helpers/receiving-mta.ts';
import { startBridge, stopAllBridges, type TestBridge } from '../../helpers/start-bridge.ts';
import { waitUntil } from '../../helpers/wait.ts';

const TOKEN = randomBytes(32).toString('base64url');
const PASSWORD = 'correct-horse-battery-staple';
const BODY_TEXT = 'A line only the message body has.';
const MESSAGE = `From: joe@sender.test\r\nTo: bob@dest.test\r\nSubject: audited\r\n\r\n${BODY_TEXT}\r\n`;

let dns: TestDnsServer;
let mtaPort: number;
let usersFile: string;
const directories: string[] = [];

beforeAll(async () => {
  dns = await startDnsServer(mxHost('dest.test', '127.0.0.2'));
  mtaPort = await freePort(['127.0.0.2']);
  const dir = await temporaryDirectory();
  usersFile = join(dir, 'users');
  await writeFile(usersFile, `joe:${await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1 })}\n`);
});
afterAll(async () => {
  dns.close();
  await Promise.all(directories.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});
afterEach(async () => {
  closeAllAuditStreams();
  await stopAllBridges();
  await closeAllFunctionServers();
  await closeAllReceivingMtas();
});

async function temporaryDirectory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mxhook-audit-'));
  directories.push(dir);
  return dir;
}

/** `mxhook serve` with a queue, AUTH from a users file, and the admin token. */
async function auditedBridge(env: Readonly<Record<string, string>> = {}): Promise<TestBridge> {
  const fn = await startFunctionServer();
  return startBridge({
    functionUrl: fn.url,
    env: {
      MXHOOK_ADMIN_TOKEN: TOKEN,
      MXHOOK_QUEUE: await temporaryDirectory(),
      MXHOOK_DELIVERY_PORT: String(mtaPort),
      MXHOOK_DNS_SERVERS: dns.server,
      MXHOOK_AUTH: 'users',
      MXHOOK_AUTH_USERS: usersFile,
      // AUTH in clear is for this test on loopback only.
      MXHOOK_AUTH_ALLOW_INSECURE: 'true',
      ...env,
    },
  });
}

/** One message from joe (AUTH PLAIN), relayed as authenticated mail is. */
async function sendMail(bridge: TestBridge): Promise<void> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: bridge.port,
    secure: false,
    ignoreTLS: true,
    name: 'client.test',
    auth: { user: 'joe', pass: PASSWORD },
  });
  try {
    const info = await transport.sendMail({
      envelope: { from: 'joe@sender.test', to: ['bob@dest.test'] },
      raw: MESSAGE,
    });
    expect(info.response).toMatch(/^250 /);
  } finally {
    transport.close();
  }
}

async function adminCall(bridge: TestBridge, method: string, body?: unknown, token = TOKEN) {
  const response = await fetch(`${bridge.adminUrl}/v1/audit`, {
    method,
    headers: { ...authorization(token), 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function delivered(mta: ReceivingMta): Promise<void> {
  return waitUntil(() => mta.messages.length >= 1, 'the message at the receiving MTA');
}

describe('the audit stream', () => {
  it('answers only with the bearer token: the stream, its state and its switch', async () => {
    const bridge = await auditedBridge();
    for (const token of [undefined, `${TOKEN}x`, 'x'.repeat(TOKEN.length)]) {
      const stream = await openAuditStream(bridge.adminUrl, token === undefined ? {} : { token });
      expect(stream.status).toBe(401);
    }
    const refused = await fetch(`${bridge.adminUrl}/v1/audit/stream`);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="mxhook"');
    expect((await adminCall(bridge, 'PUT', { enabled: true }, 'wrong-token')).status).toBe(401);
    expect((await adminCall(bridge, 'GET', undefined, 'wrong-token')).status).toBe(401);
    const state = await adminCall(bridge, 'GET');
    expect(state).toMatchObject({ status: 200, body: { enabled: false, active: [] } });
    expect(
      (await openAuditStream(bridge.adminUrl, { token: TOKEN, types: 'session,body' })).status,
    ).toBe(400);
  });

  it("streams a real session's events, and a subscriber gets only the types it asked for", async () => {
    const mta = await startReceivingMta('127.0.0.2', mtaPort);
    const bridge = await auditedBridge();
    const sessions = await openAuditStream(bridge.adminUrl, {
      token: TOKEN,
      types: 'session,decision,reply',
    });
    const outbound = await openAuditStream(bridge.adminUrl, {
      token: TOKEN,
      types: 'queue,delivery',
    });
    expect([sessions.status, outbound.status]).toEqual([200, 200]);
    await sendMail(bridge);
    await delivered(mta);

    const closed = await sessions.waitFor(
      'the session closed',
      (e) => e.data['action'] === 'closed',
    );
    expect(closed.type).toBe('session');
    expect(closed.data).toMatchObject({
      client: { address: '127.0.0.1' },
      helo: 'client.test',
      tls: null,
      auth: 'joe',
      proxied: false,
    });
    const opened = sessions.events.find((e) => e.data['action'] === 'opened')!;
    expect(opened.data).toMatchObject({ session: closed.data['session'], helo: null, auth: null });
    const decisions = sessions.events.filter((e) => e.type === 'decision').map((e) => e.data);
    expect(decisions).toEqual([
      expect.objectContaining({ step: 'auth', argument: 'joe', code: 235, enhanced: '2.7.0' }),
      expect.objectContaining({
        step: 'rcpt',
        argument: 'bob@dest.test',
        code: 250,
        queueId: null,
      }),
      expect.objectContaining({ step: 'data', code: 250, outcome: 'accepted' }),
    ]);
    const queueId = decisions[2]!['queueId'] as string;
    expect(queueId).toBe(`${closed.data['session']}.1`);
    expect(decisions[2]!['durationMs']).toEqual(expect.any(Number));
    expect(sessions.events.some((e) => e.type === 'reply' && e.data['code'] === 354)).toBe(true);

    const delivery = await outbound.waitFor('the delivery', (e) => e.type === 'delivery');
    expect(delivery.data).toMatchObject({
      recipient: 'bob@dest.test',
      outcome: 'delivered',
      host: 'mx.dest.test',
      address: '127.0.0.2',
      tls: { version: expect.stringMatching(/^TLSv1\.[23]$/) },
      reply: expect.stringMatching(/^250 /),
    });
    const enqueued = outbound.events.find((e) => e.data['action'] === 'enqueued')!;
    expect(enqueued.data).toMatchObject({
      origin: queueId,
      sender: 'joe@sender.test',
      recipients: 1,
      id: delivery.data['queueId'],
    });
    await outbound.waitFor('the outcome recorded', (e) => e.data['action'] === 'recorded');

    // Each stream had only its types; ids count up; nothing of the body or the password.
    expect(new Set(sessions.events.map((e) => e.type))).toEqual(
      new Set(['session', 'decision', 'reply']),
    );
    expect(new Set(outbound.events.map((e) => e.type))).toEqual(new Set(['queue', 'delivery']));
    const sequence = sessions.events.map((e) => Number(e.id!.split('.')[1]));
    expect(sequence).toEqual([...sequence].sort((a, b) => a - b));
    for (const stream of [sessions, outbound]) {
      expect(stream.text()).not.toContain(BODY_TEXT);
      expect(stream.text()).not.toContain(PASSWORD);
      expect(stream.text()).not.toContain(Buffer.from(`\0joe\0${PASSWORD}`).toString('base64'));
    }
  });

  it('makes nothing while off and unheard; PUT switches it on, Last-Event-ID replays, off ends streams', async () => {
    const mta = await startReceivingMta('127.0.0.2', mtaPort);
    const bridge = await auditedBridge();
    await sendMail(bridge);
    await delivered(mta);
    expect((await adminCall(bridge, 'GET')).body).toMatchObject({
      enabled: false,
      lastEventId: null,
    });

    const on = await adminCall(bridge, 'PUT', { enabled: true });
    expect(on.body).toMatchObject({
      enabled: true,
      active: ['session', 'decision', 'queue', 'delivery', 'reply'],
    });
    const first = await openAuditStream(bridge.adminUrl, { token: TOKEN, types: 'session' });
    await sendMail(bridge);
    const seen = await first.waitFor(
      'the second session closed',
      (e) => e.data['action'] === 'closed',
    );
    first.close();
    // Nobody listens now, but the switch is on: the third session's events are made and kept.
    await sendMail(bridge);
    await waitUntil(() => mta.messages.length >= 3, 'three messages delivered');
    const replayed = await openAuditStream(bridge.adminUrl, {
      token: TOKEN,
      types: 'session',
      lastEventId: seen.id!,
    });
    const reclosed = await replayed.waitFor(
      'the third session, replayed',
      (e) => e.data['action'] === 'closed',
    );
    expect(reclosed.data['session']).not.toBe(seen.data['session']);
    expect(replayed.events[0]!.data).toMatchObject({
      action: 'opened',
      session: reclosed.data['session'],
    });

    const off = await adminCall(bridge, 'PUT', { enabled: false });
    expect(off.body).toMatchObject({ enabled: false, active: [], subscribers: [] });
    await replayed.ended;
    expect(replayed.events.at(-1)).toMatchObject({
      type: 'closed',
      data: { reason: 'switched-off' },
    });
    expect((await adminCall(bridge, 'PUT', { enabled: 'yes' })).status).toBe(400);
  });

  it('is switched on at start by MXHOOK_AUDIT=on, and refuses it with the admin listener off', async () => {
    const bridge = await auditedBridge({ MXHOOK_AUDIT: 'on' });
    expect((await adminCall(bridge, 'GET')).body).toMatchObject({ enabled: true });
    const fn = await startFunctionServer();
    await expect(
      startBridge({ functionUrl: fn.url, env: { MXHOOK_AUDIT: 'on', MXHOOK_HTTP_LISTEN: 'off' } }),
    ).rejects.toThrow(/^MXHOOK_AUDIT: on needs the admin listener/);
  });
});
