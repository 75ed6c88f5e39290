// `"forward"` data answers end to end: `mxhook serve` with a queue and every authentication check,
// a DKIM-signed message from a DMARC p=reject domain forwarded to a receiving MTA, which gets it
// with an SRS0 envelope sender and an ARC set; the ARC chain and the original DKIM signature are
// checked by the tests' own verifier (dkim-verifier.ts, not mailauth), the SRS address by the
// scheme's definition (HMAC-SHA1 recomputed here). Bounces to the SRS address come back to the
// original sender; forged and expired ones are refused.
import { createHmac } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { srsForward } from '../../../gateway/outbound/srs.ts';
import { sealArc } from '../../helpers/arc-sealer.ts';
import { signDkim } from '../../helpers/dkim-signer.ts';
import { verifyArc, verifyDkim } from '../../helpers/dkim-verifier.ts';
import { json } from '../../helpers/function-server.ts';
import type { ReceivingMta } from '../../helpers/receiving-mta.ts';
import { afterEhlo, sendData } from '../../helpers/smtp-client.ts';
import { waitUntil } from '../../helpers/wait.ts';
import {
  messageFrom,
  OWN_DOMAIN,
  SRS_SECRET,
  sendMessage,
  startMtas,
  startSendOnBridge,
  useSendOnWorld,
} from './send-on.ts';

const world = useSendOnWorld();

const SENDER = 'alice@reject.test';

function signedMessage(from = SENDER): string {
  const domain = from.split('@')[1]!;
  return signDkim(messageFrom(from), { ...world().fixtures.keys.rsa, domain });
}

function arrived(mta: ReceivingMta, count = 1): Promise<void> {
  return waitUntil(() => mta.messages.length >= count, `${count} message(s) at ${mta.address}`);
}

/** SRS0=HHHH=TT=domain=local@srs-domain, its hash recomputed from the scheme's definition. */
function decodeSrs0(address: string): string {
  const match = /^SRS0=([^=]{4})=([A-Z2-7]{2})=([^=]+)=(.+)@(.+)$/.exec(address);
  if (match === null) throw new Error(`${address} is not an SRS0 address`);
  const [, hash, stamp, domain, local] = match;
  const hmac = createHmac('sha1', SRS_SECRET);
  for (const part of [stamp!, domain!, local!]) hmac.update(part.toLowerCase());
  expect(hash).toBe(hmac.digest('base64').slice(0, 4));
  const day = Math.floor(Date.now() / 86_400_000) % 1024;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  expect(alphabet.indexOf(stamp![0]!) * 32 + alphabet.indexOf(stamp![1]!)).toBe(day);
  return `${local}@${domain}`;
}

