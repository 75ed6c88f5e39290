// loadConfig: every default, every variable's parse, the cross-checks, and freezing.
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../gateway/config/load-config.ts';
import { ConfigError } from '../../../../gateway/errors.ts';

const SECRET = 'a-development-secret-of-32-chars!';
const WITH_FUNCTION = {
  MXHOOK_FUNCTION_URL: 'https://fn.example/hooks',
  MXHOOK_SIGNING_SECRET: SECRET,
};

function load(env: Record<string, string>) {
  return loadConfig({ env: { ...WITH_FUNCTION, ...env } });
}

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig defaults', () => {
  it('fills every field from the defaults', () => {
    const config = loadConfig({ env: {}, requireFunctionUrl: false });
    expect({
      ...config,
      trustedProxies: null,
      allowNetworks: null,
      denyNetworks: null,
      relayNetworks: null,
    }).toEqual({
      listen: [
        {
          host: '127.0.0.1',
          port: 2525,
          implicitTls: false,
          requireTls: false,
          requireAuth: false,
        },
      ],
      hostname: hostname(),
      banner: 'ESMTP mxhook',
      functionUrl: null,
      functionInsecureHttp: false,
      steps: ['rcpt', 'data'],
      signingSecrets: [],
      signingKeys: [],
      signatureFormat: 'jws',
      tls: null,
      tlsCertificates: [],
      maxMessageBytes: 10485760,
      maxRecipients: 100,
      maxConnections: 1000,
      maxConnectionsPerIp: 50,
      maxConnectionsPerIpPerMinute: 120,
      maxBadCommands: 20,
      maxJunkCommands: 100,
      maxSessionDurationMs: 3_600_000,
      maxBytesInFlight: 268435456,
      idleTimeoutMs: 300_000,
      dataTimeoutMs: 600_000,
      functionTimeoutMs: 30_000,
      shutdownGraceMs: 30_000,
      payload: 'both',
      bareLf: 'normalize',
      longLines: 'accept',
      trustedProxies: null,
      allowNetworks: null,
      denyNetworks: null,
      dnsServers: [],
      authChecks: ['rdns', 'spf', 'sender', 'dkim', 'dmarc', 'arc'],
      dnsTimeoutMs: 5_000,
      queue: null,
      relayNetworks: null,
      deliveryConcurrency: 100,
      retryMinMs: 300_000,
      retryMaxMs: 4_000_000,
      queueLifetimeMs: 432_000_000,
      delayWarningMs: 14_400_000,
      dkimSign: [],
      srsSecrets: [],
      srsDomain: '',
      replyWindowMs: 604_800_000,
      deliveryTls: { rules: [], otherwise: 'opportunistic' },
      mtaSts: true,
      deliveryPort: 25,
      auth: 'off',
      authUsersPath: null,
      authAllowInsecure: false,
      requireTls: false,
      requireAuth: false,
      httpListen: { host: '127.0.0.1', port: 9025 },
      audit: 'off',
      adminToken: null,
      publicUrl: null,
      sendTokens: [],
      sendSigned: false,
      sendFromDomains: [],
      deliveryReports: 'off',
      archive: null,
      retentionDays: 30,
      inlineMaxBytes: 5_242_880,
      logLevel: 'info',
      warnings: [],
    });
    expect(config.trustedProxies.blocks).toEqual([]);
    expect(config.allowNetworks.blocks).toEqual([]);
    expect(config.denyNetworks.blocks).toEqual([]);
  });

  it('treats an empty or blank value as the default', () => {
    const config = load({ MXHOOK_LISTEN: '', MXHOOK_MAX_RECIPIENTS: '  ', MXHOOK_STEPS: '' });
    expect(config.listen).toEqual([
      { host: '127.0.0.1', port: 2525, implicitTls: false, requireTls: false, requireAuth: false },
    ]);
    expect(config.maxRecipients).toBe(100);
    expect(config.steps).toEqual(['rcpt', 'data']);
  });

  it('returns a deeply frozen object', () => {
    const config = load({ MXHOOK_LISTEN: '0.0.0.0:25,[::]:25' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.listen)).toBe(true);
    expect(Object.isFrozen(config.listen[1])).toBe(true);
    expect(Object.isFrozen(config.steps)).toBe(true);
    expect(Object.isFrozen(config.signingSecrets)).toBe(true);
    expect(Object.isFrozen(config.httpListen)).toBe(true);
    expect(Object.isFrozen(config.trustedProxies)).toBe(true);
    expect(() => {
      (config as { maxRecipients: number }).maxRecipients = 1;
    }).toThrow(TypeError);
  });

  it('does not read process.env', () => {
    process.env['MXHOOK_MAX_RECIPIENTS'] = '7';
    try {
      expect(load({}).maxRecipients).toBe(100);
    } finally {
      delete process.env['MXHOOK_MAX_RECIPIENTS'];
    }
  });
});

