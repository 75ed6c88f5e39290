// Self-signed certificates for `localhost`: one cached per test file (each file runs in its own worker).
import { generate } from 'selfsigned';

export interface TestCertificate {
  /** PEM certificate; also what a client passes as `ca` to verify the gateway. */
  readonly cert: string;
  /** PEM private key. */
  readonly key: string;
}

let cached: Promise<TestCertificate> | null = null;

/** The test file's certificate for `localhost` and 127.0.0.1. */
export function testCertificate(): Promise<TestCertificate> {
  cached ??= newCertificate();
  return cached;
}

/** A fresh certificate for `localhost` and 127.0.0.1 (EC P-256, so generating it is fast). */
export async function newCertificate(): Promise<TestCertificate> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A fresh certificate whose SAN lists exactly `dnsNames` (wildcards allowed), for SNI tests. */
export function certificateFor(dnsNames: readonly string[]): Promise<TestCertificate> {
  return serverCertificate(dnsNames);
}

/** A certificate authority of the test's own, for certificates a verifying client accepts. */
export async function newCertificateAuthority(name = 'mxhook test CA'): Promise<TestCertificate> {
  const pems = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/**
 * A server certificate for exactly `dnsNames`, signed by `authority`: valid for those names to a
 * client that trusts the authority (`ca: [authority.cert]`).
 */
export function certificateSignedBy(
  authority: TestCertificate,
  dnsNames: readonly string[],
): Promise<TestCertificate> {
  return serverCertificate(dnsNames, authority);
}

/** A server certificate for `dnsNames`: self-signed, or signed by `authority` when given. */
async function serverCertificate(
  dnsNames: readonly string[],
  authority?: TestCertificate,
): Promise<TestCertificate> {
  const pems = await generate([{ name: 'commonName', value: dnsNames[0] ?? 'unnamed.test' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    ...(authority === undefined ? {} : { ca: { key: authority.key, cert: authority.cert } }),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: dnsNames.map((value) => ({ type: 2, value })) },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
