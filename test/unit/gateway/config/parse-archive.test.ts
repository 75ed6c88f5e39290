// MXHOOK_ARCHIVE and its companions, MXHOOK_PUBLIC_URL: what loadConfig makes of them, and what it refuses.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../gateway/config/load-config.ts';
import { ConfigError } from '../../../../gateway/errors.ts';

const BASE = {
  MXHOOK_FUNCTION_URL: 'https://fn.example.com/',
  MXHOOK_SIGNING_SECRET: 'a-secret-of-at-least-thirty-two-chars!',
};
const CREDENTIALS = {
  MXHOOK_ARCHIVE_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  MXHOOK_ARCHIVE_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG',
};

function load(env: Record<string, string>) {
  return loadConfig({ env: { ...BASE, ...env }, cwd: '/srv/mxhook' });
}

function refusal(env: Record<string, string>): string {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('MXHOOK_ARCHIVE', () => {
  it('is off by default, with a 30-day retention and a 5 MiB inline limit', () => {
    const config = load({});
    expect(config.archive).toBeNull();
    expect(config.retentionDays).toBe(30);
    expect(config.inlineMaxBytes).toBe(5 * 1024 * 1024);
    expect(config.publicUrl).toBeNull();
  });

  it('takes a directory, relative to the working directory', () => {
    expect(load({ MXHOOK_ARCHIVE: 'archive' }).archive).toEqual({
      kind: 'directory',
      path: '/srv/mxhook/archive',
    });
  });

  it('takes an s3:// bucket and prefix with its endpoint, region and credentials', () => {
    const config = load({
      MXHOOK_ARCHIVE: 's3://mail-archive/mx1',
      MXHOOK_ARCHIVE_ENDPOINT: 'https://acct.r2.cloudflarestorage.com',
      MXHOOK_ARCHIVE_REGION: 'auto',
      ...CREDENTIALS,
    });
    expect(config.archive).toEqual({
      kind: 's3',
      bucket: 'mail-archive',
      prefix: 'mx1/',
      endpoint: 'https://acct.r2.cloudflarestorage.com/',
      region: 'auto',
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG',
    });
    expect(load({ MXHOOK_ARCHIVE: 's3://mail-archive', ...CREDENTIALS }).archive).toMatchObject({
      prefix: '',
      endpoint: null,
      region: 'us-east-1',
    });
  });

  it('refuses, naming the variable, a bad bucket or prefix, no credentials, a bad endpoint', () => {
    expect(refusal({ MXHOOK_ARCHIVE: 's3://Mail_Archive', ...CREDENTIALS })).toMatch(
      /^MXHOOK_ARCHIVE: "Mail_Archive" is not an S3 bucket name$/,
    );
    expect(refusal({ MXHOOK_ARCHIVE: 's3://mail-archive/a b/', ...CREDENTIALS })).toMatch(
      /^MXHOOK_ARCHIVE: the key prefix/,
    );
    expect(refusal({ MXHOOK_ARCHIVE: 's3://mail-archive' })).toMatch(
      /^MXHOOK_ARCHIVE: .*MXHOOK_ARCHIVE_ACCESS_KEY_ID/,
    );
    expect(
      refusal({
        MXHOOK_ARCHIVE: 's3://mail-archive',
        MXHOOK_ARCHIVE_ENDPOINT: 'ftp://x',
        ...CREDENTIALS,
      }),
    ).toMatch(/^MXHOOK_ARCHIVE_ENDPOINT: /);
    expect(refusal({ MXHOOK_ARCHIVE: 'gs://bucket' })).toMatch(/^MXHOOK_ARCHIVE: /);
  });

  it('refuses a directory archive without the HTTP listener that serves its URLs', () => {
    expect(
      refusal({ MXHOOK_ARCHIVE: '/var/lib/mxhook/archive', MXHOOK_HTTP_LISTEN: 'off' }),
    ).toMatch(/^MXHOOK_ARCHIVE: .*MXHOOK_HTTP_LISTEN is off$/);
  });
});

describe('MXHOOK_PUBLIC_URL', () => {
  it('takes an http(s) base URL without its trailing slash, and refuses anything else', () => {
    expect(load({ MXHOOK_PUBLIC_URL: 'https://mx.example.com/files/' }).publicUrl).toBe(
      'https://mx.example.com/files',
    );
    expect(refusal({ MXHOOK_PUBLIC_URL: 'mx.example.com' })).toMatch(/^MXHOOK_PUBLIC_URL: /);
    expect(refusal({ MXHOOK_PUBLIC_URL: 'https://mx.example.com/?a=1' })).toMatch(
      /^MXHOOK_PUBLIC_URL: must have no query or fragment$/,
    );
  });
});