describe('forward', () => {
  it('forwards a DMARC-protected message with an SRS0 sender, an ARC set (cv=none) and its DKIM intact', async () => {
    const { dest } = await startMtas(world());
    const { fn, bridge } = await startSendOnBridge(world());
    fn.answer('data', json({ action: 'accept', forward: ['carol@dest.test'] }));
    const reply = await sendMessage(bridge.port, {
      from: SENDER,
      to: [`bob@${OWN_DOMAIN}`],
      text: signedMessage(),
    });
    expect(reply.code).toBe(250);
    await arrived(dest);
    const [forwarded] = dest.messages;
    expect(forwarded!.recipients.map((r) => r.address)).toEqual(['carol@dest.test']);
    expect(forwarded!.mailFrom).toMatch(/@mx\.test$/);
    expect(decodeSrs0(forwarded!.mailFrom)).toBe(SENDER);

    const arc = await verifyArc(forwarded!.body, world().resolver);
    expect(arc).toMatchObject({
      result: 'pass',
      instances: 1,
      sets: [{ instance: 1, cv: 'none', domain: OWN_DOMAIN, selector: 'mx2026' }],
    });
    // The ARC-Authentication-Results say what the gateway found, as its own header does.
    const authResults = arc.result === 'pass' ? arc.sets[0]!.authResults : '';
    expect(authResults).toMatch(/^mx\.test;/);
    expect(authResults).toMatch(/dkim=pass[^;]*header\.d=reject\.test/);
    expect(authResults).toMatch(/spf=pass/);
    expect(authResults).toMatch(/dmarc=pass/);
    expect(await verifyDkim(forwarded!.body, world().resolver)).toMatchObject({
      result: 'pass',
      domain: 'reject.test',
    });
    const text = forwarded!.body.toString('utf8');
    expect(text).toMatch(/^ARC-Seal: /);
    expect(text).toMatch(/^Authentication-Results: mx\.test;/m);
    expect(text).toMatch(/^Received: from /m);
    expect(text).not.toMatch(/^Return-Path:/m);
  });

  it('seals as i=2 with cv=pass a message that came with a valid ARC chain', async () => {
    const { dest } = await startMtas(world());
    const { fn, bridge } = await startSendOnBridge(world());
    fn.answer('data', json({ action: 'accept', forward: ['carol@dest.test'] }));
    const sealed = await sealArc(signedMessage(), { key: world().fixtures.keys.arc, cv: 'none' });
    const reply = await sendMessage(bridge.port, {
      from: SENDER,
      to: [`bob@${OWN_DOMAIN}`],
      text: sealed,
    });
    expect(reply.code).toBe(250);
    await arrived(dest);
    expect(await verifyArc(dest.messages[0]!.body, world().resolver)).toMatchObject({
      result: 'pass',
      instances: 2,
      sets: [
        { instance: 1, cv: 'none', domain: 'forwarder.test' },
        { instance: 2, cv: 'pass', domain: OWN_DOMAIN },
      ],
    });
  });

  it('returns a bounce to the SRS address to the original sender, from the null sender, without asking the function', async () => {
    const { dest, senderMx } = await startMtas(world());
    const { fn, bridge } = await startSendOnBridge(world());
    fn.answer('data', json({ action: 'accept', forward: ['carol@dest.test'] }));
    await sendMessage(bridge.port, {
      from: SENDER,
      to: [`bob@${OWN_DOMAIN}`],
      text: signedMessage(),
    });
    await arrived(dest);
    const srsAddress = dest.messages[0]!.mailFrom;
    const calls = fn.requests.length;

    const bounce =
      'From: MAILER-DAEMON@dest.test\r\nTo: ' +
      `${srsAddress}\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\nNo such user.\r\n`;
    const reply = await sendMessage(bridge.port, {
      from: '',
      to: [srsAddress],
      text: bounce,
      localAddress: '127.0.0.1',
    });
    expect(reply.code).toBe(250);
    await arrived(senderMx);
    const returned = senderMx.messages[0]!;
    expect(returned.mailFrom).toBe('');
    expect(returned.recipients.map((r) => r.address)).toEqual([SENDER]);
    expect(returned.body.toString('utf8')).toContain('No such user.');
    expect(fn.requests.slice(calls)).toEqual([]);
  });

  it('refuses RCPT to a forged or expired SRS address with 550 5.1.1', async () => {
    const { bridge } = await startSendOnBridge(world());
    const settings = { secrets: [SRS_SECRET], domain: OWN_DOMAIN };
    const expired = srsForward(SENDER, settings, Date.now() - 30 * 86_400_000);
    const good = srsForward(SENDER, settings);
    const forged = good.replace(/^SRS0=..../, 'SRS0=AAAA');
    const client = await afterEhlo(bridge.port, { localAddress: '127.0.0.1' });
    expect((await client.command('MAIL FROM:<>')).code).toBe(250);
    for (const address of [forged, expired]) {
      expect((await client.command(`RCPT TO:<${address}>`)).raw).toMatch(/^550 5\.1\.1 /);
    }
    expect((await client.command(`RCPT TO:<${good}>`)).raw).toMatch(/^250 2\.1\.5 /);
    await client.command('QUIT');
  });

  it('without the rcpt step, returns a bounce at DATA and refuses one to a forged address there', async () => {
    const { senderMx } = await startMtas(world());
    const { fn, bridge } = await startSendOnBridge(world(), { MXHOOK_STEPS: 'data' });
    const good = srsForward(SENDER, { secrets: [SRS_SECRET], domain: OWN_DOMAIN });
    const forged = good.replace(/^SRS0=..../, 'SRS0=AAAA');
    const bounce = 'Subject: Undelivered\r\n\r\nNo such user.\r\n';
    const refused = await sendMessage(bridge.port, { from: '', to: [forged], text: bounce });
    expect(refused.raw).toMatch(/^550 5\.1\.1 /);
    const returned = await sendMessage(bridge.port, { from: '', to: [good], text: bounce });
    expect(returned.raw).toMatch(/^250 2\.0\.0 /);
    await arrived(senderMx);
    expect(senderMx.messages[0]!.recipients.map((r) => r.address)).toEqual([SENDER]);
    expect(fn.requests).toEqual([]);
  });

  it("forwards another forwarder's SRS0 sender as SRS1", async () => {
    const { dest } = await startMtas(world());
    const { fn, bridge } = await startSendOnBridge(world());
    fn.answer('data', json({ action: 'accept', forward: ['carol@dest.test'] }));
    const upstream = 'SRS0=x1Yz=2W=origin.test=joe@relay.test';
    expect(
      (
        await sendMessage(bridge.port, {
          from: upstream,
          to: [`bob@${OWN_DOMAIN}`],
          text: messageFrom('joe@origin.test'),
        })
      ).code,
    ).toBe(250);
    await arrived(dest);
    expect(dest.messages[0]!.mailFrom).toMatch(
      /^SRS1=[A-Za-z0-9+/]{4}=relay\.test==x1Yz=2W=origin\.test=joe@mx\.test$/,
    );
  });

  it('forwards and delivers in one answer, and refuses malformed or too many addresses (451)', async () => {
    const { dest } = await startMtas(world());
    const { fn, bridge } = await startSendOnBridge(world(), { MXHOOK_MAX_RECIPIENTS: '2' });
    fn.answerOnce('data', json({ action: 'accept', forward: ['not an address'] }));
    fn.answerOnce(
      'data',
      json({ action: 'accept', forward: ['a@dest.test', 'b@dest.test', 'c@dest.test'] }),
    );
    for (let i = 0; i < 2; i++) {
      const reply = await sendMessage(bridge.port, {
        from: SENDER,
        to: [`bob@${OWN_DOMAIN}`],
        text: signedMessage(),
      });
      expect(reply.code).toBe(451);
    }
    fn.answer(
      'data',
      json({ action: 'accept', deliver: true, forward: ['Carol@dest.test', 'carol@DEST.test'] }),
    );
    const reply = await sendMessage(bridge.port, {
      from: SENDER,
      to: ['dave@dest.test'],
      text: signedMessage(),
    });
    expect(reply.code).toBe(250);
    await arrived(dest, 2);
    const byRecipient = new Map(dest.messages.map((m) => [m.recipients[0]!.address, m.mailFrom]));
    expect(byRecipient.get('dave@dest.test')).toBe(SENDER);
    expect(byRecipient.get('Carol@dest.test')).toMatch(/^SRS0=/);
    expect(dest.messages).toHaveLength(2);
  });

  it('answers 451, never 250, when the queue cannot take the forwarded message', async () => {
    const { fn, bridge, queue } = await startSendOnBridge(world());
    fn.answer('data', json({ action: 'accept', forward: ['carol@dest.test'] }));
    const spool = join(queue, 'spool');
    await rm(spool, { recursive: true });
    await writeFile(spool, 'not a directory\n');
    const reply = await sendMessage(bridge.port, {
      from: SENDER,
      to: [`bob@${OWN_DOMAIN}`],
      text: signedMessage(),
    });
    expect(reply.raw).toMatch(/^451 /);
    await rm(spool);
    await mkdir(spool);
  });

  it('answers 451 when the function forwards but MXHOOK_SRS_SECRET is not set', async () => {
    const { fn, bridge } = await startSendOnBridge(world(), { MXHOOK_SRS_SECRET: '' });
    fn.answer('data', json({ action: 'accept', forward: ['carol@dest.test'] }));
    const reply = await sendMessage(bridge.port, {
      from: SENDER,
      to: [`bob@${OWN_DOMAIN}`],
      text: signedMessage(),
    });
    expect(reply.code).toBe(451);
  });
});

