// Certificate rotation over real sockets through `mxhook serve`: SIGHUP's reload and file changes, with no session dropped.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { certificateFor, type TestCertificate } from '../../helpers/certs.ts';
import { closeAllFunctionServers, startFunctionServer } from '../../helpers/function-server.ts';
import {
  afterEhlo,
  SmtpClient as Client,
  destroyAllClients,
  greeted,
  inTransaction,
  type SmtpClient,
  sendData,
  transaction,
} from '../../helpers/smtp-client.ts';
import { startBridge, stopAllBridges, type TestBridge } from '../../helpers/start-bridge.ts';
import { waitUntil } from '../../helpers/wait.ts';

let first: TestCertificate;
let second: TestCertificate;
let third: TestCertificate;
let dir: string;

beforeAll(async () => {
  [first, second, third] = await Promise.all([
    certificateFor(['localhost']),
    certificateFor(['localhost']),
    certificateFor(['localhost']),
  ]);
});

afterEach(async () => {
  destroyAllClients();
  await stopAllBridges();
  await closeAllFunctionServers();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const certPath = () => join(dir, 'cert.pem');
const keyPath = () => join(dir, 'key.pem');
const fingerprint = (certificate: TestCertificate): string =>
  new X509Certificate(certificate.cert).fingerprint256;
/**
 * The three certificates share a subject (CN=localhost), so OpenSSL could not tell which one to
 * verify against; the tests compare fingerprints instead of trusting them.
 */
const trustAll = () => ({ servername: 'localhost', rejectUnauthorized: false });

/** Installs a certificate as renewal tools do: write new files beside, then rename over the old. */
async function install(certificate: TestCertificate): Promise<void> {
  await writeFile(join(dir, 'cert.pem.new'), certificate.cert);
  await writeFile(join(dir, 'key.pem.new'), certificate.key, { mode: 0o600 });
  await rename(join(dir, 'key.pem.new'), keyPath());
  await rename(join(dir, 'cert.pem.new'), certPath());
}

async function startWithCertificate(): Promise<TestBridge> {
  dir = await mkdtemp(join(tmpdir(), 'mxhook-reload-'));
  await install(first);
  const fn = await startFunctionServer();
  return startBridge({
    functionUrl: fn.url,
    env: {
      MXHOOK_LISTEN: '127.0.0.1:0,127.0.0.1:0/tls',
      MXHOOK_TLS_CERT: certPath(),
      MXHOOK_TLS_KEY: keyPath(),
    },
  });
}

/** The fingerprint a new STARTTLS session is shown. */
async function presentedOverStartTls(port: number): Promise<string> {
  const client = await afterEhlo(port);
  expect((await client.command('STARTTLS')).code).toBe(220);
  const secure = await client.startTls(trustAll());
  const presented = secure.getPeerCertificate().fingerprint256;
  client.destroy();
  return presented;
}

async function presentedOverImplicitTls(port: number): Promise<string> {
  const client = await Client.connect(port, { tls: trustAll() });
  const presented = (client.socket as TLSSocket).getPeerCertificate().fingerprint256;
  client.destroy();
  return presented;
}

async function upgraded(client: SmtpClient): Promise<string> {
  expect((await client.command('STARTTLS')).code).toBe(220);
  const secure = await client.startTls(trustAll());
  expect((await client.command('EHLO client.test')).code).toBe(250);
  return secure.getPeerCertificate().fingerprint256;
}

describe('certificate reload', () => {
  it('serves new handshakes with the new certificate while open sessions finish their mail', async () => {
    const bridge = await startWithCertificate();
    const [plain, implicit] = bridge.running.smtpAddresses;
    // A session in TLS with the first certificate, mid-transaction.
    const inTls = await afterEhlo(plain!.port);
    expect(await upgraded(inTls)).toBe(fingerprint(first));
    await transaction(inTls, 'a@client.test', ['b@mx.test']);
    // A session not yet in TLS.
    const notYet = await afterEhlo(plain!.port);

    await install(second);
    expect(bridge.running.reloadTls()).toBe(true);

    expect(await presentedOverStartTls(plain!.port)).toBe(fingerprint(second));
    expect(await presentedOverImplicitTls(implicit!.port)).toBe(fingerprint(second));
    // The open TLS session was not dropped and completes its transaction.
    expect((await sendData(inTls, 'Subject: across a reload\r\n\r\nstill here\r\n')).code).toBe(
      250,
    );
    // A session opened before the reload gets the new certificate when it starts TLS.
    expect(await upgraded(notYet)).toBe(fingerprint(second));
    await transaction(notYet, 'a@client.test', ['b@mx.test']);
    expect((await sendData(notYet, 'Subject: after\r\n\r\nok\r\n')).code).toBe(250);
  });

  it('re-reads the files when they change, without a signal', async () => {
    const bridge = await startWithCertificate();
    const port = bridge.port;
    const open = await inTransaction(port);

    await install(second);
    await waitUntilPresented(port, fingerprint(second));
    // In place, as `cp` or an editor writes: the watch is on the directory, so both are seen.
    await writeFile(certPath(), third.cert);
    await writeFile(keyPath(), third.key);
    await waitUntilPresented(port, fingerprint(third));

    expect((await sendData(open, 'Subject: watched\r\n\r\nok\r\n')).code).toBe(250);
  });

  it('keeps the certificate in use when the new files are unusable', async () => {
    const bridge = await startWithCertificate();
    const port = bridge.port;

    await writeFile(certPath(), 'not a certificate');
    expect(bridge.running.reloadTls()).toBe(false);
    expect(await presentedOverStartTls(port)).toBe(fingerprint(first));

    // A new certificate whose key has not been replaced yet does not match: refused too.
    await writeFile(certPath(), second.cert);
    expect(bridge.running.reloadTls()).toBe(false);
    expect(await presentedOverStartTls(port)).toBe(fingerprint(first));

    await writeFile(keyPath(), second.key);
    expect(bridge.running.reloadTls()).toBe(true);
    expect(await presentedOverStartTls(port)).toBe(fingerprint(second));
  });

  it('reports false without certificates to reload', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url });
    expect(bridge.running.reloadTls()).toBe(false);
    await greeted(bridge.port);
  });
});

async function waitUntilPresented(port: number, expected: string): Promise<void> {
  let last = '';
  let checking = false;
  await waitUntil(() => {
    if (!checking) {
      checking = true;
      void presentedOverStartTls(port)
        .then(
          (presented) => {
            last = presented;
          },
          () => {}, // a handshake racing a half-written file: try again
        )
        .finally(() => {
          checking = false;
        });
    }
    return last === expected;
  }, `the gateway to present ${expected}`);
}
