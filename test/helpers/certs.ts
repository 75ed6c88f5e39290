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
export async function certificateFor(dnsNames: readonly string[]): Promise<TestCertificate> {
  const pems = await generate([{ name: 'commonName', value: dnsNames[0] ?? 'unnamed.test' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: dnsNames.map((value) => ({ type: 2, value })) },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