describe('forward on a refused message', () => {
  it('queues nothing when the function rejects, whatever its answer lists', async () => {
    const { dest } = await startMtas(world());
    const { fn, bridge } = await startSendOnBridge(world());
    fn.answer('data', json({ action: 'reject', forward: ['carol@dest.test'] }));
    const client = await afterEhlo(bridge.port, { localAddress: '127.0.0.7' });
    expect((await client.command(`MAIL FROM:<${SENDER}>`)).code).toBe(250);
    expect((await client.command(`RCPT TO:<bob@${OWN_DOMAIN}>`)).code).toBe(250);
    expect((await sendData(client, signedMessage())).code).toBe(554);
    await client.command('QUIT');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(dest.messages).toEqual([]);
  });

  it('refuses a looping message (over 50 Received fields) with 554 5.4.6 before the function', async () => {
    const { dest } = await startMtas(world());
    const { fn, bridge } = await startSendOnBridge(world());
    fn.answer('data', json({ action: 'accept', forward: ['carol@dest.test'] }));
    // 50 incoming hops, plus ours: 51.
    const hops = Array.from(
      { length: 50 },
      (_, i) =>
        `Received: from relay${i}.test by relay${i + 1}.test; Sun, 6 Dec 2026 12:00:00 +0000\r\n`,
    ).join('');
    const reply = await sendMessage(bridge.port, {
      from: SENDER,
      to: [`bob@${OWN_DOMAIN}`],
      text: `${hops}${messageFrom(SENDER)}`,
    });
    expect(reply.code).toBe(554);
    expect(reply.raw).toContain('5.4.6');
    expect(fn.requests.filter((request) => request.step === 'data')).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(dest.messages).toEqual([]);
  });
});
