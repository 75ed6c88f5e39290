// The gateway's own verdicts in each call, end to end: a real DNS server on loopback serving the
// test zones (auth-zone.ts), clients connecting from 127.0.0.7 / 127.0.0.8, messages signed by an
// independent DKIM signer (dkim-signer.ts), and the recorded calls of an in-process handler.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Authentication } from '../../../functions/sdk/wire.ts';
import { sealArc } from '../../helpers/arc-sealer.ts';
import { type AuthFixtures, createAuthFixtures } from '../../helpers/auth-zone.ts';
import { signDkim } from '../../helpers/dkim-signer.ts';
import { startDnsServer, type TestDnsServer } from '../../helpers/dns-server.ts';
import {
  afterEhlo,
  destroyAllClients,
  inTransaction,
  sendData,
} from '../../helpers/smtp-client.ts';
import { type StartOptions, startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';

let fixtures: AuthFixtures;
let dns: TestDnsServer;

beforeAll(async () => {
  fixtures = createAuthFixtures();
  dns = await startDnsServer(fixtures.zone);
});
afterAll(() => dns.close());
afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
});

function withChecks(options: StartOptions = {}) {
  return startGateway({
    authChecks: ['rdns', 'spf', 'sender', 'dkim', 'dmarc', 'arc'],
    dnsServers: [dns.server],
    ...options,
  });
}

function message(from: string, extraHeaders = ''): string {
  return (
    `From: Alice <${from}>\r\nTo: bob@mx.test\r\nSubject: verdicts\r\n` +
    `Date: Sun, 06 Dec 2026 12:00:00 +0000\r\nMessage-ID: <v1@${from.split('@')[1]}>\r\n` +
    `${extraHeaders}\r\nHello.\r\n`
  );
}

function signedBy(domain: string, text: string, key: 'rsa' | 'ed25519' = 'rsa'): string {
  return signDkim(text, { ...fixtures.keys[key], domain });
}

async function deliver(
  port: number,
  from: string,
  text: string,
  localAddress: string = fixtures.clientAddress,
): Promise<void> {
  const client = await inTransaction(port, { localAddress, from, to: ['bob@mx.test'] });
  expect((await sendData(client, text)).code).toBe(250);
  await client.command('QUIT');
}