describe('loadConfig parses each variable', () => {
  const cases: [variable: string, value: string, field: string, expected: unknown][] = [
    [
      'MXHOOK_LISTEN',
      '0.0.0.0:25',
      'listen',
      [{ host: '0.0.0.0', port: 25, implicitTls: false, requireTls: false, requireAuth: false }],
    ],
    [
      'MXHOOK_LISTEN',
      ' 127.0.0.1:2525 , [::1]:2525,localhost:0,localhost:0',
      'listen',
      [
        {
          host: '127.0.0.1',
          port: 2525,
          implicitTls: false,
          requireTls: false,
          requireAuth: false,
        },
        { host: '::1', port: 2525, implicitTls: false, requireTls: false, requireAuth: false },
        { host: 'localhost', port: 0, implicitTls: false, requireTls: false, requireAuth: false },
        { host: 'localhost', port: 0, implicitTls: false, requireTls: false, requireAuth: false },
      ],
    ],
    ['MXHOOK_HOSTNAME', 'mx1.example.com', 'hostname', 'mx1.example.com'],
    ['MXHOOK_HOSTNAME', 'localhost', 'hostname', 'localhost'],
    ['MXHOOK_HOSTNAME', 'xn--bcher-kva.example', 'hostname', 'xn--bcher-kva.example'],
    ['MXHOOK_BANNER', ' ESMTP Postfix (Debian) ', 'banner', 'ESMTP Postfix (Debian)'],
    ['MXHOOK_BANNER', 'x'.repeat(250), 'banner', 'x'.repeat(250)],
    [
      'MXHOOK_DNS_SERVERS',
      '192.0.2.53, 192.0.2.54:5353, 2001:db8::53, [2001:db8::54]:5353',
      'dnsServers',
      ['192.0.2.53', '192.0.2.54:5353', '2001:db8::53', '[2001:db8::54]:5353'],
    ],
    ['MXHOOK_AUTH_CHECKS', 'DKIM, spf,dkim', 'authChecks', ['spf', 'dkim']],
    ['MXHOOK_AUTH_CHECKS', 'none', 'authChecks', []],
    ['MXHOOK_DNS_TIMEOUT', '0.5', 'dnsTimeoutMs', 500],
    [
      'MXHOOK_STEPS',
      'connect,helo,auth,mail,rcpt,data',
      'steps',
      ['connect', 'helo', 'auth', 'mail', 'rcpt', 'data'],
    ],
    ['MXHOOK_STEPS', 'rcpt', 'steps', ['rcpt', 'data']],
    ['MXHOOK_STEPS', 'DATA, Mail, connect, mail', 'steps', ['connect', 'mail', 'data']],
    ['MXHOOK_STEPS', 'data', 'steps', ['data']],
    [
      'MXHOOK_SIGNING_SECRET',
      `${SECRET}, ${'b'.repeat(40)}`,
      'signingSecrets',
      [SECRET, 'b'.repeat(40)],
    ],
    ['MXHOOK_MAX_MESSAGE_SIZE', '1', 'maxMessageBytes', 1],
    ['MXHOOK_MAX_MESSAGE_SIZE', '52428800', 'maxMessageBytes', 52428800],
    ['MXHOOK_MAX_RECIPIENTS', '1000', 'maxRecipients', 1000],
    ['MXHOOK_MAX_CONNECTIONS', '20000', 'maxConnections', 20000],
    ['MXHOOK_MAX_CONNECTIONS_PER_IP', '3', 'maxConnectionsPerIp', 3],
    ['MXHOOK_MAX_BAD_COMMANDS', '5', 'maxBadCommands', 5],
    ['MXHOOK_MAX_JUNK_COMMANDS', '7', 'maxJunkCommands', 7],
    ['MXHOOK_MAX_SESSION_DURATION', '90', 'maxSessionDurationMs', 90_000],
    ['MXHOOK_MAX_BYTES_IN_FLIGHT', '1073741824', 'maxBytesInFlight', 1073741824],
    ['MXHOOK_IDLE_TIMEOUT', '60', 'idleTimeoutMs', 60_000],
    ['MXHOOK_IDLE_TIMEOUT', '2147483', 'idleTimeoutMs', 2_147_483_000],
    ['MXHOOK_DATA_TIMEOUT', '180', 'dataTimeoutMs', 180_000],
    ['MXHOOK_FUNCTION_TIMEOUT', '0.5', 'functionTimeoutMs', 500],
    ['MXHOOK_FUNCTION_TIMEOUT', '0.001', 'functionTimeoutMs', 1],
    ['MXHOOK_FUNCTION_TIMEOUT', '2.25', 'functionTimeoutMs', 2250],
    ['MXHOOK_SHUTDOWN_GRACE', '0', 'shutdownGraceMs', 0],
    ['MXHOOK_SHUTDOWN_GRACE', '1.5', 'shutdownGraceMs', 1500],
    ['MXHOOK_SIGNATURE_FORMAT', 'JWS', 'signatureFormat', 'jws'],
    ['MXHOOK_PAYLOAD', 'raw', 'payload', 'raw'],
    ['MXHOOK_PAYLOAD', 'PARSED', 'payload', 'parsed'],
    ['MXHOOK_BARE_LF', 'reject', 'bareLf', 'reject'],
    ['MXHOOK_LONG_LINES', 'reject', 'longLines', 'reject'],
    ['MXHOOK_AUTH_ALLOW_INSECURE', 'yes', 'authAllowInsecure', true],
    ['MXHOOK_AUTH_ALLOW_INSECURE', 'TRUE', 'authAllowInsecure', true],
    ['MXHOOK_AUTH_ALLOW_INSECURE', '1', 'authAllowInsecure', true],
    ['MXHOOK_AUTH_ALLOW_INSECURE', 'no', 'authAllowInsecure', false],
    ['MXHOOK_AUTH_ALLOW_INSECURE', 'false', 'authAllowInsecure', false],
    ['MXHOOK_AUTH_ALLOW_INSECURE', '0', 'authAllowInsecure', false],
    ['MXHOOK_HTTP_LISTEN', '0.0.0.0:9100', 'httpListen', { host: '0.0.0.0', port: 9100 }],
    ['MXHOOK_HTTP_LISTEN', '[::]:9025', 'httpListen', { host: '::', port: 9025 }],
    ['MXHOOK_HTTP_LISTEN', 'off', 'httpListen', null],
    ['MXHOOK_HTTP_LISTEN', 'OFF', 'httpListen', null],
    ['MXHOOK_LOG_LEVEL', 'fatal', 'logLevel', 'fatal'],
    ['MXHOOK_LOG_LEVEL', 'error', 'logLevel', 'error'],
    ['MXHOOK_LOG_LEVEL', 'warn', 'logLevel', 'warn'],
    ['MXHOOK_LOG_LEVEL', 'debug', 'logLevel', 'debug'],
    ['MXHOOK_LOG_LEVEL', 'trace', 'logLevel', 'trace'],
    ['MXHOOK_LOG_LEVEL', 'silent', 'logLevel', 'silent'],
  ];

  it.each(cases)('%s=%j → %s', (variable, value, field, expected) => {
    const config = load({ [variable]: value }) as unknown as Record<string, unknown>;
    expect(config[field]).toEqual(expected);
  });

  it('normalises the function URL so steps join onto its path', () => {
    for (const [value, href] of [
      ['https://fn.example/hooks', 'https://fn.example/hooks/'],
      ['https://fn.example/hooks/', 'https://fn.example/hooks/'],
      ['https://fn.example', 'https://fn.example/'],
      ['http://127.0.0.1:8787', 'http://127.0.0.1:8787/'],
    ] as const) {
      const url = load({ MXHOOK_FUNCTION_URL: value }).functionUrl;
      expect(url?.href).toBe(href);
      expect(new URL('rcpt', url ?? undefined).href).toBe(`${href}rcpt`);
    }
  });

  it('builds CIDR matchers for the network lists', () => {
    const config = load({
      MXHOOK_TRUSTED_PROXIES: '10.0.0.0/8',
      MXHOOK_ALLOW_NETWORKS: '192.0.2.0/24, 2001:db8::/32',
      MXHOOK_DENY_NETWORKS: '192.0.2.66',
    });
    expect(config.trustedProxies.blocks).toEqual([
      { family: 'ipv4', network: '10.0.0.0', prefix: 8 },
    ]);
    expect(config.trustedProxies.contains('::ffff:10.9.8.7')).toBe(true);
    expect(config.allowNetworks.blocks).toEqual([
      { family: 'ipv4', network: '192.0.2.0', prefix: 24 },
      { family: 'ipv6', network: '2001:db8::', prefix: 32 },
    ]);
    expect(config.denyNetworks.contains('192.0.2.66')).toBe(true);
    expect(config.denyNetworks.contains('192.0.2.67')).toBe(false);
  });

  it('keeps host names in the access lists apart from their CIDR blocks, for the gateway to resolve', () => {
    const config = load({
      MXHOOK_ALLOW_NETWORKS: '192.0.2.0/24, Relay.Example.com, localhost, relay.example.com',
      MXHOOK_DENY_NETWORKS: 'spam.example',
    });
    expect(config.allowNetworks.hosts).toEqual(['relay.example.com', 'localhost']);
    expect(config.allowNetworks.blocks).toEqual([
      { family: 'ipv4', network: '192.0.2.0', prefix: 24 },
    ]);
    expect(config.denyNetworks.hosts).toEqual(['spam.example']);
    expect(config.denyNetworks.blocks).toEqual([]);
    expect(load({ MXHOOK_ALLOW_NETWORKS: '192.0.2.0/24' }).allowNetworks.hosts).toBeUndefined();
  });

  it('does not require a function URL when the caller says so', () => {
    const config = loadConfig({ env: {}, requireFunctionUrl: false });
    expect(config.functionUrl).toBeNull();
  });

  it('adds the auth step when the function checks AUTH', () => {
    const config = load({ MXHOOK_AUTH: 'function', MXHOOK_AUTH_ALLOW_INSECURE: 'true' });
    expect(config.auth).toBe('function');
    expect(config.steps).toEqual(['auth', 'rcpt', 'data']);
  });

  it('allows maxBytesInFlight equal to maxMessageBytes', () => {
    const config = load({ MXHOOK_MAX_MESSAGE_SIZE: '1000', MXHOOK_MAX_BYTES_IN_FLIGHT: '1000' });
    expect(config.maxBytesInFlight).toBe(1000);
  });
});

