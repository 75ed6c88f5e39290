// Where settings come from: flags over the environment over .env over defaults, and typo refusal.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../gateway/config/load-config.ts';
import { ConfigError } from '../../../../gateway/errors.ts';

const BASE = {
  MXHOOK_FUNCTION_URL: 'https://fn.example/',
  MXHOOK_SIGNING_SECRET: 'a-development-secret-of-32-chars!',
};

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mxhook-sources-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

function withFlags(...argv: string[]) {
  return loadConfig({ env: BASE, argv });
}

describe('source priority', () => {
  it('takes flags over the environment over .env over the defaults', () => {
    writeFileSync(
      join(dir, '.env'),
      'MXHOOK_MAX_RECIPIENTS=10\nMXHOOK_MAX_CONNECTIONS=20\nMXHOOK_MAX_BAD_COMMANDS=30\n',
    );
    const config = loadConfig({
      env: { ...BASE, MXHOOK_MAX_CONNECTIONS: '21', MXHOOK_MAX_BAD_COMMANDS: '31' },
      argv: ['--max-bad-commands', '32'],
      cwd: dir,
    });
    expect(config.maxRecipients).toBe(10);
    expect(config.maxConnections).toBe(21);
    expect(config.maxBadCommands).toBe(32);
    expect(config.maxConnectionsPerIp).toBe(50);
  });

  it('lets an empty value in a higher source restore the default', () => {
    writeFileSync(join(dir, '.env'), 'MXHOOK_MAX_RECIPIENTS=10\n');
    const config = loadConfig({ env: { ...BASE, MXHOOK_MAX_RECIPIENTS: '' }, cwd: dir });
    expect(config.maxRecipients).toBe(100);
  });

  it('reads .env syntax: comments, quotes and export', () => {
    writeFileSync(
      join(dir, '.env'),
      [
        '# local development',
        'export MXHOOK_HOSTNAME=mx.dev.example',
        'MXHOOK_LISTEN="127.0.0.1:2626, [::1]:2626"',
        "MXHOOK_FUNCTION_URL='http://127.0.0.1:8787'",
        'MXHOOK_SIGNING_SECRET=a-development-secret-of-32-chars!',
        'CLOUDFLARE_ACCOUNT_ID=not-ours',
        '',
      ].join('\n'),
    );
    const config = loadConfig({ env: {}, cwd: dir });
    expect(config.hostname).toBe('mx.dev.example');
    expect(config.listen).toEqual([
      { host: '127.0.0.1', port: 2626, implicitTls: false, requireTls: false, requireAuth: false },
      { host: '::1', port: 2626, implicitTls: false, requireTls: false, requireAuth: false },
    ]);
    expect(config.functionUrl?.href).toBe('http://127.0.0.1:8787/');
  });

  it('does not copy .env into process.env', () => {
    writeFileSync(join(dir, '.env'), 'MXHOOK_LOG_LEVEL=debug\n');
    expect(loadConfig({ env: BASE, cwd: dir }).logLevel).toBe('debug');
    expect(process.env['MXHOOK_LOG_LEVEL']).toBeUndefined();
  });

  it('runs without a .env file', () => {
    expect(loadConfig({ env: BASE, cwd: dir }).logLevel).toBe('info');
  });

  it('refuses a .env that exists but cannot be read', () => {
    mkdirSync(join(dir, '.env'));
    const error = configError(() => loadConfig({ env: BASE, cwd: dir }));
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.variable).toBe('.env');
    expect(error.message).toBe(`.env: cannot read ${join(dir, '.env')} (EISDIR)`);
  });

  it('ignores variables without the MXHOOK_ prefix and unset ones', () => {
    const config = loadConfig({
      env: { ...BASE, PATH: '/usr/bin', mxhook_listen: 'x', MXHOOK_PAYLOAD: undefined },
    });
    expect(config.payload).toBe('both');
    expect(config.listen).toEqual([
      { host: '127.0.0.1', port: 2525, implicitTls: false, requireTls: false, requireAuth: false },
    ]);
  });
});