describe('verdicts in every call', () => {
  it('carries reverse DNS from connect on, SPF and the sender domain from mail, all of it at data', async () => {
    const gw = await withChecks();
    await deliver(
      gw.port,
      'alice@reject.test',
      signedBy('reject.test', message('alice@reject.test')),
    );
    const connect = gw.callsOf('connect')[0]!;
    expect(connect.authentication).toEqual({
      rdns: { result: 'pass', hostname: 'mta.ptr.test', names: ['mta.ptr.test'] },
    });
    expect(connect.session.client.hostname).toBe('mta.ptr.test');
    const mail = gw.callsOf('mail')[0]!;
    expect(mail.authentication?.spf).toEqual({
      result: 'pass',
      domain: 'reject.test',
      identity: 'mailfrom',
    });
    // reject.test publishes no MX and no address: a bounce to it could not be delivered.
    expect(mail.authentication?.sender).toEqual({
      domain: 'reject.test',
      acceptsMail: false,
      reason: 'no-records',
    });
    expect(gw.callsOf('rcpt')[0]!.authentication?.spf?.result).toBe('pass');
    const data = gw.callsOf('data')[0]!.authentication as Authentication;
    expect(data.dkim).toEqual([
      {
        result: 'pass',
        domain: 'reject.test',
        selector: fixtures.keys.rsa.selector,
        algorithm: 'rsa-sha256',
        aligned: true,
      },
    ]);
    expect(data.dmarc).toEqual({
      result: 'pass',
      domain: 'reject.test',
      policy: 'reject',
      percent: 100,
      aligned: { spf: true, dkim: true },
    });
    expect(data.arc).toEqual({ result: 'none', instances: 0 });
    expect(data.header).toMatch(
      /^mx\.test;\r\n\tiprev=pass policy\.iprev=127\.0\.0\.7 \(mta\.ptr\.test\);/,
    );
    for (const method of ['spf=pass', 'dkim=pass', 'arc=none', 'dmarc=pass']) {
      expect(data.header).toContain(method);
    }
  });

  it('puts the Authentication-Results header on top, above the Received header naming the confirmed client', async () => {
    const gw = await withChecks();
    const text = message('alice@pass.test');
    await deliver(gw.port, 'alice@pass.test', signedBy('pass.test', text));
    const raw = gw.messages[0]!.raw.toString('utf8');
    const data = gw.callsOf('data')[0]!;
    const header = `Authentication-Results: ${data.authentication!.header!}\r\n`;
    expect(raw.startsWith(header)).toBe(true);
    expect(raw.slice(header.length)).toMatch(
      /^Received: from client\.test \(mta\.ptr\.test \[127\.0\.0\.7\]\)/,
    );
    expect(raw).toContain('\r\nDKIM-Signature:');
    expect(data.message.sizeBytes).toBe(gw.messages[0]!.raw.length);
  });

  it('removes incoming Authentication-Results that claim our authserv-id, and keeps the others', async () => {
    const gw = await withChecks();
    const forged =
      'Authentication-Results: MX.test; dmarc=pass header.from=reject.test\r\n' +
      'Authentication-Results: (a comment) mx.test;\r\n\tdkim=pass header.d=reject.test\r\n' +
      'Authentication-Results: other.example; spf=pass\r\n';
    await deliver(gw.port, 'alice@reject.test', forged + message('alice@reject.test'));
    const text = gw.messages[0]!.body.toString('utf8');
    const ours = text.match(/^Authentication-Results: mx\.test;/gim) ?? [];
    expect(ours).toHaveLength(1);
    expect(text).not.toContain('MX.test; dmarc=pass');
    expect(text).not.toContain('(a comment) mx.test');
    expect(text).toContain('Authentication-Results: other.example; spf=pass');
    // The gateway's own verdict on the unsigned message, not the forged one.
    const data = gw.callsOf('data')[0]!.authentication!;
    expect(data.dkim).toEqual([]);
    expect(data.dmarc).toMatchObject({ result: 'pass', aligned: { spf: true, dkim: false } });
  });
});

