// End to end, mail authentication: raw SMTP clients from 127.0.0.7 / 127.0.0.8 → the gateway
// (serve(), in-process, checking against a loopback DNS server that serves the test zones of
// auth-zone.ts) → the example Worker on workerd (wrangler dev). The forged Authentication-Results
// case: headers claiming the gateway's verdicts must neither let a DMARC failure through nor show
// up as the gateway's word in the stored message, the API or the pages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authentication } from '../../functions/sdk/wire.ts';
import { type AuthFixtures, createAuthFixtures } from '../helpers/auth-zone.ts';
import { signDkim } from '../helpers/dkim-signer.ts';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.ts';
import { dotStuff } from '../helpers/dot-stuff.ts';
import { destroyAllClients, SmtpClient, type SmtpReply } from '../helpers/smtp-client.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { getJson } from './helpers/mail.ts';
import { startTestWorker, type TestWorker } from './helpers/worker.ts';

/** The gateway's hostname, so its authserv-id. */
const HOSTNAME = 'mx.test';
/** How long one SMTP reply may take: a step calls the Worker, which may be slow on a loaded machine. */
const REPLY_MS = 45_000;

interface ApiMessage {
  readonly id: string;
  readonly subject: string | null;
  readonly rawUrl: string | null;
  readonly authentication?: Authentication;
}

interface ApiList {
  readonly messages: readonly { readonly id: string; readonly subject: string }[];
}

let fixtures: AuthFixtures;
let dns: TestDnsServer;
/** The Worker as configured by default: refuses DMARC failures under p=reject. */
let strict: { worker: TestWorker; gateway: TestGateway };
/** REJECT_DMARC_FAILURES="false": stores them. */
let lenient: { worker: TestWorker; gateway: TestGateway };

async function startPair(
  vars: Readonly<Record<string, string>>,
): Promise<{ worker: TestWorker; gateway: TestGateway }> {
  const worker = await startTestWorker({ vars });
  try {
    // Every setting the checks depend on is given here, whatever the helper's defaults are.
    const gateway = await startTestGateway(`${worker.url}mxhook/`, worker.secret, {
      MXHOOK_HOSTNAME: HOSTNAME,
      MXHOOK_AUTH_CHECKS: 'rdns,spf,sender,dkim,dmarc,arc',
      MXHOOK_DNS_SERVERS: dns.server,
      MXHOOK_DNS_TIMEOUT: '10',
    });
    return { worker, gateway };
  } catch (error) {
    await worker.stop();
    throw error;
  }
}

// wrangler bundles the Worker and starts workerd, twice: seconds each, more on a loaded two-core
// machine, so one after the other.
beforeAll(async () => {
  fixtures = createAuthFixtures();
  dns = await startDnsServer(fixtures.zone);
  strict = await startPair({});
  lenient = await startPair({ REJECT_DMARC_FAILURES: 'false' });
}, 180_000);

afterAll(async () => {
  destroyAllClients();
  for (const pair of [strict, lenient]) {
    await pair?.gateway.stop();
    await pair?.worker.stop();
  }
  await dns?.close();
}, 60_000);

/** The headers the forger adds: verdicts in the gateway's name (its hostname as authserv-id). */
const FORGED =
  `Authentication-Results: ${HOSTNAME}; dmarc=pass header.from=reject.test\r\n` +
  `Authentication-Results: ${HOSTNAME}; spf=pass\r\n`;

function message(from: string, subject: string, extraHeaders = ''): string {
  return (
    `${extraHeaders}From: The CEO <${from}>\r\nTo: Bob <bob@inbox.test>\r\nSubject: ${subject}\r\n` +
    `Date: Sun, 06 Dec 2026 12:00:00 +0000\r\n` +
    `Message-ID: <${subject.replace(/\W+/g, '-')}@${from.split('@')[1]}>\r\n` +
    'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n' +
    '\r\nPlease wire the money today.\r\n'
  );
}

function expectReply(reply: SmtpReply, code: number, what: string): void {
  if (reply.code !== code) throw new Error(`${what}: expected ${code}, got ${reply.raw}`);
}

/**
 * One transaction from `localAddress` to bob@inbox.test; `text` is sent as it is (dot-stuffed).
 * Returns the reply to the end of data, `code text`.
 */
