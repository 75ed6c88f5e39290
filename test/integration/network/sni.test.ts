// Several certificates over real sockets: each handshake gets the one naming the SNI host (RFC 6066 §3).
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../../gateway/index.ts';
import { certificateFor, type TestCertificate, testCertificate } from '../../helpers/certs.ts';
import { afterEhlo, destroyAllClients, SmtpClient } from '../../helpers/smtp-client.ts';

let byDefault: TestCertificate;
let exactA: TestCertificate;
let wildcardB: TestCertificate;
let exactXB: TestCertificate;
let all: TestCertificate[];
const gateways: Gateway[] = [];

beforeAll(async () => {
  byDefault = await testCertificate(); // localhost
  [exactA, wildcardB, exactXB] = await Promise.all([
    certificateFor(['a.test']),
    certificateFor(['*.b.test']),
    certificateFor(['x.b.test']),
  ]);
  // The wildcard is listed before the exact name it overlaps, to show the exact one still wins.
  all = [byDefault, wildcardB, exactXB, exactA];
});

afterEach(async () => {
  destroyAllClients();
  await Promise.all(gateways.splice(0).map((gateway) => gateway.stop()));
});

async function startWith(certificates: readonly TestCertificate[]) {
  const sessions: { sni: string | null }[] = [];
  const gateway = createGateway({
    listen: [
      { host: '127.0.0.1', port: 0, implicitTls: false },
      { host: '127.0.0.1', port: 0, implicitTls: true },
    ],
    hostname: 'mx.test',
    handler: {
      helo: ({ session }) => {
        sessions.push({ sni: session.tls?.sni ?? null });
        return undefined;
      },
      data: () => ({ action: 'accept' }),
    },
    tls: certificates,
    authChecks: [],
  });
  gateways.push(gateway);
  const [plain, implicit] = await gateway.start();
  return { plainPort: plain!.port, tlsPort: implicit!.port, sessions };
}

const fingerprint = (certificate: TestCertificate): string =>
  new X509Certificate(certificate.cert).fingerprint256;

/** The certificate the gateway presents over STARTTLS for `servername` (undefined: no SNI). */
async function viaStartTls(port: number, servername: string | undefined) {
  const client = await afterEhlo(port);
  expect((await client.command('STARTTLS')).code).toBe(220);
  const secure = await client.startTls({
    ca: all.map((c) => c.cert),
    ...(servername === undefined ? {} : { servername }),
    rejectUnauthorized: false,
  });
  return { client, secure, presented: secure.getPeerCertificate().fingerprint256 };
}

describe('SNI', () => {
  it.each([
    ['a.test', () => exactA],
    ['A.TEST', () => exactA],
    ['y.b.test', () => wildcardB],
    ['x.b.test', () => exactXB],
    ['deep.y.b.test', () => byDefault], // a wildcard covers exactly one label (RFC 6125 §6.4.3)
    ['other.test', () => byDefault],
    ['localhost', () => byDefault],
  ])('presents the right certificate over STARTTLS for %s', async (servername, expected) => {
    const { plainPort } = await startWith(all);
    const { secure, presented } = await viaStartTls(plainPort, servername);
    expect(presented).toBe(fingerprint(expected()));
    // The certificate chosen is valid for the name asked (except for the no-match fallbacks).
    if (expected() !== byDefault || servername === 'localhost') {
      expect(secure.authorized).toBe(true);
    }
  });

  it('presents the first certificate to a client that sends no SNI', async () => {
    const { plainPort } = await startWith(all);
    // Node sends no SNI when connecting to an IP address without a servername.
    const { presented } = await viaStartTls(plainPort, undefined);
    expect(presented).toBe(fingerprint(byDefault));
  });

  it('selects by SNI on an implicit-TLS listener too, and the session records the name', async () => {
    const { tlsPort, sessions } = await startWith(all);
    const client = await SmtpClient.connect(tlsPort, {
      tls: { servername: 'y.b.test', ca: wildcardB.cert },
    });
    const secure = client.socket as TLSSocket;
    expect(secure.authorized).toBe(true);
    expect(secure.getPeerCertificate().fingerprint256).toBe(fingerprint(wildcardB));
    expect((await client.readReply()).code).toBe(220);
    expect((await client.command('EHLO client.test')).code).toBe(250);
    expect(sessions).toEqual([{ sni: 'y.b.test' }]);
  });

  it('uses the one certificate for every name when there is only one', async () => {
    const { plainPort } = await startWith([exactA]);
    expect((await viaStartTls(plainPort, 'other.test')).presented).toBe(fingerprint(exactA));
  });
});