describe('failures', () => {
  it('a sender that is not who it claims: PTR not confirmed, SPF fail, DMARC fail under p=reject', async () => {
    const gw = await withChecks();
    await deliver(
      gw.port,
      'ceo@reject.test',
      message('ceo@reject.test'),
      fixtures.unconfirmedAddress,
    );
    const data = gw.callsOf('data')[0]!;
    expect(data.session.client.hostname).toBeUndefined();
    expect(data.authentication?.rdns).toEqual({
      result: 'fail',
      hostname: null,
      names: ['forged.ptr.test'],
    });
    expect(data.authentication?.spf?.result).toBe('fail');
    expect(data.authentication?.dmarc).toEqual({
      result: 'fail',
      domain: 'reject.test',
      policy: 'reject',
      percent: 100,
      aligned: { spf: false, dkim: false },
    });
    // A verdict never refuses mail by itself: the handler accepted, so the client got 250.
    expect(gw.messages).toHaveLength(1);
  });

  it('a body changed after signing fails DKIM (and DMARC falls back to SPF)', async () => {
    const gw = await withChecks();
    const signed = signedBy('reject.test', message('alice@reject.test'));
    await deliver(gw.port, 'alice@reject.test', signed.replace('Hello.', 'Pay me.'));
    const data = gw.callsOf('data')[0]!.authentication!;
    expect(data.dkim).toEqual([
      expect.objectContaining({ result: 'fail', domain: 'reject.test', aligned: false }),
    ]);
    expect(data.dkim![0]!.reason).toMatch(/body hash/);
    expect(data.dmarc).toMatchObject({ result: 'pass', aligned: { spf: true, dkim: false } });
  });

  it('a second From above the signed one makes DMARC a permerror', async () => {
    const gw = await withChecks();
    const signed = signedBy('reject.test', message('alice@reject.test'));
    await deliver(gw.port, 'alice@reject.test', `From: ceo@evil.test\r\n${signed}`);
    const data = gw.callsOf('data')[0]!.authentication!;
    expect(data.dmarc).toEqual({
      result: 'permerror',
      domain: expect.any(String),
      policy: null,
      percent: null,
      aligned: { spf: false, dkim: false },
      reason: 'multiple-from-fields',
    });
  });

  it('an Ed25519 signature passes; an expired one does not', async () => {
    const gw = await withChecks();
    await deliver(gw.port, 'a@pass.test', signedBy('pass.test', message('a@pass.test'), 'ed25519'));
    const expired = signDkim(message('a@pass.test'), {
      ...fixtures.keys.rsa,
      domain: 'pass.test',
      signedAt: new Date('2020-01-01T00:00:00Z'),
      expiresAt: new Date('2020-01-02T00:00:00Z'),
    });
    await deliver(gw.port, 'a@pass.test', expired);
    const [first, second] = gw.callsOf('data');
    expect(first!.authentication!.dkim).toEqual([
      expect.objectContaining({ result: 'pass', algorithm: 'ed25519-sha256' }),
    ]);
    expect(second!.authentication!.dkim![0]!.result).not.toBe('pass');
  });

  it('null MX and the null sender', async () => {
    const gw = await withChecks();
    await deliver(gw.port, 'x@nullmx.test', message('x@nullmx.test'));
    const client = await afterEhlo(gw.port, {
      localAddress: fixtures.clientAddress,
      name: 'pass.test',
    });
    expect((await client.command('MAIL FROM:<>')).code).toBe(250);
    expect((await client.command('RCPT TO:<bob@mx.test>')).code).toBe(250);
    const [nullMx, nullSender] = gw.callsOf('rcpt');
    expect(nullMx!.authentication?.sender).toEqual({
      domain: 'nullmx.test',
      acceptsMail: false,
      reason: 'null-mx',
    });
    expect(nullSender!.authentication?.sender).toEqual({
      domain: null,
      acceptsMail: null,
      reason: 'null-sender',
    });
    expect(nullSender!.authentication?.spf).toEqual({
      result: 'pass',
      domain: 'pass.test',
      identity: 'helo',
    });
  });

  it('a DNS server that never answers costs a temperror after the DNS timeout, not a hung session', async () => {
    const gw = await withChecks({ dnsTimeoutMs: 400 });
    dns.delay('_dmarc.reject.test', 'never');
    try {
      const started = Date.now();
      await deliver(
        gw.port,
        'alice@reject.test',
        signedBy('reject.test', message('alice@reject.test')),
      );
      expect(Date.now() - started).toBeLessThan(5_000);
      const data = gw.callsOf('data')[0]!.authentication!;
      expect(data.dkim![0]!.result).toBe('pass');
      expect(data.dmarc!.result).toBe('temperror');
    } finally {
      dns.delay('_dmarc.reject.test', null);
    }
  });
});

