// Refuses settings that are each valid alone but contradict each other.
import { ConfigError } from '../errors.ts';
import { standardWebhooksKey } from '../standard-webhooks-secret.ts';
import type { GatewayConfig } from './types.ts';

/** Throws a ConfigError naming the variable that has to change. */
export function checkConsistency(config: GatewayConfig, requireFunctionUrl: boolean): void {
  if (config.functionUrl === null && requireFunctionUrl) {
    throw new ConfigError(
      'MXHOOK_FUNCTION_URL',
      'is required: the base URL of your function, e.g. https://mx.example.workers.dev',
    );
  }
  if (
    config.functionUrl?.protocol === 'http:' &&
    !config.functionInsecureHttp &&
    !isLoopbackHost(config.functionUrl.hostname)
  ) {
    // Signing keeps calls authentic, not private: the message and AUTH passwords would be readable.
    throw new ConfigError(
      'MXHOOK_FUNCTION_URL',
      `http:// to ${config.functionUrl.hostname} would send every call, messages and passwords included, in clear: use https, or set MXHOOK_FUNCTION_INSECURE_HTTP=true`,
    );
  }
  if (
    config.functionUrl !== null &&
    config.signingSecrets.length === 0 &&
    config.signingKeys.length === 0
  ) {
    throw new ConfigError(
      'MXHOOK_SIGNING_SECRET',
      'or MXHOOK_SIGNING_KEY is required with MXHOOK_FUNCTION_URL: every function call is signed',
    );
  }
  if (config.signatureFormat === 'standard-webhooks') {
    config.signingSecrets.forEach((secret, index) => {
      const problem = standardWebhooksKey(secret);
      if (typeof problem !== 'string') return;
      const which =
        config.signingSecrets.length === 1
          ? 'the secret'
          : `secret ${index + 1} of ${config.signingSecrets.length}`;
      throw new ConfigError(
        'MXHOOK_SIGNING_SECRET',
        `with MXHOOK_SIGNATURE_FORMAT=standard-webhooks, ${which} ${problem}`,
      );
    });
  }
  const tlsListener = config.listen.find((listener) => listener.implicitTls);
  if (tlsListener !== undefined && config.tls === null) {
    throw new ConfigError(
      'MXHOOK_LISTEN',
      `the /tls listener on port ${tlsListener.port} needs MXHOOK_TLS_CERT and MXHOOK_TLS_KEY`,
    );
  }
  if (config.maxBytesInFlight < config.maxMessageBytes) {
    throw new ConfigError(
      'MXHOOK_MAX_BYTES_IN_FLIGHT',
      `${config.maxBytesInFlight} is below MXHOOK_MAX_MESSAGE_SIZE (${config.maxMessageBytes}), so a message of the largest allowed size could never be received`,
    );
  }
  if (config.requireTls && config.tls === null) {
    throw new ConfigError('MXHOOK_REQUIRE_TLS', 'needs MXHOOK_TLS_CERT and MXHOOK_TLS_KEY');
  }
  if (config.archive?.kind === 'directory' && config.httpListen === null) {
    throw new ConfigError(
      'MXHOOK_ARCHIVE',
      'a directory archive serves large messages (MXHOOK_INLINE_MAX) on the HTTP listener: MXHOOK_HTTP_LISTEN is off',
    );
  }
  if (config.audit === 'on' && config.httpListen === null) {
    throw new ConfigError(
      'MXHOOK_AUDIT',
      'on needs the admin listener, where the stream is read: MXHOOK_HTTP_LISTEN is off',
    );
  }
  if ((config.sendTokens.length > 0 || config.sendSigned) && config.httpListen === null) {
    throw new ConfigError(
      config.sendTokens.length > 0 ? 'MXHOOK_SEND_TOKEN' : 'MXHOOK_SEND_SIGNED',
      'the send API is served on the HTTP listener: MXHOOK_HTTP_LISTEN is off',
    );
  }
  if (config.sendSigned && config.signingSecrets.length === 0 && config.signingKeys.length === 0) {
    throw new ConfigError(
      'MXHOOK_SEND_SIGNED',
      'needs MXHOOK_SIGNING_SECRET or MXHOOK_SIGNING_KEY, whose keys check the signatures',
    );
  }
  const requireTlsListener = config.listen.find((listener) => listener.requireTls);
  if (requireTlsListener !== undefined && config.tls === null) {
    throw new ConfigError(
      'MXHOOK_LISTEN',
      `the /require-tls listener on port ${requireTlsListener.port} needs MXHOOK_TLS_CERT and MXHOOK_TLS_KEY`,
    );
  }
  const requireAuthListener = config.listen.find((listener) => listener.requireAuth);
  if (requireAuthListener !== undefined && config.auth === 'off') {
    throw new ConfigError(
      'MXHOOK_LISTEN',
      `the /require-auth listener on port ${requireAuthListener.port} needs MXHOOK_AUTH=function or MXHOOK_AUTH=users`,
    );
  }
  if (config.requireAuth && config.auth === 'off') {
    throw new ConfigError('MXHOOK_REQUIRE_AUTH', 'needs MXHOOK_AUTH=function or MXHOOK_AUTH=users');
  }
  if (config.auth === 'function' && config.functionUrl === null) {
    throw new ConfigError('MXHOOK_AUTH', '"function" needs MXHOOK_FUNCTION_URL');
  }
  // RFC 4954 §4 and RFC 8314 §3: credentials do not cross an unencrypted connection, so with
  // no certificate AUTH could never be offered.
  if (config.auth !== 'off' && config.tls === null && !config.authAllowInsecure) {
    throw new ConfigError(
      'MXHOOK_AUTH',
      `"${config.auth}" needs MXHOOK_TLS_CERT and MXHOOK_TLS_KEY (AUTH is offered only over TLS), or MXHOOK_AUTH_ALLOW_INSECURE=true for local testing`,
    );
  }
  if (config.auth === 'users' && config.authUsersPath === null) {
    throw new ConfigError('MXHOOK_AUTH_USERS', 'is required when MXHOOK_AUTH=users');
  }
}

/** 127.0.0.0/8, ::1 and localhost (RFC 6761 §6.3): traffic to them never leaves the machine. */
function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host === '[::1]') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
