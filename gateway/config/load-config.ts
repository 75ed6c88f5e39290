// Loads the gateway configuration once: gathers, parses, cross-checks and freezes every setting.
import { hostname as systemHostname } from 'node:os';
import { resolve } from 'node:path';
import { STEPS, type Step } from '../../functions/sdk/wire.ts';
import { ConfigError } from '../errors.ts';
import { checkConsistency } from './check-consistency.ts';
import { deepFreeze } from './deep-freeze.ts';
import {
  checkReadableFile,
  parseSigningSecrets,
  readSigningKeys,
  readTlsPairs,
} from './parse-keys.ts';
import {
  isDomainName,
  parseDomainName,
  parseFunctionUrl,
  parseHostPort,
  parseListenList,
  parseNetworks,
} from './parse-network.ts';
import {
  parseBoolean,
  parseOneOf,
  parseSecondsAsMs,
  parseWholeNumber,
  splitList,
} from './parse-scalars.ts';
import { collectSettings } from './sources.ts';
import {
  AUTH_MODES,
  BARE_LF_POLICIES,
  type GatewayConfig,
  type HostPort,
  LOG_LEVELS,
  LONG_LINE_POLICIES,
  PAYLOAD_MODES,
  SIGNATURE_FORMATS,
  type TlsFiles,
} from './types.ts';
import { type VariableName, variableSpec } from './variables.ts';

export interface LoadConfigInput {
  /** The environment, normally `process.env`; only `MXHOOK_` names are read. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Flag arguments only, e.g. `['--listen', '0.0.0.0:25']`; default none. */
  readonly argv?: readonly string[];
  /**
   * Directory holding an optional `.env` file, and the base for relative key and certificate
   * paths. Omit it (tests) to read no `.env`; paths then resolve against `process.cwd()`.
   */
  readonly cwd?: string;
  /** False for `npm start`, which runs without a function URL until one is given; default true. */
  readonly requireFunctionUrl?: boolean;
}

/**
 * The only place that reads configuration. Sources by priority: flags, the environment, a
 * `.env` file in `cwd`, the defaults. An empty value means the default. Unknown `MXHOOK_` names
 * in the environment do not stop the load: they come back in `warnings`, for the caller to log.
 *
 * @throws ConfigError (`ERR_CONFIG_INVALID`) naming the `MXHOOK_` variable at fault.
 * @example
 * const config = loadConfig({ env: process.env, argv: process.argv.slice(3), cwd: process.cwd() });
 */
