// The table of variables: every row parses its default, shows in --help, and reaches the typed
// config from each source.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { helpText } from '../../../../gateway/config/help-text.ts';
import { loadConfig } from '../../../../gateway/config/load-config.ts';
import { allOf } from '../../../../gateway/config/parse-scalars.ts';
import type { GatewayConfig } from '../../../../gateway/config/types.ts';
import {
  defaultOf,
  flagFor,
  SETTINGS,
  VARIABLES,
  variableSpec,
} from '../../../../gateway/config/variables.ts';

const WITH_FUNCTION = {
  MXHOOK_FUNCTION_URL: 'https://fn.example/',
  MXHOOK_SIGNING_SECRET: 'a-development-secret-of-32-chars!',
};

describe('every row', () => {
  it('has a unique MXHOOK_ name and, if a setting, a unique field', () => {
    const names = VARIABLES.map((row) => row.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^MXHOOK_[A-Z0-9_]+$/);
    const fields = SETTINGS.map((row) => row.field);
    expect(new Set(fields).size).toBe(fields.length);
  });

  it('has a placeholder, a default to show and a meaning', () => {
    for (const row of VARIABLES) {
      expect(row.placeholder, row.name).not.toBe('');
      expect(row.defaultText, row.name).not.toBe('');
      expect(row.meaning.endsWith('.'), row.name).toBe(true);
    }
  });

  it.each(SETTINGS.map((row) => [row.name, row] as const))(
    '%s parses its own default',
    (_name, row) => {
      const value = row.kind.parse(row.default, {
        variable: row.name,
        base: process.cwd(),
        text: defaultOf,
      });
      expect(value).toBeDefined();
      if (row.kind.check !== undefined) expect(row.kind.check(value)).toBeNull();
    },
  );

  it('that is no setting of its own is read by one that is', () => {
    for (const row of VARIABLES) {
      if (!('readBy' in row)) continue;
      const reader = variableSpec(row.readBy);
      expect(reader !== undefined && 'field' in reader, row.name).toBe(true);
    }
  });

  it('shows in --help with its flag, name, default and meaning', () => {
    const text = helpText();
    const lines = text.split('\n');
    const unwrapped = text.replaceAll(/\n {6}/g, ' ');
    for (const row of VARIABLES) {
      const line = lines.find((l) => l.startsWith(`  ${flagFor(row.name)} ${row.placeholder} `));
      expect(line, row.name).toBeDefined();
      expect(line?.split(/ {2,}/).slice(2)).toEqual([row.name, row.defaultText]);
      expect(unwrapped, row.name).toContain(row.meaning);
    }
  });
});

describe('a word list for a type defined elsewhere', () => {
  it('must name every member (checked by the compiler)', () => {
    expect(allOf<'a' | 'b'>()(['b', 'a'])).toEqual(['b', 'a']);
    // @ts-expect-error 'c' is missing from the list
    expect(allOf<'a' | 'b' | 'c'>()(['a', 'b'])).toEqual(['a', 'b']);
  });
});

describe('a value reaches the typed config', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mxhook-variables-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const samples: [name: string, text: string, read: (config: GatewayConfig) => unknown][] = [
    ['MXHOOK_MAX_MESSAGE_SIZE', '2048', (config) => config.maxMessageBytes === 2048],
    ['MXHOOK_SHUTDOWN_GRACE', '0', (config) => config.shutdownGraceMs === 0],
    ['MXHOOK_IDLE_TIMEOUT', '1.5', (config) => config.idleTimeoutMs === 1500],
    ['MXHOOK_BARE_LF', 'reject', (config) => config.bareLf === 'reject'],
    ['MXHOOK_LOG_LEVEL', 'debug', (config) => config.logLevel === 'debug'],
    ['MXHOOK_STEPS', 'connect', (config) => config.steps.join() === 'connect,data'],
    ['MXHOOK_HTTP_LISTEN', 'off', (config) => config.httpListen === null],
    [
      'MXHOOK_DENY_NETWORKS',
      '192.0.2.0/24',
      (config) => config.denyNetworks.contains('192.0.2.9') && !config.denyNetworks.contains('::1'),
    ],
    ['MXHOOK_AUTH_ALLOW_INSECURE', 'yes', (config) => config.authAllowInsecure],
    ['MXHOOK_BANNER', 'ESMTP ready', (config) => config.banner === 'ESMTP ready'],
    [
      'MXHOOK_DNS_SERVERS',
      '127.0.0.1:5353',
      (config) => config.dnsServers.join() === '127.0.0.1:5353',
    ],
  ];

  it.each(samples)('%s=%s from a flag', (name, text, read) => {
    const config = loadConfig({ env: WITH_FUNCTION, argv: [flagFor(name), text] });
    expect(read(config)).toBe(true);
  });

  it.each(samples)('%s=%s from the environment', (name, text, read) => {
    const config = loadConfig({ env: { ...WITH_FUNCTION, [name]: text } });
    expect(read(config)).toBe(true);
  });

  it.each(samples)('%s=%s from .env', (name, text, read) => {
    writeFileSync(join(dir, '.env'), `${name}=${text}\n`);
    const config = loadConfig({ env: WITH_FUNCTION, cwd: dir });
    expect(read(config)).toBe(true);
  });

  it('has every field of a setting row, and no other but tls and warnings', () => {
    const config = loadConfig({ env: WITH_FUNCTION });
    expect(Object.keys(config).sort()).toEqual(
      [...SETTINGS.map((row) => row.field), 'tls', 'warnings'].sort(),
    );
  });
});