describe('flags', () => {
  it('accepts --name value and --name=value', () => {
    const config = withFlags(
      '--max-recipients',
      '5',
      '--listen=0.0.0.0:25,[::]:25',
      '--payload=raw',
    );
    expect(config.maxRecipients).toBe(5);
    expect(config.listen).toEqual([
      { host: '0.0.0.0', port: 25, implicitTls: false, requireTls: false, requireAuth: false },
      { host: '::', port: 25, implicitTls: false, requireTls: false, requireAuth: false },
    ]);
    expect(config.payload).toBe('raw');
  });

  it('names every variable as a flag', () => {
    const config = withFlags(
      '--max-connections-per-ip',
      '7',
      '--max-bytes-in-flight',
      '20000000',
      '--function-timeout',
      '1.5',
      '--http-listen',
      'off',
      '--bare-lf',
      'reject',
    );
    expect(config.maxConnectionsPerIp).toBe(7);
    expect(config.maxBytesInFlight).toBe(20_000_000);
    expect(config.functionTimeoutMs).toBe(1500);
    expect(config.httpListen).toBeNull();
    expect(config.bareLf).toBe('reject');
  });

  it('reads a boolean flag alone as true, and takes a boolean word after it', () => {
    expect(withFlags('--auth-allow-insecure').authAllowInsecure).toBe(true);
    expect(withFlags('--auth-allow-insecure', 'no').authAllowInsecure).toBe(false);
    expect(withFlags('--auth-allow-insecure=false').authAllowInsecure).toBe(false);
    const config = withFlags('--auth-allow-insecure', '--log-level', 'debug');
    expect(config.authAllowInsecure).toBe(true);
    expect(config.logLevel).toBe('debug');
  });

  it('treats --name= as the default', () => {
    expect(withFlags('--max-recipients=').maxRecipients).toBe(100);
  });

  const errors: [argv: string[], variable: string, message: string][] = [
    [
      ['--max-recipients'],
      'MXHOOK_MAX_RECIPIENTS',
      'MXHOOK_MAX_RECIPIENTS: flag --max-recipients needs a value',
    ],
    [
      ['--max-recipients', '--log-level', 'debug'],
      'MXHOOK_MAX_RECIPIENTS',
      'MXHOOK_MAX_RECIPIENTS: flag --max-recipients needs a value',
    ],
    [
      ['--max-mesage-size', '10'],
      'MXHOOK_MAX_MESAGE_SIZE',
      'MXHOOK_MAX_MESAGE_SIZE: unknown flag --max-mesage-size (did you mean --max-message-size?)',
    ],
    [['--verbose'], 'MXHOOK_VERBOSE', 'MXHOOK_VERBOSE: unknown flag --verbose'],
    [
      ['--Listen', '0.0.0.0:25'],
      'MXHOOK_LISTEN',
      'MXHOOK_LISTEN: unknown flag --Listen (did you mean --listen?)',
    ],
    [
      ['--max_recipients', '5'],
      'MXHOOK_MAX_RECIPIENTS',
      'MXHOOK_MAX_RECIPIENTS: unknown flag --max_recipients (did you mean --max-recipients?)',
    ],
    [
      ['--listen', '0.0.0.0:25', '--listen=0.0.0.0:26'],
      'MXHOOK_LISTEN',
      'MXHOOK_LISTEN: flag --listen is given more than once',
    ],
    [
      ['serve'],
      'argv',
      'argv: unexpected argument "serve"; settings are flags such as --listen 0.0.0.0:25',
    ],
    [
      ['-h'],
      'argv',
      'argv: unexpected argument "-h"; settings are flags such as --listen 0.0.0.0:25',
    ],
    [
      ['--max-message-size', 'ten'],
      'MXHOOK_MAX_MESSAGE_SIZE',
      'MXHOOK_MAX_MESSAGE_SIZE: "ten" is not a whole number of bytes',
    ],
  ];

  it.each(errors)('refuses %j', (argv, variable, message) => {
    const error = configError(() => withFlags(...argv));
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.variable).toBe(variable);
    expect(error.message).toBe(message);
  });
});

describe('unknown variables', () => {
  it('ignores a misspelt variable in the environment with a warning that suggests the name', () => {
    const config = loadConfig({ env: { ...BASE, MXHOOK_LISTN: '0.0.0.0:25' } });
    expect(config.listen[0]).toMatchObject({ host: '127.0.0.1', port: 2525 });
    expect(config.warnings).toEqual([
      {
        variable: 'MXHOOK_LISTN',
        message: 'unknown variable in the environment, ignored (did you mean MXHOOK_LISTEN?)',
      },
    ]);
  });

  it("ignores a function's own variable in the same shell, with nothing close to suggest", () => {
    // The example Worker's setting: `wrangler dev` and the gateway are often run from one shell.
    const config = loadConfig({ env: { ...BASE, MXHOOK_AUDIENCE: 'https://fn.example/' } });
    expect(config.warnings).toEqual([
      { variable: 'MXHOOK_AUDIENCE', message: 'unknown variable in the environment, ignored' },
    ]);
  });

  it('has no warnings when every MXHOOK_ name is known', () => {
    expect(loadConfig({ env: BASE }).warnings).toEqual([]);
  });

  it('refuses a misspelt variable in .env, naming the file', () => {
    writeFileSync(join(dir, '.env'), 'MXHOOK_PAYLAOD=raw\n');
    const error = configError(() => loadConfig({ env: BASE, cwd: dir }));
    expect(error.variable).toBe('MXHOOK_PAYLAOD');
    expect(error.message).toBe(
      `MXHOOK_PAYLAOD: unknown variable in ${join(dir, '.env')} (did you mean MXHOOK_PAYLOAD?)`,
    );
  });
});
