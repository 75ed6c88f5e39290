// `mxhook --help`: every variable with its flag, default and meaning, in aligned columns.
import { describe, expect, it } from 'vitest';
import { helpText } from '../../../../gateway/config/help-text.ts';
import { flagFor, VARIABLES } from '../../../../gateway/config/variables.ts';

const DESIGN_VARIABLES = [
  'MXHOOK_LISTEN',
  'MXHOOK_HOSTNAME',
  'MXHOOK_BANNER',
  'MXHOOK_FUNCTION_URL',
  'MXHOOK_FUNCTION_INSECURE_HTTP',
  'MXHOOK_STEPS',
  'MXHOOK_SIGNING_SECRET',
  'MXHOOK_SIGNING_KEY',
  'MXHOOK_SIGNATURE_FORMAT',
  'MXHOOK_TLS_CERT',
  'MXHOOK_TLS_KEY',
  'MXHOOK_MAX_MESSAGE_SIZE',
  'MXHOOK_MAX_RECIPIENTS',
  'MXHOOK_MAX_CONNECTIONS',
  'MXHOOK_MAX_CONNECTIONS_PER_IP',
  'MXHOOK_MAX_CONNECTION_RATE_PER_IP',
  'MXHOOK_IDLE_TIMEOUT',
  'MXHOOK_FUNCTION_TIMEOUT',
  'MXHOOK_PAYLOAD',
  'MXHOOK_TRUSTED_PROXIES',
  'MXHOOK_ALLOW_NETWORKS',
  'MXHOOK_DENY_NETWORKS',
  'MXHOOK_DNS_SERVERS',
  'MXHOOK_DNS_TIMEOUT',
  'MXHOOK_AUTH_CHECKS',
  'MXHOOK_QUEUE',
  'MXHOOK_RELAY_NETWORKS',
  'MXHOOK_DELIVERY_CONCURRENCY',
  'MXHOOK_RETRY_MIN',
  'MXHOOK_RETRY_MAX',
  'MXHOOK_QUEUE_LIFETIME',
  'MXHOOK_DELAY_WARNING',
  'MXHOOK_DELIVERY_PORT',
  'MXHOOK_DELIVERY_TLS',
  'MXHOOK_MTA_STS',
  'MXHOOK_DKIM_SIGN',
  'MXHOOK_SRS_SECRET',
  'MXHOOK_SRS_DOMAIN',
  'MXHOOK_REPLY_WINDOW',
  'MXHOOK_HTTP_LISTEN',
  'MXHOOK_PUBLIC_URL',
  'MXHOOK_AUDIT',
  'MXHOOK_ADMIN_TOKEN',
  'MXHOOK_SEND_TOKEN',
  'MXHOOK_SEND_SIGNED',
  'MXHOOK_SEND_FROM_DOMAINS',
  'MXHOOK_DELIVERY_REPORTS',
  'MXHOOK_ARCHIVE',
  'MXHOOK_ARCHIVE_ENDPOINT',
  'MXHOOK_ARCHIVE_REGION',
  'MXHOOK_ARCHIVE_ACCESS_KEY_ID',
  'MXHOOK_ARCHIVE_SECRET_ACCESS_KEY',
  'MXHOOK_RETENTION_DAYS',
  'MXHOOK_INLINE_MAX',
  'MXHOOK_DATA_TIMEOUT',
  'MXHOOK_BARE_LF',
  'MXHOOK_LONG_LINES',
  'MXHOOK_MAX_BAD_COMMANDS',
  'MXHOOK_MAX_JUNK_COMMANDS',
  'MXHOOK_MAX_SESSION_DURATION',
  'MXHOOK_SHUTDOWN_GRACE',
  'MXHOOK_MAX_BYTES_IN_FLIGHT',
  'MXHOOK_LOG_LEVEL',
  'MXHOOK_AUTH',
  'MXHOOK_AUTH_USERS',
  'MXHOOK_AUTH_ALLOW_INSECURE',
  'MXHOOK_REQUIRE_TLS',
  'MXHOOK_REQUIRE_AUTH',
];

describe('helpText', () => {
  const text = helpText();
  const lines = text.split('\n');
  const rows = lines.filter((line) => line.startsWith('  --'));

  it('starts with the usage line and ends with a newline', () => {
    expect(lines[0]).toBe('Usage: mxhook serve [--flag value ...]');
    expect(text.endsWith('\n')).toBe(true);
  });

  it('lists exactly the variables the design and the lead name, each once', () => {
    expect(VARIABLES.map((spec) => spec.name).sort()).toEqual([...DESIGN_VARIABLES].sort());
    expect(rows).toHaveLength(DESIGN_VARIABLES.length);
    for (const name of DESIGN_VARIABLES) {
      expect(rows.filter((row) => row.includes(` ${name} `)).length).toBe(1);
    }
  });

  it('derives each flag from its variable', () => {
    expect(flagFor('MXHOOK_MAX_CONNECTIONS_PER_IP')).toBe('--max-connections-per-ip');
    for (const spec of VARIABLES) {
      expect(rows.some((row) => row.startsWith(`  ${flagFor(spec.name)} `))).toBe(true);
    }
  });

  it('aligns the variable and default columns', () => {
    const header = lines.find((line) => line.startsWith('  FLAG'));
    expect(header).toBeDefined();
    const variableColumn = header?.indexOf('VARIABLE');
    const defaultColumn = header?.indexOf('DEFAULT');
    for (const [index, spec] of VARIABLES.entries()) {
      expect(rows[index]?.indexOf(spec.name)).toBe(variableColumn);
      expect(rows[index]?.slice(defaultColumn)).toBe(spec.defaultText);
    }
  });

  it('shows flag, variable, default and meaning', () => {
    const index = lines.findIndex((line) => line.startsWith('  --max-message-size'));
    expect(lines[index]).toBe(
      '  --max-message-size <bytes>            MXHOOK_MAX_MESSAGE_SIZE            10485760',
    );
    expect(lines[index + 1]).toBe(
      '      Largest message accepted, in bytes; announced as SIZE (RFC 1870).',
    );
    expect(lines.find((line) => line.startsWith('  --http-listen'))).toBe(
      '  --http-listen <host:port>|off         MXHOOK_HTTP_LISTEN                 127.0.0.1:9025',
    );
  });

  it('keeps every line within 100 columns and free of trailing spaces', () => {
    for (const line of lines) {
      expect(line.length).toBeLessThanOrEqual(100);
      expect(line).toBe(line.trimEnd());
    }
  });
});
