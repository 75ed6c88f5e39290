// MXHOOK_TLS_CERT and MXHOOK_TLS_KEY as lists: several certificates for SNI, the first the default.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../gateway/config/load-config.ts';
import { readTlsPairs } from '../../../../gateway/config/parse-keys.ts';
import { ConfigError } from '../../../../gateway/errors.ts';
import { certificateFor } from '../../../helpers/certs.ts';

const BASE = {
  MXHOOK_FUNCTION_URL: 'https://fn.example/',
  MXHOOK_SIGNING_SECRET: 'a-development-secret-of-32-chars!',
};

let dir: string;
const file = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mxhook-tls-list-'));
  const [first, second] = await Promise.all([
    certificateFor(['mx.test']),
    certificateFor(['*.example.test']),
  ]);
  writeFileSync(file('first.crt'), first.cert);
  writeFileSync(file('first.key'), first.key);
  writeFileSync(file('second.crt'), second.cert);
  writeFileSync(file('second.key'), second.key);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('several TLS certificates', () => {
  it('reads pairs in order; the first is also `tls`, the default', () => {
    const config = loadConfig({
      env: {
        ...BASE,
        MXHOOK_TLS_CERT: `${file('first.crt')}, ${file('second.crt')}`,
        MXHOOK_TLS_KEY: `${file('first.key')},${file('second.key')}`,
      },
    });
    expect(config.tlsCertificates.map((pair) => [pair.certPath, pair.keyPath])).toEqual([
      [file('first.crt'), file('first.key')],
      [file('second.crt'), file('second.key')],
    ]);
    expect(config.tls).toBe(config.tlsCertificates[0]);
    expect(Object.isFrozen(config.tlsCertificates)).toBe(true);
  });

  it('keeps a single pair working as before', () => {
    const config = loadConfig({
      env: { ...BASE, MXHOOK_TLS_CERT: file('first.crt'), MXHOOK_TLS_KEY: file('first.key') },
    });
    expect(config.tlsCertificates).toHaveLength(1);
    expect(config.tls?.certPath).toBe(file('first.crt'));
  });

  it('has no certificates without the variables', () => {
    const config = loadConfig({ env: BASE });
    expect(config.tlsCertificates).toEqual([]);
    expect(config.tls).toBeNull();
  });

  it('refuses lists of different lengths, naming the key variable', () => {
    expect(
      messageOf(() =>
        loadConfig({
          env: {
            ...BASE,
            MXHOOK_TLS_CERT: `${file('first.crt')},${file('second.crt')}`,
            MXHOOK_TLS_KEY: file('first.key'),
          },
        }),
      ),
    ).toBe(
      'MXHOOK_TLS_KEY: lists 1 file but MXHOOK_TLS_CERT lists 2; give one key per certificate, in the same order',
    );
  });

  it('refuses a key that belongs to another certificate of the list', () => {
    expect(
      messageOf(() =>
        loadConfig({
          env: {
            ...BASE,
            MXHOOK_TLS_CERT: `${file('first.crt')},${file('second.crt')}`,
            MXHOOK_TLS_KEY: `${file('second.key')},${file('first.key')}`,
          },
        }),
      ),
    ).toBe(
      `MXHOOK_TLS_KEY: ${file('second.key')} does not match the certificate in ${file('first.crt')} (MXHOOK_TLS_CERT)`,
    );
  });

  it('is what a reload reads, with the same checks', () => {
    const pairs = readTlsPairs(
      'MXHOOK_TLS_CERT',
      'MXHOOK_TLS_KEY',
      [file('second.crt')],
      [file('second.key')],
    );
    expect(pairs[0]?.certPath).toBe(file('second.crt'));
    expect(
      messageOf(() =>
        readTlsPairs(
          'MXHOOK_TLS_CERT',
          'MXHOOK_TLS_KEY',
          [file('second.crt')],
          [file('first.key')],
        ),
      ),
    ).toMatch(/^MXHOOK_TLS_KEY: .* does not match the certificate/);
  });
});