async function deliver(
  port: number,
  options: { readonly localAddress: string; readonly mailFrom: string; readonly text: string },
): Promise<string> {
  const client = await SmtpClient.connect(port, { localAddress: options.localAddress });
  try {
    const command = async (line: string): Promise<SmtpReply> => {
      await client.send(`${line}\r\n`);
      return client.readReply(REPLY_MS);
    };
    expectReply(await client.readReply(REPLY_MS), 220, 'connecting');
    expectReply(await command('EHLO client.test'), 250, 'EHLO');
    expectReply(await command(`MAIL FROM:<${options.mailFrom}>`), 250, 'MAIL');
    expectReply(await command('RCPT TO:<bob@inbox.test>'), 250, 'RCPT');
    expectReply(await command('DATA'), 354, 'DATA');
    await client.send(dotStuff(Buffer.from(options.text, 'utf8')));
    const reply = await client.readReply(REPLY_MS);
    await command('QUIT').catch(() => undefined);
    return `${reply.code} ${reply.text}`;
  } finally {
    client.destroy();
  }
}

function storedId(reply: string): string {
  const id = /^250 2\.0\.0 Stored as (\d{13}-[0-9a-f]{12})$/.exec(reply)?.[1];
  if (id === undefined) throw new Error(`not a "Stored as" reply: ${reply}`);
  return id;
}

/** The header fields of a message, each unfolded (continuation lines joined), in order. */
function headerFields(raw: string): string[] {
  const end = raw.indexOf('\r\n\r\n');
  const header = end === -1 ? raw : raw.slice(0, end);
  return header.split(/\r\n(?![ \t])/).map((field) => field.replace(/\r\n(?=[ \t])/g, ''));
}

/** Authentication-Results fields whose authserv-id is the gateway's hostname (any case). */
function oursOf(fields: readonly string[]): string[] {
  return fields.filter((field) =>
    new RegExp(`^authentication-results:\\s*${HOSTNAME.replace('.', '\\.')}\\s*;`, 'i').test(field),
  );
}

