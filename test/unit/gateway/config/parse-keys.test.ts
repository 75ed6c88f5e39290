// Key material from files: the TLS certificate and key, Ed25519 signing keys, and the users file.
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../gateway/config/load-config.ts';
import { ConfigError } from '../../../../gateway/errors.ts';

const BASE = { MXHOOK_FUNCTION_URL: 'https://fn.example/' };
const SECRET = 'a-development-secret-of-32-chars!';

let dir: string;
const file = (name: string) => join(dir, name);

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mxhook-keys-'));
  const attributes = [{ name: 'commonName', value: 'mx.test' }];
  const first = await generate(attributes, { keyType: 'ec', algorithm: 'sha256' });
  const second = await generate(attributes, { keyType: 'ec', algorithm: 'sha256' });
  const encrypted = await generate(attributes, {
    keyType: 'ec',
    algorithm: 'sha256',
    passphrase: 'correct horse',
  });
  writeFileSync(file('cert.pem'), first.cert);
  writeFileSync(file('key.pem'), first.private);
  writeFileSync(file('other-key.pem'), second.private);
  writeFileSync(file('encrypted-cert.pem'), encrypted.cert);
  writeFileSync(file('encrypted-key.pem'), encrypted.private);

  const ed25519 = generateKeyPairSync('ed25519');
  const another = generateKeyPairSync('ed25519');
  const x25519 = generateKeyPairSync('x25519');
  writeFileSync(file('ed25519.pem'), ed25519.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  writeFileSync(file('ed25519.pub.pem'), ed25519.publicKey.export({ format: 'pem', type: 'spki' }));
  const jwk = { ...ed25519.privateKey.export({ format: 'jwk' }), kid: 'k1' };
  writeFileSync(file('ed25519.jwk'), JSON.stringify(jwk));
  const { d: _d, ...publicJwk } = jwk;
  writeFileSync(file('public.jwk'), JSON.stringify(publicJwk));
  const otherX = another.publicKey.export({ format: 'jwk' }).x;
  writeFileSync(file('mismatched.jwk'), JSON.stringify({ ...jwk, x: otherX }));
  writeFileSync(file('x25519.jwk'), JSON.stringify(x25519.privateKey.export({ format: 'jwk' })));
  writeFileSync(file('broken.jwk'), '{"kty": "OKP",');
  writeFileSync(file('users.txt'), 'alice:$argon2id$...\n');
  mkdirSync(file('a-directory'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('TLS certificate and key', () => {
  it('reads both files and keeps their paths', () => {
    const config = loadConfig({
      env: {
        ...BASE,
        MXHOOK_SIGNING_SECRET: SECRET,
        MXHOOK_TLS_CERT: file('cert.pem'),
        MXHOOK_TLS_KEY: file('key.pem'),
      },
    });
    expect(config.tls).not.toBeNull();
    expect(config.tls?.cert.equals(readFileSync(file('cert.pem')))).toBe(true);
    expect(config.tls?.key.equals(readFileSync(file('key.pem')))).toBe(true);
    expect(config.tls?.certPath).toBe(file('cert.pem'));
    expect(config.tls?.keyPath).toBe(file('key.pem'));
    expect(Object.isFrozen(config.tls)).toBe(true);
  });

  it('resolves relative paths against cwd', () => {
    const config = loadConfig({
      env: { ...BASE, MXHOOK_SIGNING_SECRET: SECRET },
      argv: ['--tls-cert', 'cert.pem', '--tls-key', './key.pem'],
      cwd: dir,
    });
    expect(config.tls?.certPath).toBe(file('cert.pem'));
    expect(config.tls?.keyPath).toBe(file('key.pem'));
  });

  it('enables /tls listeners, REQUIRE_TLS and AUTH over TLS', () => {
    const config = loadConfig({
      env: {
        ...BASE,
        MXHOOK_SIGNING_SECRET: SECRET,
        MXHOOK_TLS_CERT: file('cert.pem'),
        MXHOOK_TLS_KEY: file('key.pem'),
        MXHOOK_LISTEN: '0.0.0.0:25,0.0.0.0:465/tls,[::]:465/TLS',
        MXHOOK_REQUIRE_TLS: 'true',
        MXHOOK_AUTH: 'function',
        MXHOOK_REQUIRE_AUTH: 'yes',
      },
    });
    expect(config.listen).toEqual([
      { host: '0.0.0.0', port: 25, implicitTls: false, requireTls: false, requireAuth: false },
      { host: '0.0.0.0', port: 465, implicitTls: true, requireTls: false, requireAuth: false },
      { host: '::', port: 465, implicitTls: true, requireTls: false, requireAuth: false },
    ]);
    expect(config.requireTls).toBe(true);
    expect(config.requireAuth).toBe(true);
    expect(config.auth).toBe('function');
  });

  const errors: [
    name: string,
    env: Record<string, string>,
    variable: string,
    message: () => string,
  ][] = [
    [
      'a certificate without a key',
      { MXHOOK_TLS_CERT: 'cert.pem' },
      'MXHOOK_TLS_KEY',
      () => 'MXHOOK_TLS_KEY: must be set together with MXHOOK_TLS_CERT',
    ],
    [
      'a key without a certificate',
      { MXHOOK_TLS_KEY: 'key.pem' },
      'MXHOOK_TLS_CERT',
      () => 'MXHOOK_TLS_CERT: must be set together with MXHOOK_TLS_KEY',
    ],
    [
      'a key that does not match the certificate',
      { MXHOOK_TLS_CERT: 'cert.pem', MXHOOK_TLS_KEY: 'other-key.pem' },
      'MXHOOK_TLS_KEY',
      () =>
        `MXHOOK_TLS_KEY: ${file('other-key.pem')} does not match the certificate in ${file('cert.pem')} (MXHOOK_TLS_CERT)`,
    ],
    [
      'a missing certificate file',
      { MXHOOK_TLS_CERT: 'missing.pem', MXHOOK_TLS_KEY: 'key.pem' },
      'MXHOOK_TLS_CERT',
      () => `MXHOOK_TLS_CERT: cannot read ${file('missing.pem')} (ENOENT)`,
    ],
    [
      'a missing key file',
      { MXHOOK_TLS_CERT: 'cert.pem', MXHOOK_TLS_KEY: 'missing.pem' },
      'MXHOOK_TLS_KEY',
      () => `MXHOOK_TLS_KEY: cannot read ${file('missing.pem')} (ENOENT)`,
    ],
    [
      'a key given as the certificate',
      { MXHOOK_TLS_CERT: 'key.pem', MXHOOK_TLS_KEY: 'key.pem' },
      'MXHOOK_TLS_CERT',
      () => `MXHOOK_TLS_CERT: ${file('key.pem')} is not a PEM certificate`,
    ],
    [
      'a certificate given as the key',
      { MXHOOK_TLS_CERT: 'cert.pem', MXHOOK_TLS_KEY: 'cert.pem' },
      'MXHOOK_TLS_KEY',
      () => `MXHOOK_TLS_KEY: ${file('cert.pem')} is not a PEM private key`,
    ],
    [
      'an encrypted key',
      { MXHOOK_TLS_CERT: 'encrypted-cert.pem', MXHOOK_TLS_KEY: 'encrypted-key.pem' },
      'MXHOOK_TLS_KEY',
      () => `MXHOOK_TLS_KEY: ${file('encrypted-key.pem')} is encrypted; give an unencrypted key`,
    ],
  ];

  it.each(errors)('refuses %s', (_name, env, variable, message) => {
    const error = configError(() =>
      loadConfig({ env: { ...BASE, MXHOOK_SIGNING_SECRET: SECRET, ...env }, cwd: dir }),
    );
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.variable).toBe(variable);
    expect(error.message).toBe(message());
  });
});

describe('Ed25519 signing keys', () => {
  it('reads PEM and JWK keys, in order, without needing a secret', () => {
    const config = loadConfig({
      env: { ...BASE, MXHOOK_SIGNING_KEY: 'ed25519.jwk, ed25519.pem' },
      cwd: dir,
    });
    expect(config.signingSecrets).toEqual([]);
    expect(config.signingKeys).toEqual([
      { path: file('ed25519.jwk'), text: readFileSync(file('ed25519.jwk'), 'utf8') },
      { path: file('ed25519.pem'), text: readFileSync(file('ed25519.pem'), 'utf8') },
    ]);
    expect(Object.isFrozen(config.signingKeys[0])).toBe(true);
  });

  it('keeps secrets and keys side by side', () => {
    const config = loadConfig({
      env: { ...BASE, MXHOOK_SIGNING_SECRET: SECRET, MXHOOK_SIGNING_KEY: file('ed25519.pem') },
    });
    expect(config.signingSecrets).toEqual([SECRET]);
    expect(config.signingKeys.map((key) => key.path)).toEqual([file('ed25519.pem')]);
  });

  const errors: [name: string, path: string, message: () => string][] = [
    ['a missing file', 'missing.pem', () => `cannot read ${file('missing.pem')} (ENOENT)`],
    ['a directory', 'a-directory', () => `cannot read ${file('a-directory')} (EISDIR)`],
    [
      'an EC key',
      'key.pem',
      () => `${file('key.pem')} is not an Ed25519 private key (its type is ec)`,
    ],
    [
      'a public key',
      'ed25519.pub.pem',
      () => `${file('ed25519.pub.pem')} is not a PEM private key`,
    ],
    ['a certificate', 'cert.pem', () => `${file('cert.pem')} is not a PEM private key`],
    [
      'an encrypted key',
      'encrypted-key.pem',
      () => `${file('encrypted-key.pem')} is encrypted; give an unencrypted key`,
    ],
    [
      'a public JWK',
      'public.jwk',
      () =>
        `${file('public.jwk')} is not an Ed25519 private JWK (needs "kty":"OKP", "crv":"Ed25519", "x" and "d")`,
    ],
    [
      'an X25519 JWK',
      'x25519.jwk',
      () =>
        `${file('x25519.jwk')} is not an Ed25519 private JWK (needs "kty":"OKP", "crv":"Ed25519", "x" and "d")`,
    ],
    [
      'a JWK whose x is another key',
      'mismatched.jwk',
      () => `${file('mismatched.jwk')}: "x" is not the public key of "d"`,
    ],
    [
      'broken JSON',
      'broken.jwk',
      () => `${file('broken.jwk')} starts with "{" but is not valid JSON`,
    ],
  ];

  it.each(errors)('refuses %s', (_name, path, message) => {
    const error = configError(() =>
      loadConfig({ env: { ...BASE, MXHOOK_SIGNING_KEY: `ed25519.pem,${path}` }, cwd: dir }),
    );
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.variable).toBe('MXHOOK_SIGNING_KEY');
    expect(error.message).toBe(`MXHOOK_SIGNING_KEY: ${message()}`);
  });
});

describe('users file', () => {
  it('keeps the absolute path when AUTH=users', () => {
    const config = loadConfig({
      env: {
        ...BASE,
        MXHOOK_SIGNING_SECRET: SECRET,
        MXHOOK_AUTH: 'users',
        MXHOOK_AUTH_USERS: 'users.txt',
        MXHOOK_AUTH_ALLOW_INSECURE: 'true',
      },
      cwd: dir,
    });
    expect(config.auth).toBe('users');
    expect(config.authUsersPath).toBe(file('users.txt'));
  });

  it.each([
    ['missing.txt', () => `MXHOOK_AUTH_USERS: cannot read ${file('missing.txt')} (ENOENT)`],
    ['a-directory', () => `MXHOOK_AUTH_USERS: ${file('a-directory')} is not a file`],
  ])('refuses %s', (path, message) => {
    const error = configError(() =>
      loadConfig({
        env: {
          ...BASE,
          MXHOOK_SIGNING_SECRET: SECRET,
          MXHOOK_AUTH: 'users',
          MXHOOK_AUTH_USERS: path,
          MXHOOK_AUTH_ALLOW_INSECURE: 'true',
        },
        cwd: dir,
      }),
    );
    expect(error.variable).toBe('MXHOOK_AUTH_USERS');
    expect(error.message).toBe(message());
  });
});
