// One validator: createGateway refuses and accepts the values the MXHOOK_ variables do, with the
// same defaults, and a loaded config is its options as they are.
import { describe, expect, it } from 'vitest';
import {
  gatewaySettingsOf,
  resolveGatewaySettings,
} from '../../../../gateway/config/gateway-options.ts';
import { loadConfig } from '../../../../gateway/config/load-config.ts';
import { ConfigError, MxhookError } from '../../../../gateway/errors.ts';
import { createGateway, type GatewayOptions } from '../../../../gateway/index.ts';

const REQUIRED = {
  listen: [{ host: '127.0.0.1', port: 0, implicitTls: false }],
  hostname: 'mx.test',
  handler: { data: () => ({ action: 'accept' as const }) },
};

/** The problem `loadConfig` reports for `name=text`, without the variable; null if accepted. */
function cliProblem(name: string, text: string): string | null {
  try {
    loadConfig({ env: { [name]: text }, requireFunctionUrl: false });
    return null;
  } catch (error) {
    if (!(error instanceof ConfigError) || error.variable !== name) throw error;
    return error.message.slice(`${name}: `.length);
  }
}

/** The problem `createGateway` reports for `option: value`, without the option; null if accepted. */
function libraryProblem(option: string, value: unknown): string | null {
  try {
    createGateway({ ...REQUIRED, [option]: value } as GatewayOptions);
    return null;
  } catch (error) {
    if (!(error instanceof MxhookError) || error.code !== 'ERR_CONFIG_INVALID') throw error;
    expect(error.message.startsWith(`option ${option}: `)).toBe(true);
    return error.message.slice(`option ${option}: `.length);
  }
}

describe('the library and the variables agree', () => {
  const cases: [variable: string, text: string, option: string, value: unknown][] = [
    ['MXHOOK_SHUTDOWN_GRACE', '0', 'shutdownGraceMs', 0],
    ['MXHOOK_SHUTDOWN_GRACE', '0.0001', 'shutdownGraceMs', 0.1],
    ['MXHOOK_SHUTDOWN_GRACE', '2147484', 'shutdownGraceMs', 2_147_484_000],
    ['MXHOOK_IDLE_TIMEOUT', '0', 'idleTimeoutMs', 0],
    ['MXHOOK_IDLE_TIMEOUT', '0.001', 'idleTimeoutMs', 1],
    ['MXHOOK_FUNCTION_TIMEOUT', '0.0001', 'functionTimeoutMs', 0.1],
    ['MXHOOK_DATA_TIMEOUT', '2147483', 'dataTimeoutMs', 2_147_483_000],
    ['MXHOOK_MAX_SESSION_DURATION', '2147484', 'maxSessionDurationMs', 2_147_484_000],
    ['MXHOOK_MAX_MESSAGE_SIZE', '0', 'maxMessageBytes', 0],
    ['MXHOOK_MAX_MESSAGE_SIZE', '1', 'maxMessageBytes', 1],
    ['MXHOOK_MAX_RECIPIENTS', '0', 'maxRecipients', 0],
    ['MXHOOK_MAX_CONNECTIONS', '0', 'maxConnections', 0],
    ['MXHOOK_MAX_CONNECTIONS_PER_IP', '0', 'maxConnectionsPerIp', 0],
    ['MXHOOK_MAX_CONNECTION_RATE_PER_IP', '0', 'maxConnectionsPerIpPerMinute', 0],
    ['MXHOOK_MAX_BAD_COMMANDS', '0', 'maxBadCommands', 0],
    ['MXHOOK_MAX_JUNK_COMMANDS', '1', 'maxJunkCommands', 1],
    ['MXHOOK_MAX_BYTES_IN_FLIGHT', '0', 'maxBytesInFlight', 0],
    ['MXHOOK_BARE_LF', 'reject', 'bareLf', 'reject'],
    ['MXHOOK_BARE_LF', 'fix', 'bareLf', 'fix'],
    ['MXHOOK_BANNER', 'ESMTP ready', 'banner', 'ESMTP ready'],
    ['MXHOOK_BANNER', 'ESMTP\u0007', 'banner', 'ESMTP\u0007'],
    ['MXHOOK_BANNER', 'x'.repeat(251), 'banner', 'x'.repeat(251)],
    ['MXHOOK_DNS_SERVERS', '192.0.2.53:53', 'dnsServers', ['192.0.2.53:53']],
    ['MXHOOK_DNS_SERVERS', 'dns.example', 'dnsServers', ['dns.example']],
    ['MXHOOK_LONG_LINES', 'wrap', 'longLines', 'wrap'],
  ];

  it.each(cases)('%s=%s and %s: %j', (variable, text, option, value) => {
    expect(libraryProblem(option, value)).toBe(cliProblem(variable, text));
  });

  it('refuses what no text could give', () => {
    expect(libraryProblem('maxRecipients', 1.5)).toBe('1.5 is not a whole number of recipients');
    expect(libraryProblem('idleTimeoutMs', Number.NaN)).toBe(
      'must be at least 0.001 seconds, not NaN',
    );
    expect(libraryProblem('requireTls', 'yes')).toBe('"yes" is not a boolean');
    expect(libraryProblem('listen', [])).toBe('needs at least one host:port');
    expect(libraryProblem('banner', '')).toBe('must not be empty');
    expect(libraryProblem('greetingDelayMs', -1)).toBe(
      'must be at least 0.001 seconds or exactly 0, not -0.001',
    );
  });

  it('fills in the same defaults', () => {
    const fromVariables = gatewaySettingsOf(loadConfig({ env: {}, requireFunctionUrl: false }));
    const fromLibrary = resolveGatewaySettings({});
    const comparable = (settings: typeof fromLibrary) => ({
      ...settings,
      trustedProxies: settings.trustedProxies.blocks,
      allowNetworks: settings.allowNetworks.blocks,
      denyNetworks: settings.denyNetworks.blocks,
    });
    expect(comparable(fromLibrary)).toEqual(comparable(fromVariables));
    expect(fromLibrary.shutdownGraceMs).toBe(30_000);
  });
});

describe('a loaded config as gateway options', () => {
  it('starts a gateway with no shutdown grace, which then closes at once', async () => {
    const config = loadConfig({
      // Checks off, as wherever a test starts a gateway: tests never ask the system's DNS.
      env: { MXHOOK_LISTEN: '127.0.0.1:0', MXHOOK_SHUTDOWN_GRACE: '0', MXHOOK_AUTH_CHECKS: 'none' },
      requireFunctionUrl: false,
    });
    const gateway = createGateway({ ...gatewaySettingsOf(config), handler: REQUIRED.handler });
    await gateway.start();
    await gateway.stop();
    expect(gateway.listening).toBe(false);
  });
});
