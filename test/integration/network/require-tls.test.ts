// A listener that requires STARTTLS before MAIL (RFC 3207 §4: 530 5.7.0), over real sockets.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MxhookError } from '../../../gateway/errors.ts';
import { createGateway, type Gateway, type ListenAddress } from '../../../gateway/index.ts';
import { type TestCertificate, testCertificate } from '../../helpers/certs.ts';
import { closeAllFunctionServers, startFunctionServer } from '../../helpers/function-server.ts';
import {
  afterEhlo,
  destroyAllClients,
  greeted,
  type SmtpClient,
  sendData,
  transaction,
} from '../../helpers/smtp-client.ts';
import { startBridge, stopAllBridges } from '../../helpers/start-bridge.ts';

const MUST_STARTTLS = '530 5.7.0 Must issue a STARTTLS command first\r\n';

let certificate: TestCertificate;
const gateways: Gateway[] = [];

beforeAll(async () => {
  certificate = await testCertificate();
});

afterEach(async () => {
  destroyAllClients();
  await Promise.all(gateways.splice(0).map((gateway) => gateway.stop()));
  await stopAllBridges();
  await closeAllFunctionServers();
});

async function startWith(listen: ListenAddress[], requireTls = false): Promise<number[]> {
  const gateway = createGateway({
    listen,
    hostname: 'mx.test',
    handler: { data: () => ({ action: 'accept' }) },
    tls: certificate,
    requireTls,
    authChecks: [],
  });
  gateways.push(gateway);
  return (await gateway.start()).map((address) => address.port);
}

async function upgrade(client: SmtpClient): Promise<void> {
  expect((await client.command('STARTTLS')).code).toBe(220);
  await client.startTls({ servername: 'localhost', ca: certificate.cert });
  expect((await client.command('EHLO client.test')).code).toBe(250);
}

const PLAIN = { host: '127.0.0.1', port: 0, implicitTls: false } as const;

describe('a /require-tls listener', () => {
  it('answers MAIL with 530 5.7.0 before STARTTLS and takes the mail after it', async () => {
    const [port] = await startWith([{ ...PLAIN, requireTls: true }]);
    const client = await afterEhlo(port!);
    expect((await client.command('MAIL FROM:<a@client.test>')).raw).toBe(MUST_STARTTLS);
    await upgrade(client);
    await transaction(client, 'a@client.test', ['b@mx.test']);
    expect((await sendData(client, 'Subject: secure\r\n\r\nok\r\n')).code).toBe(250);
  });

  it('applies to its own listener only', async () => {
    const [strict, relaxed] = await startWith([{ ...PLAIN, requireTls: true }, PLAIN]);
    expect((await (await afterEhlo(strict!)).command('MAIL FROM:<a@client.test>')).raw).toBe(
      MUST_STARTTLS,
    );
    const client = await afterEhlo(relaxed!);
    await transaction(client, 'a@client.test', ['b@mx.test']);
    expect((await sendData(client, 'x\r\n')).code).toBe(250);
  });

  it('is satisfied by implicit TLS', async () => {
    const [port] = await startWith([{ ...PLAIN, implicitTls: true, requireTls: true }]);
    const client = await afterEhlo(port!, {
      tls: { servername: 'localhost', ca: certificate.cert },
    });
    await transaction(client, 'a@client.test', ['b@mx.test']);
    expect((await sendData(client, 'x\r\n')).code).toBe(250);
  });

  it('is or-ed with the global requireTls', async () => {
    const [port] = await startWith([PLAIN], true);
    expect((await (await afterEhlo(port!)).command('MAIL FROM:<a@client.test>')).raw).toBe(
      MUST_STARTTLS,
    );
  });

  it('needs a certificate', () => {
    let error: unknown;
    try {
      createGateway({
        listen: [{ ...PLAIN, requireTls: true }],
        hostname: 'mx.test',
        handler: { data: () => ({ action: 'accept' }) },
        authChecks: [],
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(MxhookError);
    expect((error as MxhookError).code).toBe('ERR_CONFIG_INVALID');
  });

  it('comes from MXHOOK_LISTEN', async () => {
    const fn = await startFunctionServer();
    const dir = await mkdtemp(join(tmpdir(), 'mxhook-require-tls-'));
    try {
      await writeFile(join(dir, 'cert.pem'), certificate.cert);
      await writeFile(join(dir, 'key.pem'), certificate.key);
      const bridge = await startBridge({
        functionUrl: fn.url,
        env: {
          MXHOOK_LISTEN: '127.0.0.1:0/require-tls,127.0.0.1:0',
          MXHOOK_TLS_CERT: join(dir, 'cert.pem'),
          MXHOOK_TLS_KEY: join(dir, 'key.pem'),
        },
      });
      const [strict, relaxed] = bridge.running.smtpAddresses;
      expect((await (await afterEhlo(strict!.port)).command('MAIL FROM:<a@c.test>')).raw).toBe(
        MUST_STARTTLS,
      );
      expect((await (await afterEhlo(relaxed!.port)).command('MAIL FROM:<a@c.test>')).code).toBe(
        250,
      );
      await greeted(strict!.port);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