describe('loadConfig refuses bad values, naming the variable', () => {
  const errors: [variable: string, value: string, message: string][] = [
    ['MXHOOK_LISTEN', '2525', 'MXHOOK_LISTEN: "2525" has no port (write host:port)'],
    [
      'MXHOOK_LISTEN',
      '::1:2525',
      'MXHOOK_LISTEN: "::1:2525": an IPv6 address goes in brackets, as in [::1]:2525',
    ],
    [
      'MXHOOK_LISTEN',
      '[::1]2525',
      'MXHOOK_LISTEN: "[::1]2525" is not [ipv6-address]:port (for example [::1]:2525)',
    ],
    [
      'MXHOOK_LISTEN',
      '[1.2.3.4]:25',
      'MXHOOK_LISTEN: "[1.2.3.4]:25" is not [ipv6-address]:port (for example [::1]:2525)',
    ],
    [
      'MXHOOK_LISTEN',
      'bad_host:25',
      'MXHOOK_LISTEN: "bad_host:25": "bad_host" is not an IP address or host name',
    ],
    ['MXHOOK_LISTEN', ':25', 'MXHOOK_LISTEN: ":25": "" is not an IP address or host name'],
    [
      'MXHOOK_LISTEN',
      '127.0.0.1:65536',
      'MXHOOK_LISTEN: "127.0.0.1:65536": "65536" is not a port from 0 to 65535',
    ],
    [
      'MXHOOK_LISTEN',
      '127.0.0.1:smtp',
      'MXHOOK_LISTEN: "127.0.0.1:smtp": "smtp" is not a port from 0 to 65535',
    ],
    [
      'MXHOOK_LISTEN',
      '127.0.0.1:',
      'MXHOOK_LISTEN: "127.0.0.1:": "" is not a port from 0 to 65535',
    ],
    [
      'MXHOOK_LISTEN',
      '0.0.0.0:465/ssl',
      'MXHOOK_LISTEN: "0.0.0.0:465/ssl" has an unknown suffix "/ssl" (known: /tls, /require-tls, /require-auth)',
    ],
    [
      'MXHOOK_LISTEN',
      '0.0.0.0:25,0.0.0.0:25',
      'MXHOOK_LISTEN: "0.0.0.0:25" is listed more than once',
    ],
    [
      'MXHOOK_LISTEN',
      '0.0.0.0:25,',
      'MXHOOK_LISTEN: the list has an empty entry (two commas in a row or a comma at an end)',
    ],
    [
      'MXHOOK_LISTEN',
      '0.0.0.0:465/tls',
      'MXHOOK_LISTEN: the /tls listener on port 465 needs MXHOOK_TLS_CERT and MXHOOK_TLS_KEY',
    ],
    [
      'MXHOOK_HOSTNAME',
      'bad_host.example',
      'MXHOOK_HOSTNAME: "bad_host.example" is not a domain name (dot-separated labels of letters, digits and hyphens, RFC 5321 §4.1.2)',
    ],
    [
      'MXHOOK_HOSTNAME',
      '192.0.2.1',
      'MXHOOK_HOSTNAME: "192.0.2.1" is not a domain name (dot-separated labels of letters, digits and hyphens, RFC 5321 §4.1.2)',
    ],
    [
      'MXHOOK_HOSTNAME',
      'mx.example.',
      'MXHOOK_HOSTNAME: "mx.example." is not a domain name (dot-separated labels of letters, digits and hyphens, RFC 5321 §4.1.2)',
    ],
    [
      'MXHOOK_HOSTNAME',
      '-mx.example',
      'MXHOOK_HOSTNAME: "-mx.example" is not a domain name (dot-separated labels of letters, digits and hyphens, RFC 5321 §4.1.2)',
    ],
    [
      'MXHOOK_HOSTNAME',
      `${'a'.repeat(64)}.example`,
      `MXHOOK_HOSTNAME: "${'a'.repeat(64)}.example" is not a domain name (dot-separated labels of letters, digits and hyphens, RFC 5321 §4.1.2)`,
    ],
    [
      'MXHOOK_FUNCTION_URL',
      'fn.example',
      'MXHOOK_FUNCTION_URL: "fn.example" is not an absolute URL (for example https://mx.example.workers.dev)',
    ],
    [
      'MXHOOK_FUNCTION_URL',
      'ftp://fn.example/',
      'MXHOOK_FUNCTION_URL: must be an http or https URL, not ftp:',
    ],
    [
      'MXHOOK_FUNCTION_URL',
      'https://user:pw@fn.example/',
      'MXHOOK_FUNCTION_URL: must not contain a user name or password',
    ],
    [
      'MXHOOK_FUNCTION_URL',
      'https://fn.example/?a=b',
      'MXHOOK_FUNCTION_URL: must not have a query or fragment: the step name is appended to its path',
    ],
    [
      'MXHOOK_FUNCTION_URL',
      'https://fn.example/#x',
      'MXHOOK_FUNCTION_URL: must not have a query or fragment: the step name is appended to its path',
    ],
    [
      'MXHOOK_STEPS',
      'rcpt,dta',
      'MXHOOK_STEPS: "dta" is not a step (connect, helo, auth, mail, rcpt, data)',
    ],
    [
      'MXHOOK_STEPS',
      'rcpt,,data',
      'MXHOOK_STEPS: the list has an empty entry (two commas in a row or a comma at an end)',
    ],
    [
      'MXHOOK_SIGNING_SECRET',
      'short',
      'MXHOOK_SIGNING_SECRET: the secret is 5 characters long; at least 32 are required (try: openssl rand -base64 32)',
    ],
    [
      'MXHOOK_SIGNING_SECRET',
      `${SECRET},${'c'.repeat(31)}`,
      'MXHOOK_SIGNING_SECRET: secret 2 of 2 is 31 characters long; at least 32 are required (try: openssl rand -base64 32)',
    ],
    [
      'MXHOOK_MAX_MESSAGE_SIZE',
      'ten',
      'MXHOOK_MAX_MESSAGE_SIZE: "ten" is not a whole number of bytes',
    ],
    [
      'MXHOOK_MAX_MESSAGE_SIZE',
      '10MB',
      'MXHOOK_MAX_MESSAGE_SIZE: "10MB" is not a whole number of bytes',
    ],
    [
      'MXHOOK_MAX_MESSAGE_SIZE',
      '-1',
      'MXHOOK_MAX_MESSAGE_SIZE: "-1" is not a whole number of bytes',
    ],
    [
      'MXHOOK_MAX_MESSAGE_SIZE',
      '1.5',
      'MXHOOK_MAX_MESSAGE_SIZE: "1.5" is not a whole number of bytes',
    ],
    ['MXHOOK_MAX_MESSAGE_SIZE', '0', 'MXHOOK_MAX_MESSAGE_SIZE: must be at least 1, not 0'],
    [
      'MXHOOK_MAX_MESSAGE_SIZE',
      '99999999999999999',
      'MXHOOK_MAX_MESSAGE_SIZE: 99999999999999999 is too large',
    ],
    [
      'MXHOOK_MAX_RECIPIENTS',
      'many',
      'MXHOOK_MAX_RECIPIENTS: "many" is not a whole number of recipients',
    ],
    ['MXHOOK_MAX_RECIPIENTS', '0', 'MXHOOK_MAX_RECIPIENTS: must be at least 1, not 0'],
    [
      'MXHOOK_MAX_CONNECTIONS',
      '1e3',
      'MXHOOK_MAX_CONNECTIONS: "1e3" is not a whole number of connections',
    ],
    [
      'MXHOOK_MAX_CONNECTIONS_PER_IP',
      '0',
      'MXHOOK_MAX_CONNECTIONS_PER_IP: must be at least 1, not 0',
    ],
    [
      'MXHOOK_MAX_BAD_COMMANDS',
      'x',
      'MXHOOK_MAX_BAD_COMMANDS: "x" is not a whole number of commands',
    ],
    ['MXHOOK_MAX_JUNK_COMMANDS', '0', 'MXHOOK_MAX_JUNK_COMMANDS: must be at least 1, not 0'],
    [
      'MXHOOK_MAX_SESSION_DURATION',
      'an hour',
      'MXHOOK_MAX_SESSION_DURATION: "an hour" is not a number of seconds',
    ],
    [
      'MXHOOK_MAX_BYTES_IN_FLIGHT',
      '1000',
      'MXHOOK_MAX_BYTES_IN_FLIGHT: 1000 is below MXHOOK_MAX_MESSAGE_SIZE (10485760), so a message of the largest allowed size could never be received',
    ],
    ['MXHOOK_IDLE_TIMEOUT', '5m', 'MXHOOK_IDLE_TIMEOUT: "5m" is not a number of seconds'],
    ['MXHOOK_IDLE_TIMEOUT', '0', 'MXHOOK_IDLE_TIMEOUT: must be at least 0.001 seconds, not 0'],
    [
      'MXHOOK_IDLE_TIMEOUT',
      '2147484',
      'MXHOOK_IDLE_TIMEOUT: must be at most 2147483 seconds (about 24 days), not 2147484',
    ],
    ['MXHOOK_DATA_TIMEOUT', '.5', 'MXHOOK_DATA_TIMEOUT: ".5" is not a number of seconds'],
    [
      'MXHOOK_FUNCTION_TIMEOUT',
      '0.0001',
      'MXHOOK_FUNCTION_TIMEOUT: must be at least 0.001 seconds, not 0.0001',
    ],
    ['MXHOOK_FUNCTION_TIMEOUT', '-1', 'MXHOOK_FUNCTION_TIMEOUT: "-1" is not a number of seconds'],
    [
      'MXHOOK_SHUTDOWN_GRACE',
      '0.0001',
      'MXHOOK_SHUTDOWN_GRACE: must be at least 0.001 seconds or exactly 0, not 0.0001',
    ],
    [
      'MXHOOK_SIGNATURE_FORMAT',
      'svix',
      'MXHOOK_SIGNATURE_FORMAT: "svix" is not one of jws, standard-webhooks',
    ],
    ['MXHOOK_PAYLOAD', 'xml', 'MXHOOK_PAYLOAD: "xml" is not one of raw, parsed, both'],
    ['MXHOOK_BARE_LF', 'fix', 'MXHOOK_BARE_LF: "fix" is not one of normalize, reject'],
    ['MXHOOK_LONG_LINES', 'wrap', 'MXHOOK_LONG_LINES: "wrap" is not one of accept, reject'],
    [
      'MXHOOK_TRUSTED_PROXIES',
      '10.0.0.0/33',
      'MXHOOK_TRUSTED_PROXIES: "10.0.0.0/33" has a prefix length over 32',
    ],
    [
      'MXHOOK_ALLOW_NETWORKS',
      'relay_host',
      'MXHOOK_ALLOW_NETWORKS: "relay_host" is not an IPv4 or IPv6 address or CIDR block',
    ],
    [
      'MXHOOK_ALLOW_NETWORKS',
      'relay.example,,10.0.0.0/8',
      'MXHOOK_ALLOW_NETWORKS: the list has an empty entry (two commas in a row or a comma at an end)',
    ],
    [
      'MXHOOK_BANNER',
      'ESMTP\r\n250 fake',
      'MXHOOK_BANNER: "ESMTP\\r\\n250 fake" has a character that is not printable ASCII',
    ],
    [
      'MXHOOK_BANNER',
      'ESMTP – mx',
      'MXHOOK_BANNER: "ESMTP – mx" has a character that is not printable ASCII',
    ],
    [
      'MXHOOK_BANNER',
      'x'.repeat(251),
      'MXHOOK_BANNER: is 251 characters long, more than 250 (the greeting must fit in one 512-octet line)',
    ],
    [
      'MXHOOK_DNS_SERVERS',
      'dns.example',
      'MXHOOK_DNS_SERVERS: "dns.example" is not ip, ip:port or [ipv6]:port (a DNS server is given by its address)',
    ],
    [
      'MXHOOK_DNS_SERVERS',
      '[192.0.2.53]:53',
      'MXHOOK_DNS_SERVERS: "[192.0.2.53]:53" is not ip, ip:port or [ipv6]:port (a DNS server is given by its address)',
    ],
    [
      'MXHOOK_DNS_SERVERS',
      '192.0.2.53:0',
      'MXHOOK_DNS_SERVERS: "192.0.2.53:0": the port must be from 1 to 65535',
    ],
    [
      'MXHOOK_DENY_NETWORKS',
      '10.1.2.3/8',
      'MXHOOK_DENY_NETWORKS: "10.1.2.3/8" has host bits set (did you mean 10.0.0.0/8?)',
    ],
    ['MXHOOK_AUTH', 'ldap', 'MXHOOK_AUTH: "ldap" is not one of off, function, users'],
    [
      'MXHOOK_AUTH',
      'function',
      'MXHOOK_AUTH: "function" needs MXHOOK_TLS_CERT and MXHOOK_TLS_KEY (AUTH is offered only over TLS), or MXHOOK_AUTH_ALLOW_INSECURE=true for local testing',
    ],
    [
      'MXHOOK_AUTH_ALLOW_INSECURE',
      'maybe',
      'MXHOOK_AUTH_ALLOW_INSECURE: "maybe" is not a boolean (true, false, yes, no, 1 or 0)',
    ],
    ['MXHOOK_REQUIRE_TLS', 'true', 'MXHOOK_REQUIRE_TLS: needs MXHOOK_TLS_CERT and MXHOOK_TLS_KEY'],
    [
      'MXHOOK_REQUIRE_TLS',
      'on',
      'MXHOOK_REQUIRE_TLS: "on" is not a boolean (true, false, yes, no, 1 or 0)',
    ],
    [
      'MXHOOK_REQUIRE_AUTH',
      'true',
      'MXHOOK_REQUIRE_AUTH: needs MXHOOK_AUTH=function or MXHOOK_AUTH=users',
    ],
    [
      'MXHOOK_HTTP_LISTEN',
      'disabled',
      'MXHOOK_HTTP_LISTEN: "disabled" has no port (write host:port)',
    ],
    [
      'MXHOOK_HTTP_LISTEN',
      '127.0.0.1:9025,127.0.0.1:9026',
      'MXHOOK_HTTP_LISTEN: takes a single host:port, or off',
    ],
    [
      'MXHOOK_LOG_LEVEL',
      'verbose',
      'MXHOOK_LOG_LEVEL: "verbose" is not one of fatal, error, warn, info, debug, trace, silent',
    ],
  ];

  it.each(errors)('%s=%j', (variable, value, message) => {
    const error = configError(() => load({ [variable]: value }));
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.variable).toBe(variable);
    expect(error.message).toBe(message);
  });

  it('requires a function URL by default', () => {
    const error = configError(() => loadConfig({ env: {} }));
    expect(error.variable).toBe('MXHOOK_FUNCTION_URL');
    expect(error.message).toBe(
      'MXHOOK_FUNCTION_URL: is required: the base URL of your function, e.g. https://mx.example.workers.dev',
    );
  });

  it('refuses an http:// function URL to a host other than loopback, naming both variables', () => {
    for (const url of [
      'http://fn.example/hooks',
      'http://10.0.0.5:8787/',
      'http://[2001:db8::1]/',
    ]) {
      const error = configError(() => load({ MXHOOK_FUNCTION_URL: url }));
      expect(error.variable).toBe('MXHOOK_FUNCTION_URL');
      expect(error.message).toMatch(
        /^MXHOOK_FUNCTION_URL: http:\/\/ to \S+ would send every call, messages and passwords included, in clear: use https, or set MXHOOK_FUNCTION_INSECURE_HTTP=true$/,
      );
    }
  });

  it('accepts an http:// function URL to loopback, or anywhere with MXHOOK_FUNCTION_INSECURE_HTTP', () => {
    for (const url of [
      'http://127.0.0.1:8787',
      'http://127.1.2.3/',
      'http://[::1]:8787/',
      'http://localhost:8787/',
    ]) {
      expect(load({ MXHOOK_FUNCTION_URL: url }).functionUrl?.protocol).toBe('http:');
    }
    const config = load({
      MXHOOK_FUNCTION_URL: 'http://fn.example/hooks',
      MXHOOK_FUNCTION_INSECURE_HTTP: 'true',
    });
    expect(config.functionUrl?.href).toBe('http://fn.example/hooks/');
    expect(config.functionInsecureHttp).toBe(true);
  });

  it('requires a signing secret or key with a function URL', () => {
    const error = configError(() =>
      loadConfig({ env: { MXHOOK_FUNCTION_URL: 'https://fn.example/' } }),
    );
    expect(error.variable).toBe('MXHOOK_SIGNING_SECRET');
    expect(error.message).toBe(
      'MXHOOK_SIGNING_SECRET: or MXHOOK_SIGNING_KEY is required with MXHOOK_FUNCTION_URL: every function call is signed',
    );
  });

  it('needs a function URL for AUTH by the function', () => {
    const error = configError(() =>
      loadConfig({
        env: { MXHOOK_AUTH: 'function', MXHOOK_AUTH_ALLOW_INSECURE: 'true' },
        requireFunctionUrl: false,
      }),
    );
    expect(error.variable).toBe('MXHOOK_AUTH');
    expect(error.message).toBe('MXHOOK_AUTH: "function" needs MXHOOK_FUNCTION_URL');
  });

  it('needs a users file for AUTH against users', () => {
    const error = configError(() =>
      load({ MXHOOK_AUTH: 'users', MXHOOK_AUTH_ALLOW_INSECURE: 'true' }),
    );
    expect(error.variable).toBe('MXHOOK_AUTH_USERS');
    expect(error.message).toBe('MXHOOK_AUTH_USERS: is required when MXHOOK_AUTH=users');
  });

  it('never puts a secret in its message', () => {
    const secret = 'hunter2-but-longer';
    const error = configError(() => load({ MXHOOK_SIGNING_SECRET: secret }));
    expect(error.message).not.toContain(secret);
  });
});

