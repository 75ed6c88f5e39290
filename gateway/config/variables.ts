// The table of every MXHOOK_ setting, one row each: --help, the flags, the loader, the typed
// config and the gateway's options all come from it. A new setting is a new row.

import { AUTHENTICATION_CHECKS } from '../../functions/sdk/wire.ts';
import type { Kind } from './kind.ts';
import { ADMIN_TOKEN } from './parse-admin-token.ts';
import { ARCHIVE_LOCATION, PUBLIC_URL } from './parse-archive.ts';
import { DELIVERY_TLS } from './parse-delivery-tls.ts';
import { DKIM_SIGNING } from './parse-dkim-signing.ts';
import { READABLE_FILE, SIGNING_KEYS, SIGNING_SECRETS, tlsPairs } from './parse-keys.ts';
import {
  DNS_SERVERS,
  FUNCTION_URL,
  HOST_PORT_OR_OFF,
  HOSTNAME,
  LISTEN_LIST,
  NETWORKS,
  NETWORKS_OR_HOSTS,
} from './parse-network.ts';
import { PORT, QUEUE_LOCATION } from './parse-outbound.ts';
import {
  BANNER,
  BOOLEAN,
  oneOf,
  STEP_LIST,
  seconds,
  wholeNumber,
  wordList,
} from './parse-scalars.ts';
import { DOMAIN_LIST, SEND_TOKENS } from './parse-send.ts';
import { SRS_DOMAIN } from './parse-srs-domain.ts';
import {
  AUDIT_SWITCH,
  AUTH_MODES,
  BARE_LF_POLICIES,
  type Companion,
  DELIVERY_REPORT_SCOPES,
  LOG_LEVELS,
  LONG_LINE_POLICIES,
  PAYLOAD_MODES,
  type Setting,
  SIGNATURE_FORMATS,
  type VariableSpec,
} from './setting.ts';

type Name = `MXHOOK_${string}`;

/** A row; `defaultText` is needed only when `--help` shows the default other than as written. */
function setting<const N extends Name, const F extends string, T, const O extends boolean = false>(
  row: Omit<Setting<F, T, O>, 'name' | 'defaultText' | 'option' | 'kind'> & {
    readonly name: N;
    readonly kind: Kind<T>;
    readonly defaultText?: string;
    readonly option?: O;
  },
): Setting<F, T, O> & { readonly name: N } {
  return {
    ...row,
    defaultText: row.defaultText ?? row.default,
    option: (row.option ?? false) as O,
  };
}

function companion<const N extends Name>(row: Companion & { readonly name: N }) {
  return row;
}

