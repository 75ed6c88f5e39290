// STARTTLS (RFC 3207) and implicit TLS (RFC 8314) with a generated certificate, over real sockets.
import { X509Certificate } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newCertificate, type TestCertificate, testCertificate } from '../../helpers/certs.ts';
import {
  afterEhlo,
  destroyAllClients,
  greeted,
  type SmtpClient,
  sendData,
  transaction,
} from '../../helpers/smtp-client.ts';
import { startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';
import { waitUntil } from '../../helpers/wait.ts';

let certificate: TestCertificate;
beforeAll(async () => {
  certificate = await testCertificate();
});

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
});

const verified = () => ({ servername: 'localhost', ca: certificate.cert });

/** STARTTLS on a greeted session, verifying the certificate. */
async function upgrade(client: SmtpClient): Promise<void> {
  expect((await client.command('STARTTLS')).raw).toBe('220 2.0.0 Ready to start TLS\r\n');
  const secure = await client.startTls(verified());
  expect(secure.authorized).toBe(true);
}

describe('STARTTLS', () => {
  it('upgrades the session; the hooks and the Received header see TLS 1.3', async () => {
    const gw = await startGateway({ tls: true });
    const client = await afterEhlo(gw.port);
    await upgrade(client);
    // RFC 3207 §4.2: the server forgets the EHLO; the new EHLO no longer offers STARTTLS.
    const ehlo = await client.command('EHLO client.test');
    expect(ehlo.code).toBe(250);
    expect(ehlo.lines).not.toContain('STARTTLS');
    await transaction(client, 'a@client.test', ['b@mx.test']);
    expect((await sendData(client, 'Subject: tls\r\n\r\nsecret\r\n')).code).toBe(250);

    const { call, received } = gw.messages[0]!;
    expect(call.session.tls).toEqual({
      version: 'TLSv1.3',
      cipher: expect.stringMatching(/^TLS_/),
      sni: 'localhost',
    });
    expect(gw.callsOf('mail')[0]!.session.tls?.version).toBe('TLSv1.3');
    expect(received).toContain(`\t(using TLSv1.3 with cipher ${call.session.tls!.cipher})\r\n`);
    expect(received).toMatch(/\tby mx\.test \(mxhook\) with ESMTPS id /);
  });

  it('negotiates TLS 1.2 with a client that offers no more', async () => {
    const gw = await startGateway({ tls: true });
    const client = await afterEhlo(gw.port);
    await client.command('STARTTLS');
    const secure = await client.startTls({ ...verified(), maxVersion: 'TLSv1.2' });
    expect(secure.getProtocol()).toBe('TLSv1.2');
    await client.command('EHLO client.test');
    await transaction(client, 'a@client.test', ['b@mx.test']);
    expect((await sendData(client, 'x\r\n')).code).toBe(250);
    expect(gw.messages[0]!.call.session.tls?.version).toBe('TLSv1.2');
  });

  it('discards commands pipelined after STARTTLS in clear (RFC 3207 §4.2, CVE-2011-0411)', async () => {
    const gw = await startGateway({ tls: true });
    const client = await afterEhlo(gw.port);
    await client.send('STARTTLS\r\nMAIL FROM:<evil@x>\r\n');
    expect((await client.readReply()).raw).toBe('220 2.0.0 Ready to start TLS\r\n');
    // startTls fails if any clear-text reply (such as a 250 to the injected MAIL) arrived.
    const secure = await client.startTls(verified());
    expect(secure.authorized).toBe(true);
    // Had the injected MAIL run, the session would be in a transaction; it is not even greeted.
    expect((await client.command('MAIL FROM:<good@client.test>')).raw).toBe(
      '503 5.5.1 Send HELO/EHLO first\r\n',
    );
    expect((await client.command('EHLO client.test')).code).toBe(250);
    expect((await client.command('MAIL FROM:<good@client.test>')).code).toBe(250);
    expect(gw.callsOf('mail').map((c) => c.mailFrom.address)).toEqual(['good@client.test']);
  });

  it('discards a whole transaction injected after STARTTLS', async () => {
    const gw = await startGateway({ tls: true });
    const client = await afterEhlo(gw.port);
    await client.send(
      'STARTTLS\r\nEHLO evil\r\nMAIL FROM:<evil@x>\r\nRCPT TO:<victim@y>\r\nDATA\r\nSubject: injected\r\n\r\nx\r\n.\r\n',
    );
    expect((await client.readReply()).raw).toBe('220 2.0.0 Ready to start TLS\r\n');
    await client.startTls(verified());
    expect((await client.command('RCPT TO:<victim@y>')).raw).toBe(
      '503 5.5.1 Send HELO/EHLO first\r\n',
    );
    expect(gw.callsOf('helo').map((c) => c.helo.hostname)).toEqual(['client.test']);
    expect(gw.callsOf('mail')).toHaveLength(0);
    expect(gw.callsOf('rcpt')).toHaveLength(0);
    expect(gw.messages).toHaveLength(0);
  });

  it('refuses STARTTLS when TLS is already active with 503', async () => {
    const gw = await startGateway({ tls: true });
    const client = await afterEhlo(gw.port);
    await upgrade(client);
    await client.command('EHLO client.test');
    expect((await client.command('STARTTLS')).raw).toBe('503 5.5.1 TLS already active\r\n');
    expect((await client.command('NOOP')).code).toBe(250);
  });

  it('refuses STARTTLS inside a transaction and with an argument', async () => {
    const gw = await startGateway({ tls: true });
    const client = await afterEhlo(gw.port);
    expect((await client.command('STARTTLS now')).raw).toBe(
      '501 5.5.4 Syntax error: STARTTLS takes no arguments\r\n',
    );
    await client.command('MAIL FROM:<a@client.test>');
    expect((await client.command('STARTTLS')).raw).toBe(
      '503 5.5.1 Transaction in progress, send RSET first\r\n',
    );
  });

  it('requires STARTTLS before MAIL when requireTls is set (RFC 3207 §4)', async () => {
    const gw = await startGateway({ tls: true, requireTls: true });
    const client = await afterEhlo(gw.port);
    expect((await client.command('MAIL FROM:<a@client.test>')).raw).toBe(
      '530 5.7.0 Must issue a STARTTLS command first\r\n',
    );
    await upgrade(client);
    await client.command('EHLO client.test');
    expect((await client.command('MAIL FROM:<a@client.test>')).code).toBe(250);
  });

  it('closes a session whose handshake fails and keeps serving others', async () => {
    const gw = await startGateway({ tls: true });
    const client = await afterEhlo(gw.port);
    await client.command('STARTTLS');
    await client.send('this is not a TLS ClientHello\r\n');
    await client.readUntilClosed();
    await waitUntil(() => gw.gateway.sessionCount === 0, 'the failed session to close');
    const other = await afterEhlo(gw.port);
    await upgrade(other);
  });

  it('uses a certificate replaced with setTls for new handshakes only', async () => {
    const gw = await startGateway({ tls: true });
    const first = await afterEhlo(gw.port);
    await upgrade(first);
    const replacement = await newCertificate();
    gw.gateway.setTls(replacement);

    const second = await afterEhlo(gw.port);
    await second.command('STARTTLS');
    const secure = await second.startTls({ servername: 'localhost', ca: replacement.cert });
    expect(secure.authorized).toBe(true);
    const served = new X509Certificate(replacement.cert).fingerprint256;
    expect(secure.getPeerX509Certificate()?.fingerprint256).toBe(served);
    // The session that shook hands before keeps working.
    expect((await first.command('EHLO client.test')).code).toBe(250);
  });
});

describe('implicit TLS (SMTPS)', () => {
  it('speaks SMTP inside TLS from the first byte', async () => {
    const gw = await startGateway({ implicitTls: true });
    const client = await greeted(gw.tlsPort!, { tls: verified() });
    expect(gw.callsOf('connect')[0]!.session.tls).toMatchObject({
      version: 'TLSv1.3',
      sni: 'localhost',
    });
    const ehlo = await client.command('EHLO client.test');
    expect(ehlo.lines).not.toContain('STARTTLS');
    expect((await client.command('STARTTLS')).raw).toBe('503 5.5.1 TLS already active\r\n');
    await transaction(client, 'a@client.test', ['b@mx.test']);
    expect((await sendData(client, 'Subject: smtps\r\n\r\nhi\r\n')).code).toBe(250);
    expect(gw.messages[0]!.received).toMatch(/with ESMTPS id /);
  });

  it('also keeps the plain listener with STARTTLS', async () => {
    const gw = await startGateway({ implicitTls: true });
    const client = await afterEhlo(gw.port);
    await upgrade(client);
  });
});