describe('the message as it arrives', () => {
  it('verifies a 3 MiB signed message full of dot-stuffed lines, hashed as its bytes arrived', async () => {
    const gw = await withChecks();
    const lines = Array.from({ length: 40_000 }, (_, i) => `.line ${i} ${'x'.repeat(60)}`);
    const text = message('alice@reject.test').replace('Hello.\r\n', `${lines.join('\r\n')}\r\n`);
    await deliver(gw.port, 'alice@reject.test', signedBy('reject.test', text));
    expect(gw.callsOf('data')[0]!.authentication!.dkim![0]!.result).toBe('pass');
  });

  it('verifies a message sent in BDAT chunks that split its lines and its CRLFs', async () => {
    const gw = await withChecks();
    const signed = Buffer.from(signedBy('reject.test', message('alice@reject.test')));
    const client = await inTransaction(gw.port, {
      localAddress: fixtures.clientAddress,
      from: 'alice@reject.test',
      to: ['bob@mx.test'],
    });
    const cuts = [0, 17, signed.indexOf('\r\n\r\n') + 1, signed.length - 3, signed.length];
    for (let i = 1; i < cuts.length; i++) {
      const chunk = signed.subarray(cuts[i - 1], cuts[i]);
      const last = i === cuts.length - 1 ? ' LAST' : '';
      await client.send(Buffer.concat([Buffer.from(`BDAT ${chunk.length}${last}\r\n`), chunk]));
      expect((await client.readReply()).code).toBe(250);
    }
    expect(gw.callsOf('data')[0]!.authentication!.dkim![0]!.result).toBe('pass');
  });

  it('an l= signature still passes with text appended past it; DMARC says so by alignment only', async () => {
    const gw = await withChecks();
    const text = message('alice@reject.test');
    const signed = signDkim(text, {
      ...fixtures.keys.rsa,
      domain: 'reject.test',
      bodyLength: Buffer.byteLength(text.slice(text.indexOf('\r\n\r\n') + 4)),
    });
    await deliver(gw.port, 'alice@reject.test', `${signed}Click here: http://evil.test/\r\n`);
    const data = gw.callsOf('data')[0]!.authentication!;
    // The appended text is unsigned; the header row says how much ("undersized signature").
    expect(data.dkim![0]!.result).toBe('pass');
    expect(data.header).toMatch(/undersized signature: \d+ bytes unsigned/);
  });

  it('reordered unsigned headers keep a signature valid; a changed signed one breaks it', async () => {
    const gw = await withChecks();
    const signed = signedBy('reject.test', message('alice@reject.test', 'X-Note: one\r\n'));
    const reordered = signed
      .replace('X-Note: one\r\n', '')
      .replace('From:', 'X-Note: one\r\nFrom:');
    await deliver(gw.port, 'alice@reject.test', reordered);
    await deliver(
      gw.port,
      'alice@reject.test',
      signed.replace('Subject: verdicts', 'Subject: urgent'),
    );
    const [first, second] = gw.callsOf('data');
    expect(first!.authentication!.dkim![0]!.result).toBe('pass');
    expect(second!.authentication!.dkim![0]!.result).toBe('fail');
  });
});

describe('ARC and switches', () => {
  it('validates an ARC chain', async () => {
    const gw = await withChecks();
    const sealed = await sealArc(signedBy('pass.test', message('a@pass.test')), {
      key: fixtures.keys.arc,
      authResults: 'forwarder.test; dkim=pass header.d=pass.test',
    });
    await deliver(gw.port, 'a@pass.test', sealed);
    expect(gw.callsOf('data')[0]!.authentication!.arc).toEqual({ result: 'pass', instances: 1 });
  });

  it('runs only the checks asked for, and none at all with an empty list', async () => {
    const some = await withChecks({ authChecks: ['spf'] });
    await deliver(some.port, 'a@pass.test', signedBy('pass.test', message('a@pass.test')));
    expect(some.callsOf('connect')[0]!.authentication).toEqual({});
    const data = some.callsOf('data')[0]!.authentication!;
    expect(Object.keys(data).sort()).toEqual(['header', 'spf']);
    const none = await withChecks({ authChecks: [] });
    await deliver(none.port, 'a@pass.test', message('a@pass.test'));
    expect(none.callsOf('data')[0]!.authentication).toBeUndefined();
    expect(none.messages[0]!.body.toString('utf8')).not.toContain('Authentication-Results');
  });
});