export function loadConfig(input: LoadConfigInput): GatewayConfig {
  const { values: settings, warnings } = collectSettings({
    env: input.env,
    argv: input.argv ?? [],
    cwd: input.cwd ?? null,
  });
  const base = input.cwd ?? process.cwd();

  /** The chosen raw value, or the variable's default; null when neither exists. */
  const raw = (name: VariableName): string | null => {
    const value = settings.get(name);
    if (value !== undefined && value.trim() !== '') return value;
    return variableSpec(name)?.default ?? null;
  };
  const required = (name: VariableName): string => {
    const value = raw(name);
    // Unreachable for variables the table gives a default; kept so a table edit fails loudly.
    if (value === null) throw new ConfigError(name, 'has no value and no default');
    return value;
  };
  const paths = (name: VariableName): string[] =>
    splitList(name, raw(name) ?? '').map((path) => resolve(base, path));
  // One file each: not split on commas, which a path may contain.
  const path = (name: VariableName): string | null => {
    const value = raw(name);
    return value === null ? null : resolve(base, value.trim());
  };

  const count = (name: VariableName, unit: string) => parseWholeNumber(name, required(name), unit);
  const seconds = (name: VariableName, allowZero = false) =>
    parseSecondsAsMs(name, required(name), allowZero);
  const flag = (name: VariableName) => parseBoolean(name, required(name));
  const networks = (name: VariableName) => parseNetworks(name, raw(name) ?? '');
  const functionUrlText = raw('MXHOOK_FUNCTION_URL');
  const tlsCertificates = loadTls(paths('MXHOOK_TLS_CERT'), paths('MXHOOK_TLS_KEY'));
  const auth = parseOneOf('MXHOOK_AUTH', required('MXHOOK_AUTH'), AUTH_MODES);

  const config: GatewayConfig = {
    listen: parseListenList('MXHOOK_LISTEN', required('MXHOOK_LISTEN')),
    hostname: loadHostname(raw('MXHOOK_HOSTNAME')),
    functionUrl:
      functionUrlText === null ? null : parseFunctionUrl('MXHOOK_FUNCTION_URL', functionUrlText),
    functionInsecureHttp: flag('MXHOOK_FUNCTION_INSECURE_HTTP'),
    steps: loadSteps(raw('MXHOOK_STEPS') ?? '', auth === 'function'),
    signingSecrets: parseSigningSecrets(
      'MXHOOK_SIGNING_SECRET',
      raw('MXHOOK_SIGNING_SECRET') ?? '',
    ),
    signingKeys: readSigningKeys('MXHOOK_SIGNING_KEY', paths('MXHOOK_SIGNING_KEY')),
    signatureFormat: parseOneOf(
      'MXHOOK_SIGNATURE_FORMAT',
      required('MXHOOK_SIGNATURE_FORMAT'),
      SIGNATURE_FORMATS,
    ),
    tls: tlsCertificates[0] ?? null,
    tlsCertificates,
    maxMessageBytes: count('MXHOOK_MAX_MESSAGE_SIZE', 'bytes'),
    maxRecipients: count('MXHOOK_MAX_RECIPIENTS', 'recipients'),
    maxConnections: count('MXHOOK_MAX_CONNECTIONS', 'connections'),
    maxConnectionsPerIp: count('MXHOOK_MAX_CONNECTIONS_PER_IP', 'connections'),
    // 0 turns the rate limit off.
    maxConnectionsPerIpPerMinute: parseWholeNumber(
      'MXHOOK_MAX_CONNECTION_RATE_PER_IP',
      required('MXHOOK_MAX_CONNECTION_RATE_PER_IP'),
      'connections per minute',
      0,
    ),
    maxBadCommands: count('MXHOOK_MAX_BAD_COMMANDS', 'commands'),
    maxJunkCommands: count('MXHOOK_MAX_JUNK_COMMANDS', 'commands'),
    maxSessionDurationMs: seconds('MXHOOK_MAX_SESSION_DURATION'),
    maxBytesInFlight: count('MXHOOK_MAX_BYTES_IN_FLIGHT', 'bytes'),
    idleTimeoutMs: seconds('MXHOOK_IDLE_TIMEOUT'),
    dataTimeoutMs: seconds('MXHOOK_DATA_TIMEOUT'),
    functionTimeoutMs: seconds('MXHOOK_FUNCTION_TIMEOUT'),
    // Zero grace is a legitimate choice: close every session with 421 at once.
    shutdownGraceMs: seconds('MXHOOK_SHUTDOWN_GRACE', true),
    payload: parseOneOf('MXHOOK_PAYLOAD', required('MXHOOK_PAYLOAD'), PAYLOAD_MODES),
    bareLf: parseOneOf('MXHOOK_BARE_LF', required('MXHOOK_BARE_LF'), BARE_LF_POLICIES),
    longLines: parseOneOf('MXHOOK_LONG_LINES', required('MXHOOK_LONG_LINES'), LONG_LINE_POLICIES),
    trustedProxies: networks('MXHOOK_TRUSTED_PROXIES'),
    allowNetworks: networks('MXHOOK_ALLOW_NETWORKS'),
    denyNetworks: networks('MXHOOK_DENY_NETWORKS'),
    auth,
    authUsersPath: path('MXHOOK_AUTH_USERS'),
    authAllowInsecure: flag('MXHOOK_AUTH_ALLOW_INSECURE'),
    requireTls: flag('MXHOOK_REQUIRE_TLS'),
    requireAuth: flag('MXHOOK_REQUIRE_AUTH'),
    httpListen: loadHttpListen(required('MXHOOK_HTTP_LISTEN')),
    logLevel: parseOneOf('MXHOOK_LOG_LEVEL', required('MXHOOK_LOG_LEVEL'), LOG_LEVELS),
    warnings,
  };
  checkConsistency(config, input.requireFunctionUrl !== false);
  if (config.authUsersPath !== null) {
    checkReadableFile('MXHOOK_AUTH_USERS', config.authUsersPath);
  }
  return deepFreeze(config);
}

function loadHostname(value: string | null): string {
  if (value !== null) return parseDomainName('MXHOOK_HOSTNAME', value);
  const system = systemHostname();
  if (!isDomainName(system)) {
    throw new ConfigError(
      'MXHOOK_HOSTNAME',
      `the system hostname ${JSON.stringify(system)} is not a domain name; set MXHOOK_HOSTNAME`,
    );
  }
  return system;
}

/** `data` is always called (the one promise); `auth` too when the function checks AUTH. */
function loadSteps(value: string, authByFunction: boolean): Step[] {
  const wanted = new Set<string>(['data']);
  if (authByFunction) wanted.add('auth');
  for (const step of splitList('MXHOOK_STEPS', value)) {
    const name = step.toLowerCase();
    if (!(STEPS as readonly string[]).includes(name)) {
      throw new ConfigError(
        'MXHOOK_STEPS',
        `${JSON.stringify(step)} is not a step (${STEPS.join(', ')})`,
      );
    }
    wanted.add(name);
  }
  return STEPS.filter((step) => wanted.has(step));
}

/** Comma-separated lists, like MXHOOK_SIGNING_KEY: a path containing a comma cannot be given. */
function loadTls(certPaths: readonly string[], keyPaths: readonly string[]): TlsFiles[] {
  if (certPaths.length === 0 && keyPaths.length === 0) return [];
  if (certPaths.length === 0) {
    throw new ConfigError('MXHOOK_TLS_CERT', 'must be set together with MXHOOK_TLS_KEY');
  }
  if (keyPaths.length === 0) {
    throw new ConfigError('MXHOOK_TLS_KEY', 'must be set together with MXHOOK_TLS_CERT');
  }
  return readTlsPairs('MXHOOK_TLS_CERT', 'MXHOOK_TLS_KEY', certPaths, keyPaths);
}

function loadHttpListen(value: string): HostPort | null {
  const text = value.trim();
  if (text.toLowerCase() === 'off') return null;
  if (text.includes(',')) {
    throw new ConfigError('MXHOOK_HTTP_LISTEN', 'takes a single host:port, or off');
  }
  return parseHostPort('MXHOOK_HTTP_LISTEN', text);
}