export const VARIABLES = [
  setting({
    name: 'MXHOOK_LISTEN',
    field: 'listen',
    placeholder: '<host:port,...>',
    default: '127.0.0.1:2525',
    kind: LISTEN_LIST,
    option: true,
    meaning:
      'SMTP listeners, comma-separated; IPv6 in brackets ([::1]:2525); port 0 picks a free port. Suffixes, combinable: /tls for implicit TLS (SMTPS, RFC 8314), /require-tls for STARTTLS before MAIL, /require-auth for AUTH before MAIL (submission, e.g. 0.0.0.0:587/require-tls/require-auth).',
  }),
  setting({
    name: 'MXHOOK_HOSTNAME',
    field: 'hostname',
    placeholder: '<domain>',
    default: '',
    defaultText: 'system hostname',
    kind: HOSTNAME,
    option: true,
    meaning: 'Name in the banner, the EHLO reply and the Received header.',
  }),
  setting({
    name: 'MXHOOK_BANNER',
    field: 'banner',
    placeholder: '<text>',
    default: 'ESMTP mxhook',
    kind: BANNER,
    option: true,
    meaning:
      'Text after the hostname in the 220 greeting: printable ASCII, at most 250 characters.',
  }),
  setting({
    name: 'MXHOOK_FUNCTION_URL',
    field: 'functionUrl',
    placeholder: '<url>',
    default: '',
    defaultText: 'required',
    kind: FUNCTION_URL,
    meaning:
      'Base URL of your function (https; http only to a loopback host unless MXHOOK_FUNCTION_INSECURE_HTTP); each enabled step is POSTed to <url>/<step>.',
  }),
  setting({
    name: 'MXHOOK_FUNCTION_INSECURE_HTTP',
    field: 'functionInsecureHttp',
    placeholder: '<bool>',
    default: 'false',
    kind: BOOLEAN,
    meaning:
      'Allow an http:// MXHOOK_FUNCTION_URL to a host other than loopback (127.0.0.0/8, ::1, localhost): every call, message and AUTH passwords included, then crosses the network in clear.',
  }),
  setting({
    name: 'MXHOOK_STEPS',
    field: 'steps',
    placeholder: '<step,...>',
    default: 'rcpt,data',
    kind: STEP_LIST,
    meaning:
      'Steps sent to the function, from connect, helo, auth, mail, rcpt, data. data is always sent, and auth too when MXHOOK_AUTH=function; other steps not listed are accepted without a call.',
  }),
  setting({
    name: 'MXHOOK_SIGNING_SECRET',
    field: 'signingSecrets',
    placeholder: '<secret,...>',
    default: '',
    defaultText: '-',
    kind: SIGNING_SECRETS,
    meaning:
      'HS256 secrets, comma-separated, at least 32 characters each; the first one signs, the others are kept for rotation. This or MXHOOK_SIGNING_KEY is required with a function URL.',
  }),
  setting({
    name: 'MXHOOK_SIGNING_KEY',
    field: 'signingKeys',
    placeholder: '<path,...>',
    default: '',
    defaultText: '-',
    kind: SIGNING_KEYS,
    meaning:
      'Ed25519 private key files (PEM or JWK), comma-separated; the first one signs (EdDSA), all are published at /.well-known/jwks.json.',
  }),
  setting({
    name: 'MXHOOK_SIGNATURE_FORMAT',
    field: 'signatureFormat',
    placeholder: '<format>',
    default: 'jws',
    kind: oneOf(SIGNATURE_FORMATS),
    meaning:
      'How calls are signed: jws (the Mxhook-Signature header, a detached JWS) or standard-webhooks (webhook-id, webhook-timestamp and webhook-signature headers, standardwebhooks.com; secrets must then be base64, optionally prefixed whsec_, as `mxhook secret` prints them).',
  }),
  setting({
    name: 'MXHOOK_TLS_CERT',
    field: 'tlsCertificates',
    placeholder: '<path,...>',
    default: '',
    defaultText: '-',
    kind: tlsPairs('MXHOOK_TLS_KEY'),
    meaning:
      'PEM certificate (chain) files, comma-separated; with MXHOOK_TLS_KEY they enable STARTTLS (RFC 3207) and /tls listeners. Each handshake gets the certificate naming the SNI host, else the first. Re-read on SIGHUP and when the files change.',
  }),
  companion({
    name: 'MXHOOK_TLS_KEY',
    readBy: 'MXHOOK_TLS_CERT',
    placeholder: '<path,...>',
    default: '',
    defaultText: '-',
    meaning: 'PEM private key files, one per MXHOOK_TLS_CERT file, in the same order.',
  }),
  setting({
    name: 'MXHOOK_MAX_MESSAGE_SIZE',
    field: 'maxMessageBytes',
    placeholder: '<bytes>',
    default: '10485760',
    kind: wholeNumber('bytes'),
    option: true,
    meaning: 'Largest message accepted, in bytes; announced as SIZE (RFC 1870).',
  }),
  setting({
    name: 'MXHOOK_MAX_RECIPIENTS',
    field: 'maxRecipients',
    placeholder: '<count>',
    default: '100',
    kind: wholeNumber('recipients'),
    option: true,
    meaning: 'Recipients per transaction (RFC 5321 §4.5.3.1.8).',
  }),
  setting({
    name: 'MXHOOK_MAX_CONNECTIONS',
    field: 'maxConnections',
    placeholder: '<count>',
    default: '1000',
    kind: wholeNumber('connections'),
    option: true,
    meaning: 'Concurrent SMTP sessions.',
  }),
  setting({
    name: 'MXHOOK_MAX_CONNECTIONS_PER_IP',
    field: 'maxConnectionsPerIp',
    placeholder: '<count>',
    default: '50',
    kind: wholeNumber('connections'),
    option: true,
    meaning:
      'Concurrent sessions from one client address, past which it gets 421. Direct loopback clients (local relays, tests) are exempt; a client behind a PROXY header never is.',
  }),
  setting({
    name: 'MXHOOK_MAX_CONNECTION_RATE_PER_IP',
    field: 'maxConnectionsPerIpPerMinute',
    placeholder: '<count>',
    default: '120',
    kind: wholeNumber('connections per minute', 0),
    option: true,
    meaning:
      'New connections per minute from one client address, past which it gets 421; 0 turns the limit off. Exempt as for MXHOOK_MAX_CONNECTIONS_PER_IP.',
  }),
  setting({
    name: 'MXHOOK_MAX_BAD_COMMANDS',
    field: 'maxBadCommands',
    placeholder: '<count>',
    default: '20',
    kind: wholeNumber('commands'),
    option: true,
    meaning: 'Unrecognised or failed commands in one session before it gets 421 and is closed.',
  }),
  setting({
    name: 'MXHOOK_MAX_JUNK_COMMANDS',
    field: 'maxJunkCommands',
    placeholder: '<count>',
    default: '100',
    kind: wholeNumber('commands'),
    option: true,
    meaning:
      'Commands that make no progress (NOOP, VRFY, EXPN, RSET, HELP) in one session before it gets 421 4.7.0 and is closed; the count starts over when a message is accepted (as Postfix smtpd_junk_command_limit).',
  }),
  setting({
    name: 'MXHOOK_MAX_SESSION_DURATION',
    field: 'maxSessionDurationMs',
    placeholder: '<seconds>',
    default: '3600',
    kind: seconds(),
    option: true,
    meaning:
      'Seconds a session may last; then it gets 421 4.7.0 and is closed, after the message in flight (if any) has been answered.',
  }),
  setting({
    name: 'MXHOOK_MAX_BYTES_IN_FLIGHT',
    field: 'maxBytesInFlight',
    placeholder: '<bytes>',
    default: '268435456',
    kind: wholeNumber('bytes'),
    option: true,
    meaning:
      'Message bytes held across all sessions, charged as they arrive; a message that would pass it is read to its end and gets 452 4.3.1. At least MXHOOK_MAX_MESSAGE_SIZE.',
  }),
  setting({
    name: 'MXHOOK_IDLE_TIMEOUT',
    field: 'idleTimeoutMs',
    placeholder: '<seconds>',
    default: '300',
    kind: seconds(),
    option: true,
    meaning: "Seconds a session may wait for the client's next command (RFC 5321 §4.5.3.2.7).",
  }),
  setting({
    name: 'MXHOOK_DATA_TIMEOUT',
    field: 'dataTimeoutMs',
    placeholder: '<seconds>',
    default: '600',
    kind: seconds(),
    option: true,
    meaning:
      'Seconds of silence allowed while message data is arriving (RFC 5321 §4.5.3.2.5, §4.5.3.2.6); the whole message must also arrive within this time plus 2 ms per byte (500 bytes/s on average, as Postfix smtpd_min_data_rate).',
  }),
  setting({
    name: 'MXHOOK_FUNCTION_TIMEOUT',
    field: 'functionTimeoutMs',
    placeholder: '<seconds>',
    default: '30',
    kind: seconds(),
    option: true,
    meaning:
      'Seconds one function call may take before it counts as failed (a temporary failure); fractions such as 0.5 are allowed.',
  }),
  setting({
    name: 'MXHOOK_SHUTDOWN_GRACE',
    field: 'shutdownGraceMs',
    placeholder: '<seconds>',
    default: '30',
    kind: seconds({ zeroAllowed: true }),
    option: true,
    meaning: 'Seconds open sessions get to finish on shutdown before they are closed with 421.',
  }),
  setting({
    name: 'MXHOOK_PAYLOAD',
    field: 'payload',
    placeholder: 'raw|parsed|both',
    default: 'both',
    kind: oneOf(PAYLOAD_MODES),
    meaning: 'What the data call carries: the raw message (base64), the parsed message, or both.',
  }),
  setting({
    name: 'MXHOOK_BARE_LF',
    field: 'bareLf',
    placeholder: 'normalize|reject',
    default: 'normalize',
    kind: oneOf(BARE_LF_POLICIES),
    option: true,
    meaning:
      'A line in DATA ending in LF without CR (RFC 5321 §2.3.8): normalize it to CRLF, or refuse the message.',
  }),
  setting({
    name: 'MXHOOK_LONG_LINES',
    field: 'longLines',
    placeholder: 'accept|reject',
    default: 'accept',
    kind: oneOf(LONG_LINE_POLICIES),
    option: true,
    meaning:
      'Message lines over 1000 octets (RFC 5321 §4.5.3.1.6): accept them, or refuse the message.',
  }),
  setting({
    name: 'MXHOOK_TRUSTED_PROXIES',
    field: 'trustedProxies',
    placeholder: '<cidr,...>',
    default: '',
    defaultText: '-',
    kind: NETWORKS,
    option: true,
    meaning:
      'Networks whose connections start with a PROXY protocol v1/v2 header: required from them, refused from others.',
  }),
  setting({
    name: 'MXHOOK_ALLOW_NETWORKS',
    field: 'allowNetworks',
    placeholder: '<cidr|host,...>',
    default: '',
    defaultText: 'all',
    kind: NETWORKS_OR_HOSTS,
    option: true,
    meaning:
      'Client networks allowed to connect, checked before the banner; empty allows all. Host names match their A and AAAA addresses, re-resolved by TTL (30 s to 1 h); a name that does not resolve at start matches nobody until it does.',
  }),
  setting({
    name: 'MXHOOK_DENY_NETWORKS',
    field: 'denyNetworks',
    placeholder: '<cidr|host,...>',
    default: '',
    defaultText: '-',
    kind: NETWORKS_OR_HOSTS,
    option: true,
    meaning:
      'Client networks refused before the banner; deny wins over allow. Host names as for MXHOOK_ALLOW_NETWORKS, except that one that does not resolve at start stops the start.',
  }),
  setting({
    name: 'MXHOOK_DNS_SERVERS',
    field: 'dnsServers',
    placeholder: '<ip[:port],...>',
    default: '',
    defaultText: 'system resolvers',
    kind: DNS_SERVERS,
    option: true,
    meaning:
      'DNS servers the gateway asks (mail authentication, host names in the access lists), comma-separated; IPv6 with a port in brackets ([::1]:53).',
  }),
  setting({
    name: 'MXHOOK_AUTH_CHECKS',
    field: 'authChecks',
    placeholder: '<check,...>',
    default: AUTHENTICATION_CHECKS.join(','),
    defaultText: 'all',
    kind: wordList(AUTHENTICATION_CHECKS, 'a check'),
    option: true,
    meaning:
      "Mail authentication the gateway checks and reports in each call's authentication object, from rdns (forward-confirmed reverse DNS), spf, sender (the MAIL FROM domain accepts mail), dkim, dmarc, arc; none for none (no DNS queries). Verdicts never refuse mail by themselves: the function decides.",
  }),
  setting({
    name: 'MXHOOK_DNS_TIMEOUT',
    field: 'dnsTimeoutMs',
    placeholder: '<seconds>',
    default: '5',
    kind: seconds(),
    option: true,
    meaning:
      'Seconds one authentication check may wait for DNS in all; a check not done by then is temperror, so a slow DNS server delays a step by this much at most.',
  }),
  setting({
    name: 'MXHOOK_QUEUE',
    field: 'queue',
    placeholder: '<dir>|<postgres-url>',
    default: '',
    defaultText: 'off',
    kind: QUEUE_LOCATION,
    meaning:
      'The outbound queue, which sending needs: a directory (message files and SQLite, for one gateway) or a postgres:// URL (one queue shared by several gateways). Off: mxhook only receives, and a data answer asking to deliver gets 451.',
  }),
  setting({
    name: 'MXHOOK_RELAY_NETWORKS',
    field: 'relayNetworks',
    placeholder: '<cidr,...>',
    default: '',
    defaultText: '-',
    kind: NETWORKS,
    meaning:
      "Client networks whose accepted mail is delivered onward (Postfix's mynetworks), as an authenticated session's is; others' only when the data answer says deliver.",
  }),
  setting({
    name: 'MXHOOK_DELIVERY_CONCURRENCY',
    field: 'deliveryConcurrency',
    placeholder: '<count>',
    default: '100',
    kind: wholeNumber('deliveries'),
    meaning:
      "Deliveries (SMTP transactions to other servers) in progress at once, in all (Postfix's and Haraka's default too); each holds its message in memory.",
  }),
  setting({
    name: 'MXHOOK_RETRY_MIN',
    field: 'retryMinMs',
    placeholder: '<seconds>',
    default: '300',
    kind: seconds(),
    meaning:
      'Seconds before the first retry of a deferred delivery; each next waits twice as long.',
  }),
  setting({
    name: 'MXHOOK_RETRY_MAX',
    field: 'retryMaxMs',
    placeholder: '<seconds>',
    default: '4000',
    kind: seconds(),
    meaning: 'Seconds between retries at most (Postfix: 4000).',
  }),
  setting({
    name: 'MXHOOK_QUEUE_LIFETIME',
    field: 'queueLifetimeMs',
    placeholder: '<seconds>',
    default: '432000',
    kind: seconds(),
    meaning:
      'Seconds a message is retried for (5 days) before it is returned to its sender as undeliverable.',
  }),
  setting({
    name: 'MXHOOK_DELAY_WARNING',
    field: 'delayWarningMs',
    placeholder: '<seconds>',
    default: '14400',
    kind: seconds({ zeroAllowed: true }),
    meaning:
      'Seconds a recipient may wait in the outbound queue before its sender gets one "delayed" notice (RFC 3464), when its NOTIFY asks for delays or is absent; 0: never. 4 hours, as sendmail; Postfix sends none by default.',
  }),
  setting({
    name: 'MXHOOK_DKIM_SIGN',
    field: 'dkimSign',
    placeholder: '<dom:sel:keyfile,...>',
    default: '',
    defaultText: '-',
    kind: DKIM_SIGNING,
    meaning:
      'DKIM keys for the mail mxhook delivers (RFC 6376): a message whose From domain is one of these domains, or under one, is signed with its PEM key (RSA of 2048 bits or more, or Ed25519) before it is queued.',
  }),
  setting({
    name: 'MXHOOK_SRS_SECRET',
    field: 'srsSecrets',
    placeholder: '<secret,...>',
    default: '',
    defaultText: '-',
    kind: SIGNING_SECRETS,
    meaning:
      'SRS keys (at least 32 characters each), which a data answer that says forward needs: forwarded mail goes out from an SRS address (SRS0=hash=day=domain=user@MXHOOK_SRS_DOMAIN) signed with the first; bounces to one signed with any of them go back to the original sender.',
  }),
  setting({
    name: 'MXHOOK_SRS_DOMAIN',
    field: 'srsDomain',
    placeholder: '<domain>',
    default: '',
    defaultText: 'MXHOOK_HOSTNAME',
    kind: SRS_DOMAIN,
    meaning:
      'The domain of SRS addresses: its MX must be this gateway (bounces come back to it) and its SPF must allow it. Forwarded mail is ARC-sealed with the MXHOOK_DKIM_SIGN key of this domain, or of a domain it is under.',
  }),
  setting({
    name: 'MXHOOK_REPLY_WINDOW',
    field: 'replyWindowMs',
    placeholder: '<seconds>',
    default: '604800',
    kind: seconds(),
    meaning:
      "Seconds within which a data answer's reply goes at most once to one sender from one address (7 days, as vacation(1)); RFC 3834 §2.",
  }),
  setting({
    name: 'MXHOOK_DELIVERY_TLS',
    field: 'deliveryTls',
    placeholder: '<domain:level,...>',
    default: '',
    defaultText: '*:opportunistic',
    kind: DELIVERY_TLS,
    meaning:
      'TLS that delivery requires, per destination domain (`*`: every other): opportunistic (STARTTLS when offered, certificate not checked), encrypt (STARTTLS required) or verify (STARTTLS required with a certificate valid for the MX host). A requirement not met defers the mail; it is never sent in clear. MTA-STS may raise a level, never lower it.',
  }),
  setting({
    name: 'MXHOOK_MTA_STS',
    field: 'mtaSts',
    placeholder: '<bool>',
    default: 'true',
    kind: BOOLEAN,
    meaning:
      "Honour destination domains' MTA-STS policies (RFC 8461): enforce requires verified TLS to the MX hosts the policy lists, testing only logs what enforce would refuse.",
  }),
  setting({
    name: 'MXHOOK_DELIVERY_PORT',
    field: 'deliveryPort',
    placeholder: '<port>',
    default: '25',
    kind: PORT,
    meaning:
      "The port mail is delivered to. For tests only: the world's MX hosts listen on 25 (RFC 5321 §4.5.4).",
  }),
  setting({
    name: 'MXHOOK_ARCHIVE',
    field: 'archive',
    placeholder: '<dir>|<s3-url>',
    default: '',
    defaultText: 'off',
    kind: ARCHIVE_LOCATION,
    meaning:
      'Keep every accepted message, durably before its 250: in a directory (one file per message, per-recipient links named by a hash of the address) or in S3-compatible object storage (AWS S3, R2, MinIO; shared by a fleet). A write that fails gets 451. Needed for MXHOOK_INLINE_MAX.',
  }),
  companion({
    name: 'MXHOOK_ARCHIVE_ENDPOINT',
    readBy: 'MXHOOK_ARCHIVE',
    placeholder: '<url>',
    default: '',
    defaultText: 'AWS S3',
    meaning:
      'The S3-compatible endpoint of an s3:// archive (https://<account>.r2.cloudflarestorage.com, a MinIO URL), addressed path-style; unset: AWS S3 in MXHOOK_ARCHIVE_REGION.',
  }),
  companion({
    name: 'MXHOOK_ARCHIVE_REGION',
    readBy: 'MXHOOK_ARCHIVE',
    placeholder: '<region>',
    default: 'us-east-1',
    defaultText: 'us-east-1',
    meaning: 'The region requests to an s3:// archive are signed for (R2: auto).',
  }),
  companion({
    name: 'MXHOOK_ARCHIVE_ACCESS_KEY_ID',
    readBy: 'MXHOOK_ARCHIVE',
    placeholder: '<id>',
    default: '',
    defaultText: '-',
    meaning: 'The access key id of an s3:// archive.',
  }),
  companion({
    name: 'MXHOOK_ARCHIVE_SECRET_ACCESS_KEY',
    readBy: 'MXHOOK_ARCHIVE',
    placeholder: '<secret>',
    default: '',
    defaultText: '-',
    meaning: 'The secret access key of an s3:// archive. A secret.',
  }),
  setting({
    name: 'MXHOOK_RETENTION_DAYS',
    field: 'retentionDays',
    placeholder: '<days>',
    default: '30',
    kind: wholeNumber('days', 0),
    meaning:
      'Days an archived message is kept at least; a sweep removes older ones (whole UTC days, a bounded number per run). 0 keeps them until removed by hand (or by an object-storage lifecycle rule).',
  }),
  setting({
    name: 'MXHOOK_INLINE_MAX',
    field: 'inlineMaxBytes',
    placeholder: '<bytes>',
    default: '5242880',
    kind: wholeNumber('bytes', 0),
    meaning:
      'With MXHOOK_ARCHIVE, a larger message goes to the data call by reference (message.rawRef: a short-lived signed URL to the archived bytes) instead of as base64 in the JSON.',
  }),
  setting({
    name: 'MXHOOK_AUTH',
    field: 'auth',
    placeholder: 'off|function|users',
    default: 'off',
    kind: oneOf(AUTH_MODES),
    meaning:
      "SMTP AUTH (RFC 4954): off, checked by the function's auth step, or checked against MXHOOK_AUTH_USERS. Offered only over TLS unless MXHOOK_AUTH_ALLOW_INSECURE is set.",
  }),
  setting({
    name: 'MXHOOK_AUTH_USERS',
    field: 'authUsersPath',
    placeholder: '<path>',
    default: '',
    defaultText: '-',
    kind: READABLE_FILE,
    meaning: 'Users file, required when MXHOOK_AUTH=users.',
  }),
  setting({
    name: 'MXHOOK_AUTH_ALLOW_INSECURE',
    field: 'authAllowInsecure',
    placeholder: '<bool>',
    default: 'false',
    kind: BOOLEAN,
    meaning: 'Offer AUTH on connections without TLS; for local testing only.',
  }),
  setting({
    name: 'MXHOOK_REQUIRE_TLS',
    field: 'requireTls',
    placeholder: '<bool>',
    default: 'false',
    kind: BOOLEAN,
    option: true,
    meaning:
      'Require STARTTLS (or a /tls listener) before MAIL on every listener; see also /require-tls.',
  }),
  setting({
    name: 'MXHOOK_REQUIRE_AUTH',
    field: 'requireAuth',
    placeholder: '<bool>',
    default: 'false',
    kind: BOOLEAN,
    option: true,
    meaning: 'Require AUTH before MAIL on every listener; see also /require-auth.',
  }),
  setting({
    name: 'MXHOOK_HTTP_LISTEN',
    field: 'httpListen',
    placeholder: '<host:port>|off',
    default: '127.0.0.1:9025',
    kind: HOST_PORT_OR_OFF,
    meaning: 'Admin HTTP listener (health, readiness, metrics, JWKS); off disables it.',
  }),
  setting({
    name: 'MXHOOK_AUDIT',
    field: 'audit',
    placeholder: 'on|off',
    default: 'off',
    kind: oneOf(AUDIT_SWITCH),
    meaning:
      'The live audit stream (admin listener, /v1/audit/stream) at start: on makes its events (and keeps recent ones for replay) even with nobody listening; off makes them only while a subscriber is connected. PUT /v1/audit switches it at run time.',
  }),
  setting({
    name: 'MXHOOK_ADMIN_TOKEN',
    field: 'adminToken',
    placeholder: '<token>',
    default: '',
    defaultText: '-',
    kind: ADMIN_TOKEN,
    meaning:
      'Bearer token the audit endpoints require, at least 32 characters (mxhook secret prints one); unset, they answer loopback peers only.',
  }),
  setting({
    name: 'MXHOOK_PUBLIC_URL',
    field: 'publicUrl',
    placeholder: '<url>',
    default: '',
    defaultText: 'the HTTP listener',
    kind: PUBLIC_URL,
    meaning:
      "The base URL at which functions reach the gateway's HTTP listener (behind a proxy, say), for the URLs the gateway hands out: a large archived message's rawRef.",
  }),
  setting({
    name: 'MXHOOK_SEND_TOKEN',
    field: 'sendTokens',
    placeholder: '<token,...>',
    default: '',
    defaultText: '-',
    kind: SEND_TOKENS,
    meaning:
      'Bearer tokens of the send API (POST /v1/send on MXHOOK_HTTP_LISTEN), comma-separated for a rotation, at least 32 characters each. Setting it (or MXHOOK_SEND_SIGNED) turns the send API on; it needs MXHOOK_QUEUE.',
  }),
  setting({
    name: 'MXHOOK_SEND_SIGNED',
    field: 'sendSigned',
    placeholder: '<bool>',
    default: 'false',
    kind: BOOLEAN,
    meaning:
      "Also accept send API requests signed like the gateway's own calls (Mxhook-Signature, verified with MXHOOK_SIGNING_SECRET or the MXHOOK_SIGNING_KEY key pairs), as the SDK's send() signs them.",
  }),
  setting({
    name: 'MXHOOK_SEND_FROM_DOMAINS',
    field: 'sendFromDomains',
    placeholder: '<domain,...>',
    default: '',
    defaultText: 'the DKIM domains',
    kind: DOMAIN_LIST,
    meaning:
      'Sender domains the send API sends for (the From address and the envelope sender, or a subdomain); by default the domains of MXHOOK_DKIM_SIGN. Anything else gets 403.',
  }),
  setting({
    name: 'MXHOOK_DELIVERY_REPORTS',
    field: 'deliveryReports',
    placeholder: '<which>',
    default: 'off',
    kind: oneOf(DELIVERY_REPORT_SCOPES),
    meaning:
      "Signed delivery calls (POST <MXHOOK_FUNCTION_URL>/delivery) after each recipient's delivery attempt: off, send-api (mail queued by the send API) or all (every queued message but notices). At most once, off the delivery path.",
  }),
  setting({
    name: 'MXHOOK_LOG_LEVEL',
    field: 'logLevel',
    placeholder: '<level>',
    default: 'info',
    kind: oneOf(LOG_LEVELS),
    meaning: 'One of fatal, error, warn, info, debug, trace, silent.',
  }),
] as const;

export type VariableName = (typeof VARIABLES)[number]['name'];

export const VARIABLE_PREFIX = 'MXHOOK_';

const ROWS: readonly VariableSpec[] = VARIABLES;

const BY_NAME: ReadonlyMap<string, VariableSpec> = new Map(ROWS.map((spec) => [spec.name, spec]));

/** The rows that are settings of their own, each filling one `GatewayConfig` field. */
export const SETTINGS = ROWS.filter((spec): spec is Setting => 'field' in spec);

export function variableSpec(name: string): VariableSpec | undefined {
  return BY_NAME.get(name);
}

/** A variable's default as text; `''` when it has none. */
export function defaultOf(name: string): string {
  return BY_NAME.get(name)?.default ?? '';
}

/** `MXHOOK_MAX_MESSAGE_SIZE` → `--max-message-size`. */
export function flagFor(name: string): string {
  return `--${name.slice(VARIABLE_PREFIX.length).toLowerCase().replaceAll('_', '-')}`;
}

/** `max-message-size` → `MXHOOK_MAX_MESSAGE_SIZE`, whether or not such a variable exists. */
export function variableForFlag(flagName: string): string {
  return `${VARIABLE_PREFIX}${flagName.toUpperCase().replaceAll('-', '_')}`;
}
