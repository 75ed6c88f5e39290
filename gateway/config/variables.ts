// The table of every MXHOOK_ setting: name, flag, default and meaning, shared by the loader and --help.

export interface VariableSpec {
  readonly name: string;
  /** What the value looks like, shown after the flag in `--help`. */
  readonly placeholder: string;
  /**
   * The default as raw text, parsed by the same code as a user's value so a default can never
   * bypass validation; null when there is none or it is computed at load time.
   */
  readonly default: string | null;
  /** The default as shown in `--help`. */
  readonly defaultText: string;
  readonly meaning: string;
  /** A boolean flag may stand alone: `--require-tls` means `--require-tls true`. */
  readonly boolean?: true;
}

export const VARIABLES = [
  {
    name: 'MXHOOK_LISTEN',
    placeholder: '<host:port,...>',
    default: '127.0.0.1:2525',
    defaultText: '127.0.0.1:2525',
    meaning:
      'SMTP listeners, comma-separated; IPv6 in brackets ([::1]:2525); port 0 picks a free port. Suffixes, combinable: /tls for implicit TLS (SMTPS, RFC 8314), /require-tls for STARTTLS before MAIL, /require-auth for AUTH before MAIL (submission, e.g. 0.0.0.0:587/require-tls/require-auth).',
  },
  {
    name: 'MXHOOK_HOSTNAME',
    placeholder: '<domain>',
    default: null,
    defaultText: 'system hostname',
    meaning: 'Name in the banner, the EHLO reply and the Received header.',
  },
  {
    name: 'MXHOOK_FUNCTION_URL',
    placeholder: '<url>',
    default: null,
    defaultText: 'required',
    meaning:
      'Base URL of your function (https; http only to a loopback host unless MXHOOK_FUNCTION_INSECURE_HTTP); each enabled step is POSTed to <url>/<step>.',
  },
  {
    name: 'MXHOOK_FUNCTION_INSECURE_HTTP',
    placeholder: '<bool>',
    default: 'false',
    defaultText: 'false',
    meaning:
      'Allow an http:// MXHOOK_FUNCTION_URL to a host other than loopback (127.0.0.0/8, ::1, localhost): every call, message and AUTH passwords included, then crosses the network in clear.',
    boolean: true,
  },
  {
    name: 'MXHOOK_STEPS',
    placeholder: '<step,...>',
    default: 'rcpt,data',
    defaultText: 'rcpt,data',
    meaning:
      'Steps sent to the function, from connect, helo, auth, mail, rcpt, data. data is always sent, and auth too when MXHOOK_AUTH=function; other steps not listed are accepted without a call.',
  },
  {
    name: 'MXHOOK_SIGNING_SECRET',
    placeholder: '<secret,...>',
    default: null,
    defaultText: '-',
    meaning:
      'HS256 secrets, comma-separated, at least 32 characters each; the first one signs, the others are kept for rotation. This or MXHOOK_SIGNING_KEY is required with a function URL.',
  },
  {
    name: 'MXHOOK_SIGNING_KEY',
    placeholder: '<path,...>',
    default: null,
    defaultText: '-',
    meaning:
      'Ed25519 private key files (PEM or JWK), comma-separated; the first one signs (EdDSA), all are published at /.well-known/jwks.json.',
  },
  {
    name: 'MXHOOK_SIGNATURE_FORMAT',
    placeholder: '<format>',
    default: 'jws',
    defaultText: 'jws',
    meaning:
      'How calls are signed: jws (the Mxhook-Signature header, a detached JWS) or standard-webhooks (webhook-id, webhook-timestamp and webhook-signature headers, standardwebhooks.com; secrets must then be base64, optionally prefixed whsec_, as `mxhook secret` prints them).',
  },
  {
    name: 'MXHOOK_TLS_CERT',
    placeholder: '<path,...>',
    default: null,
    defaultText: '-',
    meaning:
      'PEM certificate (chain) files, comma-separated; with MXHOOK_TLS_KEY they enable STARTTLS (RFC 3207) and /tls listeners. Each handshake gets the certificate naming the SNI host, else the first. Re-read on SIGHUP and when the files change.',
  },
  {
    name: 'MXHOOK_TLS_KEY',
    placeholder: '<path,...>',
    default: null,
    defaultText: '-',
    meaning: 'PEM private key files, one per MXHOOK_TLS_CERT file, in the same order.',
  },
  {
    name: 'MXHOOK_MAX_MESSAGE_SIZE',
    placeholder: '<bytes>',
    default: '10485760',
    defaultText: '10485760',
    meaning: 'Largest message accepted, in bytes; announced as SIZE (RFC 1870).',
  },
  {
    name: 'MXHOOK_MAX_RECIPIENTS',
    placeholder: '<count>',
    default: '100',
    defaultText: '100',
    meaning: 'Recipients per transaction (RFC 5321 §4.5.3.1.8).',
  },
  {
    name: 'MXHOOK_MAX_CONNECTIONS',
    placeholder: '<count>',
    default: '1000',
    defaultText: '1000',
    meaning: 'Concurrent SMTP sessions.',
  },
  {
    name: 'MXHOOK_MAX_CONNECTIONS_PER_IP',
    placeholder: '<count>',
    default: '50',
    defaultText: '50',
    meaning:
      'Concurrent sessions from one client address, past which it gets 421. Direct loopback clients (local relays, tests) are exempt; a client behind a PROXY header never is.',
  },
  {
    name: 'MXHOOK_MAX_CONNECTION_RATE_PER_IP',
    placeholder: '<count>',
    default: '120',
    defaultText: '120',
    meaning:
      'New connections per minute from one client address, past which it gets 421; 0 turns the limit off. Exempt as for MXHOOK_MAX_CONNECTIONS_PER_IP.',
  },
  {
    name: 'MXHOOK_MAX_BAD_COMMANDS',
    placeholder: '<count>',
    default: '20',
    defaultText: '20',
    meaning: 'Unrecognised or failed commands in one session before it gets 421 and is closed.',
  },
  {
    name: 'MXHOOK_MAX_JUNK_COMMANDS',
    placeholder: '<count>',
    default: '100',
    defaultText: '100',
    meaning:
      'Commands that make no progress (NOOP, VRFY, EXPN, RSET, HELP) in one session before it gets 421 4.7.0 and is closed; the count starts over when a message is accepted (as Postfix smtpd_junk_command_limit).',
  },
  {
    name: 'MXHOOK_MAX_SESSION_DURATION',
    placeholder: '<seconds>',
    default: '3600',
    defaultText: '3600',
    meaning:
      'Seconds a session may last; then it gets 421 4.7.0 and is closed, after the message in flight (if any) has been answered.',
  },
  {
    name: 'MXHOOK_MAX_BYTES_IN_FLIGHT',
    placeholder: '<bytes>',
    default: '268435456',
    defaultText: '268435456',
    meaning:
      'Message bytes held across all sessions, charged as they arrive; a message that would pass it is read to its end and gets 452 4.3.1. At least MXHOOK_MAX_MESSAGE_SIZE.',
  },
  {
    name: 'MXHOOK_IDLE_TIMEOUT',
    placeholder: '<seconds>',
    default: '300',
    defaultText: '300',
    meaning: "Seconds a session may wait for the client's next command (RFC 5321 §4.5.3.2.7).",
  },
  {
    name: 'MXHOOK_DATA_TIMEOUT',
    placeholder: '<seconds>',
    default: '600',
    defaultText: '600',
    meaning:
      'Seconds of silence allowed while message data is arriving (RFC 5321 §4.5.3.2.5, §4.5.3.2.6); the whole message must also arrive within this time plus 2 ms per byte (500 bytes/s on average, as Postfix smtpd_min_data_rate).',
  },
  {
    name: 'MXHOOK_FUNCTION_TIMEOUT',
    placeholder: '<seconds>',
    default: '30',
    defaultText: '30',
    meaning:
      'Seconds one function call may take before it counts as failed (a temporary failure); fractions such as 0.5 are allowed.',
  },
  {
    name: 'MXHOOK_SHUTDOWN_GRACE',
    placeholder: '<seconds>',
    default: '30',
    defaultText: '30',
    meaning: 'Seconds open sessions get to finish on shutdown before they are closed with 421.',
  },
  {
    name: 'MXHOOK_PAYLOAD',
    placeholder: 'raw|parsed|both',
    default: 'both',
    defaultText: 'both',
    meaning: 'What the data call carries: the raw message (base64), the parsed message, or both.',
  },
  {
    name: 'MXHOOK_BARE_LF',
    placeholder: 'normalize|reject',
    default: 'normalize',
    defaultText: 'normalize',
    meaning:
      'A line in DATA ending in LF without CR (RFC 5321 §2.3.8): normalize it to CRLF, or refuse the message.',
  },
  {
    name: 'MXHOOK_LONG_LINES',
    placeholder: 'accept|reject',
    default: 'accept',
    defaultText: 'accept',
    meaning:
      'Message lines over 1000 octets (RFC 5321 §4.5.3.1.6): accept them, or refuse the message.',
  },
  {
    name: 'MXHOOK_TRUSTED_PROXIES',
    placeholder: '<cidr,...>',
    default: '',
    defaultText: '-',
    meaning:
      'Networks whose connections start with a PROXY protocol v1/v2 header: required from them, refused from others.',
  },
  {
    name: 'MXHOOK_ALLOW_NETWORKS',
    placeholder: '<cidr,...>',
    default: '',
    defaultText: 'all',
    meaning: 'Client networks allowed to connect, checked before the banner; empty allows all.',
  },
  {
    name: 'MXHOOK_DENY_NETWORKS',
    placeholder: '<cidr,...>',
    default: '',
    defaultText: '-',
    meaning: 'Client networks refused before the banner; deny wins over allow.',
  },
  {
    name: 'MXHOOK_AUTH',
    placeholder: 'off|function|users',
    default: 'off',
    defaultText: 'off',
    meaning:
      "SMTP AUTH (RFC 4954): off, checked by the function's auth step, or checked against MXHOOK_AUTH_USERS. Offered only over TLS unless MXHOOK_AUTH_ALLOW_INSECURE is set.",
  },
  {
    name: 'MXHOOK_AUTH_USERS',
    placeholder: '<path>',
    default: null,
    defaultText: '-',
    meaning: 'Users file, required when MXHOOK_AUTH=users.',
  },
  {
    name: 'MXHOOK_AUTH_ALLOW_INSECURE',
    placeholder: '<bool>',
    default: 'false',
    defaultText: 'false',
    meaning: 'Offer AUTH on connections without TLS; for local testing only.',
    boolean: true,
  },
  {
    name: 'MXHOOK_REQUIRE_TLS',
    placeholder: '<bool>',
    default: 'false',
    defaultText: 'false',
    meaning:
      'Require STARTTLS (or a /tls listener) before MAIL on every listener; see also /require-tls.',
    boolean: true,
  },
  {
    name: 'MXHOOK_REQUIRE_AUTH',
    placeholder: '<bool>',
    default: 'false',
    defaultText: 'false',
    meaning: 'Require AUTH before MAIL on every listener; see also /require-auth.',
    boolean: true,
  },
  {
    name: 'MXHOOK_HTTP_LISTEN',
    placeholder: '<host:port>|off',
    default: '127.0.0.1:9025',
    defaultText: '127.0.0.1:9025',
    meaning: 'Admin HTTP listener (health, readiness, metrics, JWKS); off disables it.',
  },
  {
    name: 'MXHOOK_LOG_LEVEL',
    placeholder: '<level>',
    default: 'info',
    defaultText: 'info',
    meaning: 'One of fatal, error, warn, info, debug, trace, silent.',
  },
] as const satisfies readonly VariableSpec[];

export type VariableName = (typeof VARIABLES)[number]['name'];

export const VARIABLE_PREFIX = 'MXHOOK_';

const BY_NAME: ReadonlyMap<string, VariableSpec> = new Map(
  VARIABLES.map((spec) => [spec.name, spec]),
);

export function variableSpec(name: string): VariableSpec | undefined {
  return BY_NAME.get(name);
}

/** `MXHOOK_MAX_MESSAGE_SIZE` → `--max-message-size`. */
export function flagFor(name: string): string {
  return `--${name.slice(VARIABLE_PREFIX.length).toLowerCase().replaceAll('_', '-')}`;
}

/** `max-message-size` → `MXHOOK_MAX_MESSAGE_SIZE`, whether or not such a variable exists. */
export function variableForFlag(flagName: string): string {
  return `${VARIABLE_PREFIX}${flagName.toUpperCase().replaceAll('-', '_')}`;
}
