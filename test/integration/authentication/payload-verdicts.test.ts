// The verdicts as a function receives them: the signed JSON of `mxhook serve`, valid against the
// published schema, with `message.raw` carrying the gateway's Authentication-Results header.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAuthFixtures } from '../../helpers/auth-zone.ts';
import { signDkim } from '../../helpers/dkim-signer.ts';
import { startDnsServer, type TestDnsServer } from '../../helpers/dns-server.ts';
import { startFunctionServer } from '../../helpers/function-server.ts';
import { inTransaction, sendData } from '../../helpers/smtp-client.ts';
import { BRIDGE_HOSTNAME, startBridge } from '../../helpers/start-bridge.ts';
import { expectValidRequests } from '../bridge/schema.ts';
import { cleanUp } from '../bridge/steps.ts';

let dns: TestDnsServer;
const fixtures = createAuthFixtures();

beforeAll(async () => {
  dns = await startDnsServer(fixtures.zone);
});
afterAll(() => dns.close());
afterEach(cleanUp);

describe('mxhook serve with every check', () => {
  it('sends each step its verdicts, and the data step the header on top of the raw message', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({
      functionUrl: fn.url,
      env: {
        MXHOOK_STEPS: 'connect,helo,mail,rcpt,data',
        MXHOOK_AUTH_CHECKS: 'rdns,spf,sender,dkim,dmarc,arc',
        MXHOOK_DNS_SERVERS: dns.server,
      },
    });
    const text =
      'From: alice@reject.test\r\nTo: bob@mx.test\r\nSubject: signed\r\n' +
      `Authentication-Results: ${BRIDGE_HOSTNAME}; dkim=pass header.d=bank.test\r\n` +
      'Date: Sun, 06 Dec 2026 12:00:00 +0000\r\nMessage-ID: <p1@reject.test>\r\n\r\nHello.\r\n';
    const signed = signDkim(text, { ...fixtures.keys.ed25519, domain: 'reject.test' });
    const client = await inTransaction(bridge.port, {
      localAddress: fixtures.clientAddress,
      from: 'alice@reject.test',
      to: ['bob@mx.test'],
    });
    expect((await sendData(client, signed)).code).toBe(250);

    const { requests } = fn;
    expectValidRequests(requests);
    const byStep = new Map(requests.map((request) => [request.step, request.body]));
    expect(byStep.get('connect')!.authentication).toEqual({
      rdns: { result: 'pass', hostname: 'mta.ptr.test', names: ['mta.ptr.test'] },
    });
    expect(byStep.get('helo')!.session.client.hostname).toBe('mta.ptr.test');
    expect(byStep.get('rcpt')!.authentication?.spf?.result).toBe('pass');
    const data = byStep.get('data')!;
    expect(data.authentication?.dmarc?.result).toBe('pass');
    expect(data.authentication?.dkim?.[0]).toMatchObject({
      result: 'pass',
      algorithm: 'ed25519-sha256',
      aligned: true,
    });
    if (data.step !== 'data') throw new Error('not the data call');
    const raw = Buffer.from(data.message.raw ?? '', 'base64').toString('utf8');
    const lines = raw.split('\r\n');
    const resultsAt = lines.findIndex((line) => line.startsWith('Authentication-Results:'));
    expect(
      lines.slice(0, resultsAt).every((line) => /^(Return-Path:|Received:|\t)/.test(line)),
    ).toBe(true);
    expect(raw.match(/^Authentication-Results:/gm)).toHaveLength(1);
    expect(raw).not.toContain('bank.test');
    expect(raw).toContain(`Authentication-Results: ${data.authentication?.header}\r\n`);
    expect(data.message.size).toBe(Buffer.byteLength(raw));
  });
});