describe('loadConfig with MXHOOK_SIGNATURE_FORMAT=standard-webhooks', () => {
  const SW = { MXHOOK_SIGNATURE_FORMAT: 'standard-webhooks' };

  it('takes base64 secrets with or without the whsec_ prefix', () => {
    const secrets = [`whsec_${'A'.repeat(43)}=`, 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'];
    const config = load({ ...SW, MXHOOK_SIGNING_SECRET: secrets.join(',') });
    expect(config.signatureFormat).toBe('standard-webhooks');
    expect(config.signingSecrets).toEqual(secrets);
  });

  it('refuses, naming MXHOOK_SIGNING_SECRET, a secret its libraries would not decode', () => {
    const error = configError(() => load(SW));
    expect(error.variable).toBe('MXHOOK_SIGNING_SECRET');
    expect(error.message).toBe(
      'MXHOOK_SIGNING_SECRET: with MXHOOK_SIGNATURE_FORMAT=standard-webhooks, the secret is not a Standard Webhooks secret: base64 (RFC 4648 §4, padded), optionally prefixed whsec_ (try: npx mxhook secret)',
    );
    expect(error.message).not.toContain(SECRET);
  });

  it("refuses a secret outside the spec's 24 to 64 bytes, naming which one", () => {
    const short = `whsec_${Buffer.alloc(20, 1).toString('base64')}`;
    const error = configError(() =>
      load({ ...SW, MXHOOK_SIGNING_SECRET: `whsec_${'A'.repeat(43)}=,${short}` }),
    );
    expect(error.message).toBe(
      'MXHOOK_SIGNING_SECRET: with MXHOOK_SIGNATURE_FORMAT=standard-webhooks, secret 2 of 2 decodes to 20 bytes; Standard Webhooks secrets are 24 to 64 (try: npx mxhook secret)',
    );
  });
});
