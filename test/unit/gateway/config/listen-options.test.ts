// MXHOOK_LISTEN suffixes (/tls, /require-tls, /require-auth) and MXHOOK_MAX_CONNECTION_RATE_PER_IP.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../gateway/config/load-config.ts';
import { ConfigError } from '../../../../gateway/errors.ts';
import { testCertificate } from '../../../helpers/certs.ts';

const BASE = {
  MXHOOK_FUNCTION_URL: 'https://fn.example/',
  MXHOOK_SIGNING_SECRET: 'a-development-secret-of-32-chars!',
};

let dir: string;
let withTls: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mxhook-listen-'));
  const certificate = await testCertificate();
  writeFileSync(join(dir, 'cert.pem'), certificate.cert);
  writeFileSync(join(dir, 'key.pem'), certificate.key);
  withTls = { MXHOOK_TLS_CERT: join(dir, 'cert.pem'), MXHOOK_TLS_KEY: join(dir, 'key.pem') };
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const load = (env: Record<string, string>) => loadConfig({ env: { ...BASE, ...env } });

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('ERR_CONFIG_INVALID');
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

const address = (host: string, port: number, options: Record<string, boolean> = {}) => ({
  host,
  port,
  implicitTls: false,
  requireTls: false,
  requireAuth: false,
  ...options,
});

describe('MXHOOK_LISTEN suffixes', () => {
  it('reads /tls, /require-tls and /require-auth, combined in any order and any case', () => {
    const config = load({
      ...withTls,
      MXHOOK_AUTH: 'function',
      MXHOOK_LISTEN:
        '0.0.0.0:25,0.0.0.0:587/require-tls/require-auth,[::]:465/TLS/Require-Auth,127.0.0.1:2525/require-tls',
    });
    expect(config.listen).toEqual([
      address('0.0.0.0', 25),
      address('0.0.0.0', 587, { requireTls: true, requireAuth: true }),
      address('::', 465, { implicitTls: true, requireAuth: true }),
      address('127.0.0.1', 2525, { requireTls: true }),
    ]);
    // The listener options do not turn on the global ones.
    expect(config.requireTls).toBe(false);
    expect(config.requireAuth).toBe(false);
  });

  it.each([
    [
      '0.0.0.0:587/starttls',
      'MXHOOK_LISTEN: "0.0.0.0:587/starttls" has an unknown suffix "/starttls" (known: /tls, /require-tls, /require-auth)',
    ],
    [
      '0.0.0.0:587/',
      'MXHOOK_LISTEN: "0.0.0.0:587/" has an unknown suffix "/" (known: /tls, /require-tls, /require-auth)',
    ],
    [
      '0.0.0.0:587/require-tls//require-auth',
      'MXHOOK_LISTEN: "0.0.0.0:587/require-tls//require-auth" has an unknown suffix "/" (known: /tls, /require-tls, /require-auth)',
    ],
    [
      '0.0.0.0:587/require-tls/REQUIRE-TLS',
      'MXHOOK_LISTEN: "0.0.0.0:587/require-tls/REQUIRE-TLS" has the suffix "/require-tls" twice',
    ],
    [
      '0.0.0.0:587/tls:25',
      'MXHOOK_LISTEN: "0.0.0.0:587/tls:25" has an unknown suffix "/tls:25" (known: /tls, /require-tls, /require-auth)',
    ],
  ])('refuses %j', (listen, message) => {
    expect(messageOf(() => load({ ...withTls, MXHOOK_LISTEN: listen }))).toBe(message);
  });

  it('needs a certificate for a /require-tls listener', () => {
    expect(messageOf(() => load({ MXHOOK_LISTEN: '0.0.0.0:587/require-tls' }))).toBe(
      'MXHOOK_LISTEN: the /require-tls listener on port 587 needs MXHOOK_TLS_CERT and MXHOOK_TLS_KEY',
    );
  });

  it('needs AUTH for a /require-auth listener', () => {
    expect(messageOf(() => load({ ...withTls, MXHOOK_LISTEN: '0.0.0.0:587/require-auth' }))).toBe(
      'MXHOOK_LISTEN: the /require-auth listener on port 587 needs MXHOOK_AUTH=function or MXHOOK_AUTH=users',
    );
  });
});

describe('MXHOOK_MAX_CONNECTION_RATE_PER_IP', () => {
  it('defaults to 120 connections per minute', () => {
    expect(load({}).maxConnectionsPerIpPerMinute).toBe(120);
  });

  it.each([
    ['30', 30],
    ['0', 0], // off
    [' 600 ', 600],
  ])('reads %j as %i', (raw, expected) => {
    expect(load({ MXHOOK_MAX_CONNECTION_RATE_PER_IP: raw }).maxConnectionsPerIpPerMinute).toBe(
      expected,
    );
  });

  it('is a flag too', () => {
    const config = loadConfig({
      env: BASE,
      argv: ['--max-connection-rate-per-ip', '7'],
    });
    expect(config.maxConnectionsPerIpPerMinute).toBe(7);
  });

  it.each([
    [
      '-1',
      'MXHOOK_MAX_CONNECTION_RATE_PER_IP: "-1" is not a whole number of connections per minute',
    ],
    [
      '2.5',
      'MXHOOK_MAX_CONNECTION_RATE_PER_IP: "2.5" is not a whole number of connections per minute',
    ],
    [
      'lots',
      'MXHOOK_MAX_CONNECTION_RATE_PER_IP: "lots" is not a whole number of connections per minute',
    ],
  ])('refuses %j', (raw, message) => {
    expect(messageOf(() => load({ MXHOOK_MAX_CONNECTION_RATE_PER_IP: raw }))).toBe(message);
  });
});
