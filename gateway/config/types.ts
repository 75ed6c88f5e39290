// The shape of the gateway's parsed, validated and frozen configuration.
import type { Step } from '../../functions/sdk/wire.ts';
import type { CidrList } from '../net/cidr.ts';
import type { SigningKeyFile, TlsFiles } from './parse-keys.ts';
import type { HostPort, ListenAddress } from './parse-network.ts';
import type { ConfigWarning } from './sources.ts';

export type { CidrList, ConfigWarning, HostPort, ListenAddress, SigningKeyFile, TlsFiles };

export const SIGNATURE_FORMATS = ['jws', 'standard-webhooks'] as const;
export type SignatureFormat = (typeof SIGNATURE_FORMATS)[number];

export const PAYLOAD_MODES = ['raw', 'parsed', 'both'] as const;
export type PayloadMode = (typeof PAYLOAD_MODES)[number];

export const BARE_LF_POLICIES = ['normalize', 'reject'] as const;
export type BareLfPolicy = (typeof BARE_LF_POLICIES)[number];

export const LONG_LINE_POLICIES = ['accept', 'reject'] as const;
export type LongLinePolicy = (typeof LONG_LINE_POLICIES)[number];

/** pino's levels, most to least severe, plus `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const AUTH_MODES = ['off', 'function', 'users'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/** Everything `loadConfig` returns. Deeply frozen, except the Buffers and the URL. */
export interface GatewayConfig {
  /** MXHOOK_LISTEN */
  readonly listen: readonly ListenAddress[];
  /** MXHOOK_HOSTNAME */
  readonly hostname: string;
  /** MXHOOK_FUNCTION_URL; its path always ends in `/`, so `new URL(step, functionUrl)` joins. */
  readonly functionUrl: URL | null;
  /** MXHOOK_FUNCTION_INSECURE_HTTP: an http:// function URL may name a host other than loopback. */
  readonly functionInsecureHttp: boolean;
  /** MXHOOK_STEPS, in session order; always has `data` (and `auth` when `auth` is `function`). */
  readonly steps: readonly Step[];
  /** MXHOOK_SIGNING_SECRET; the first one signs. */
  readonly signingSecrets: readonly string[];
  /** MXHOOK_SIGNING_KEY; the first one signs. */
  readonly signingKeys: readonly SigningKeyFile[];
  /** MXHOOK_SIGNATURE_FORMAT: which headers carry the signature, and over what. */
  readonly signatureFormat: SignatureFormat;
  /** The first MXHOOK_TLS_CERT + MXHOOK_TLS_KEY pair, checked to match: the default certificate. */
  readonly tls: TlsFiles | null;
  /** Every MXHOOK_TLS_CERT + MXHOOK_TLS_KEY pair, in order, each checked; `tls` is the first. */
  readonly tlsCertificates: readonly TlsFiles[];
  /** MXHOOK_MAX_MESSAGE_SIZE */
  readonly maxMessageBytes: number;
  /** MXHOOK_MAX_RECIPIENTS */
  readonly maxRecipients: number;
  /** MXHOOK_MAX_CONNECTIONS */
  readonly maxConnections: number;
  /** MXHOOK_MAX_CONNECTIONS_PER_IP */
  readonly maxConnectionsPerIp: number;
  /** MXHOOK_MAX_CONNECTION_RATE_PER_IP; 0 is no limit. */
  readonly maxConnectionsPerIpPerMinute: number;
  /** MXHOOK_MAX_BAD_COMMANDS */
  readonly maxBadCommands: number;
  /** MXHOOK_MAX_JUNK_COMMANDS */
  readonly maxJunkCommands: number;
  /** MXHOOK_MAX_SESSION_DURATION */
  readonly maxSessionDurationMs: number;
  /** MXHOOK_MAX_BYTES_IN_FLIGHT; never below `maxMessageBytes`. */
  readonly maxBytesInFlight: number;
  /** MXHOOK_IDLE_TIMEOUT */
  readonly idleTimeoutMs: number;
  /** MXHOOK_DATA_TIMEOUT */
  readonly dataTimeoutMs: number;
  /** MXHOOK_FUNCTION_TIMEOUT */
  readonly functionTimeoutMs: number;
  /** MXHOOK_SHUTDOWN_GRACE; may be 0. */
  readonly shutdownGraceMs: number;
  /** MXHOOK_PAYLOAD */
  readonly payload: PayloadMode;
  /** MXHOOK_BARE_LF */
  readonly bareLf: BareLfPolicy;
  /** MXHOOK_LONG_LINES */
  readonly longLines: LongLinePolicy;
  /** MXHOOK_TRUSTED_PROXIES */
  readonly trustedProxies: CidrList;
  /** MXHOOK_ALLOW_NETWORKS; empty allows every client. */
  readonly allowNetworks: CidrList;
  /** MXHOOK_DENY_NETWORKS; wins over `allowNetworks`. */
  readonly denyNetworks: CidrList;
  /** MXHOOK_AUTH */
  readonly auth: AuthMode;
  /** MXHOOK_AUTH_USERS, absolute; checked readable, set whenever `auth` is `users`. */
  readonly authUsersPath: string | null;
  /** MXHOOK_AUTH_ALLOW_INSECURE */
  readonly authAllowInsecure: boolean;
  /** MXHOOK_REQUIRE_TLS; a listener can also require it (`/require-tls`). */
  readonly requireTls: boolean;
  /** MXHOOK_REQUIRE_AUTH; a listener can also require it (`/require-auth`). */
  readonly requireAuth: boolean;
  /** MXHOOK_HTTP_LISTEN; null when `off`. */
  readonly httpListen: HostPort | null;
  /** MXHOOK_LOG_LEVEL */
  readonly logLevel: LogLevel;
  /** Unknown `MXHOOK_` names in the environment: ignored, and logged once at start. */
  readonly warnings: readonly ConfigWarning[];
}