async function fetchText(base: string, path: string): Promise<string> {
  const response = await fetch(new URL(path, base));
  if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status}`);
  return response.text();
}

/** The `<dd>` of a row of the message page's Authentication block. */
function verdictRow(page: string, name: string): string {
  const row = new RegExp(`<dt>${name}</dt><dd>([\\s\\S]*?)</dd>`).exec(page)?.[1];
  if (row === undefined) throw new Error(`no ${name} row on the message page`);
  return row;
}

describe('forged Authentication-Results from a client SPF does not allow', () => {
  const forgery = (subject: string): string => message('ceo@reject.test', subject, FORGED);

  it('is refused at data with 550 5.7.1 under p=reject, and nothing is stored', async () => {
    const subject = 'Forged verdicts, refused';
    const reply = await deliver(strict.gateway.port, {
      localAddress: fixtures.unconfirmedAddress,
      mailFrom: 'ceo@reject.test',
      text: forgery(subject),
    });
    expect(reply).toBe('550 5.7.1 Message fails the DMARC policy (p=reject) of its From domain');
    const list = await getJson<ApiList>(strict.worker.url, 'api/messages');
    expect(list.messages.map((stored) => stored.subject)).not.toContain(subject);
  }, 90_000);

  it('with REJECT_DMARC_FAILURES="false" is stored with only the gateway\'s verdict: dmarc=fail in raw, API and page', async () => {
    const subject = 'Forged verdicts, stored';
    const reply = await deliver(lenient.gateway.port, {
      localAddress: fixtures.unconfirmedAddress,
      mailFrom: 'ceo@reject.test',
      text: forgery(subject),
    });
    const id = storedId(reply);
    const stored = await getJson<ApiMessage>(lenient.worker.url, `api/messages/${id}`);
    expect(stored.subject).toBe(subject);

    // The raw message: the forged fields are gone, the gateway's own is the only one left.
    const raw = await fetchText(lenient.worker.url, stored.rawUrl!);
    const fields = headerFields(raw);
    const ours = oursOf(fields);
    expect(ours).toHaveLength(1);
    // On top, with the gateway's trace fields, before any field the client wrote. (RFC 8601 §4
    // wants it above the Received field it goes with; either way it is next to it.)
    expect(fields[0]).toBe('Return-Path: <ceo@reject.test>');
    expect(fields.slice(1, 3)).toContain(ours[0]);
    expect(fields.slice(1, 3).find((field) => field !== ours[0])).toMatch(
      /^Received: from client\.test \(\[127\.0\.0\.8\]\)\s+by mx\.test \(mxhook\)/,
    );
    expect(ours[0]).toMatch(/\bdmarc=fail\b/);
    expect(ours[0]).toMatch(/\bspf=fail\b/);
    expect(ours[0]).not.toMatch(/=pass\b/);
    expect(raw).not.toContain('dmarc=pass');
    expect(raw).not.toContain(`${HOSTNAME}; spf=pass`);
    expect(fields.filter((field) => /^authentication-results:/i.test(field))).toHaveLength(1);

    // The JSON API: the gateway's verdicts from the signed call.
    const auth = stored.authentication!;
    expect(auth.dmarc).toMatchObject({
      result: 'fail',
      domain: 'reject.test',
      policy: 'reject',
      aligned: { spf: false, dkim: false },
    });
    expect(auth.spf).toEqual({ result: 'fail', domain: 'reject.test', identity: 'mailfrom' });
    expect(auth.dkim).toEqual([]);
    // 127.0.0.8's PTR (forged.ptr.test) does not resolve back to it.
    expect(auth.rdns).toEqual({ result: 'fail', hostname: null, names: ['forged.ptr.test'] });
    expect(`Authentication-Results: ${auth.header!}`.replace(/\r\n(?=[ \t])/g, '')).toBe(ours[0]);

    // The message page: DMARC fail, never pass.
    const page = await fetchText(lenient.worker.url, `messages/${id}`);
    const dmarcRow = verdictRow(page, 'DMARC');
    expect(dmarcRow).toContain('<span class="badge verdict-fail">fail</span>');
    expect(dmarcRow).toContain('reject.test');
    expect(dmarcRow).not.toContain('pass');
    expect(verdictRow(page, 'SPF')).toContain('<span class="badge verdict-fail">fail</span>');
    expect(page).not.toContain('dmarc=pass');

    // The list: the chips say the same.
    const listPage = await fetchText(lenient.worker.url, '/');
    const listRow = new RegExp(
      `<a href="/messages/${id}">[\\s\\S]*?<td class="verdicts">([\\s\\S]*?)</td>`,
    ).exec(listPage)?.[1];
    expect(listRow).toContain('<span class="badge verdict-fail">DMARC fail</span>');
    expect(listRow).not.toContain('DMARC pass');
  }, 90_000);
});

describe('a genuine message from the domain', () => {
  it('DKIM-signed by reject.test from its SPF address: stored, every check passes in API and list', async () => {
    const subject = 'Genuine, signed';
    const text = signDkim(message('ceo@reject.test', subject), {
      ...fixtures.keys.rsa,
      domain: 'reject.test',
    });
    const reply = await deliver(strict.gateway.port, {
      localAddress: fixtures.clientAddress,
      mailFrom: 'ceo@reject.test',
      text,
    });
    const id = storedId(reply);
    const stored = await getJson<ApiMessage>(strict.worker.url, `api/messages/${id}`);
    expect(stored.subject).toBe(subject);
    const auth = stored.authentication!;
    expect(auth.rdns).toEqual({
      result: 'pass',
      hostname: 'mta.ptr.test',
      names: ['mta.ptr.test'],
    });
    expect(auth.spf).toEqual({ result: 'pass', domain: 'reject.test', identity: 'mailfrom' });
    expect(auth.dkim).toEqual([
      {
        result: 'pass',
        domain: 'reject.test',
        selector: fixtures.keys.rsa.selector,
        algorithm: 'rsa-sha256',
        aligned: true,
      },
    ]);
    expect(auth.dmarc).toMatchObject({
      result: 'pass',
      domain: 'reject.test',
      policy: 'reject',
      aligned: { spf: true, dkim: true },
    });

    const raw = await fetchText(strict.worker.url, stored.rawUrl!);
    const ours = oursOf(headerFields(raw));
    expect(ours).toHaveLength(1);
    expect(ours[0]).toMatch(/\bdmarc=pass\b/);

    const listPage = await fetchText(strict.worker.url, '/');
    const listRow = new RegExp(
      `<a href="/messages/${id}">[\\s\\S]*?<td class="verdicts">([\\s\\S]*?)</td>`,
    ).exec(listPage)?.[1];
    expect(listRow).toContain('<span class="badge verdict-pass">SPF pass</span>');
    expect(listRow).toContain('<span class="badge verdict-pass">DKIM pass</span>');
    expect(listRow).toContain('<span class="badge verdict-pass">DMARC pass</span>');

    const page = await fetchText(strict.worker.url, `messages/${id}`);
    expect(verdictRow(page, 'DMARC')).toContain('<span class="badge verdict-pass">pass</span>');
    expect(verdictRow(page, 'Reverse DNS')).toContain('mta.ptr.test');
  }, 90_000);
});
