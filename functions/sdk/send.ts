// The send client: queues a message through the gateway's send API, authenticated by a bearer
// token or by signing each request like the gateway signs its calls, and retried safely.
import type { JWK } from 'jose';
import { MxhookError, type MxhookErrorCode, type SendErrorCode } from './errors.ts';
import {
  IDEMPOTENCY_KEY_HEADER,
  type SendErrorBody,
  type SendMessage,
  type SendResult,
} from './send-message.ts';
import { importSigningKey, type SigningKey, signBody } from './sign.ts';
import { SIGNATURE_HEADER, WIRE_VERSION } from './wire.ts';

/** How the client reaches and authenticates to the gateway. */
export type SendClientOptions = {
  /** The send API's URL, e.g. `https://mx.example.com/v1/send` (the gateway's MXHOOK_PUBLIC_URL + `/v1/send`). */
  readonly url: string | URL;
  /** Attempts after the first on a network error or a 5xx; default 3. */
  readonly retries?: number;
  /** One attempt's limit, in ms; default 30 000. */
  readonly timeoutMs?: number;
  /** The wait before the first retry, in ms, doubled for each next (with jitter); default 250. */
  readonly backoffMs?: number;
  /** The fetch to use; default the global one. */
  readonly fetch?: typeof fetch;
} & (
  | { readonly token: string }
  /** The gateway's MXHOOK_SIGNING_SECRET: requests are signed (HS256); needs MXHOOK_SEND_SIGNED. */
  | { readonly secret: string; readonly kid?: string }
  /** An Ed25519 private key whose public half the gateway signs with (MXHOOK_SIGNING_KEY). */
  | { readonly privateKey: string | JWK; readonly kid?: string }
);

export interface SendOptions {
  /**
   * Makes the send idempotent for 24 hours: the same key with the same message answers the same
   * id and queues nothing more; with another message, 409. Default: a new key per `send()` call,
   * so its own retries are safe. Use one derived from what caused the send (an event id).
   */
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
}

export interface SendClient {
  /**
   * Queues `message`; resolves once the gateway stored it. Rejects with {@link MxhookSendError}.
   */
  send(message: SendMessage, options?: SendOptions): Promise<SendResult>;
}

/** A refusal by the send API (`status` and its `code`), or no usable answer (`status` null). */
export class MxhookSendError extends MxhookError<SendErrorCode | MxhookErrorCode> {
  /** The HTTP status of the answer; null when none came. */
  readonly status: number | null;

  constructor(
    code: SendErrorCode | MxhookErrorCode,
    message: string,
    status: number | null,
    options?: { readonly cause?: unknown },
  ) {
    super(code, message, options);
    this.status = status;
  }
}

const DEFAULT_RETRIES = 3;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_BACKOFF_MS = 250;

type Auth =
  | { readonly kind: 'token'; readonly header: string }
  | { readonly kind: 'signed'; readonly key: Promise<SigningKey> };

/**
 * A client for the gateway's send API. Works on Workers, Node, Deno and Bun (fetch and Web Crypto).
 * Every request carries an Idempotency-Key, so a network error or a 5xx is retried (bounded, with
 * backoff) without ever queueing the message twice.
 *
 * @example
 * ```ts
 * const mail = createSendClient({ url: env.MXHOOK_SEND_URL, token: env.MXHOOK_SEND_TOKEN });
 * const { id } = await mail.send(
 *   { from: 'support@example.com', to: 'alice@example.org', subject: 'Your ticket', text: 'We are on it.' },
 *   { idempotencyKey: `ticket-${ticket.id}-ack` },
 * );
 * ```
 */
export function createSendClient(options: SendClientOptions): SendClient {
  const url = new URL(options.url);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new MxhookError('ERR_OPTION_INVALID', 'option "url" must be an http(s) URL');
  }
  const retries = options.retries ?? DEFAULT_RETRIES;
  if (!Number.isInteger(retries) || retries < 0 || retries > 10) {
    throw new MxhookError('ERR_OPTION_INVALID', 'option "retries" must be a whole number, 0 to 10');
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const backoffMs = options.backoffMs ?? DEFAULT_BACKOFF_MS;
  const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  const auth = authOf(options);
  return {
    async send(message, sendOptions = {}) {
      const key = sendOptions.idempotencyKey ?? crypto.randomUUID();
      for (let attempt = 0; ; attempt++) {
        const outcome = await attemptSend(url, auth, message, key, {
          fetchImpl,
          timeoutMs,
          ...(sendOptions.signal === undefined ? {} : { signal: sendOptions.signal }),
        });
        if ('result' in outcome) return outcome.result;
        if (!outcome.retry || attempt >= retries || sendOptions.signal?.aborted)
          throw outcome.error;
        await sleep(backoffMs * 2 ** attempt * (0.5 + Math.random() / 2));
      }
    },
  };
}

function authOf(options: SendClientOptions): Auth {
  if ('token' in options) {
    if (typeof options.token !== 'string' || options.token === '')
      throw new MxhookError('ERR_OPTION_INVALID', 'option "token" must be a non-empty string');
    return { kind: 'token', header: `Bearer ${options.token}` };
  }
  const kid = options.kid === undefined ? {} : { kid: options.kid };
  if ('secret' in options)
    return { kind: 'signed', key: importSigningKey({ secret: options.secret, ...kid }) };
  if ('privateKey' in options)
    return { kind: 'signed', key: importSigningKey({ privateKey: options.privateKey, ...kid }) };
  throw new MxhookError('ERR_OPTION_INVALID', 'give one of "token", "secret" or "privateKey"');
}

type Attempt =
  | { readonly result: SendResult }
  | { readonly error: MxhookSendError; readonly retry: boolean };

async function attemptSend(
  url: URL,
  auth: Auth,
  message: SendMessage,
  idempotencyKey: string,
  io: {
    readonly fetchImpl: typeof fetch;
    readonly timeoutMs: number;
    readonly signal?: AbortSignal;
  },
): Promise<Attempt> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    [IDEMPOTENCY_KEY_HEADER]: idempotencyKey,
  };
  // Sent as the JSON text: fetch encodes it as UTF-8, the very bytes signed below.
  let body: string;
  if (auth.kind === 'token') {
    headers.authorization = auth.header;
    body = JSON.stringify(message);
  } else {
    // Signed and stamped like the gateway's own calls; each attempt afresh, as the gateway refuses
    // a request id it has seen (and the idempotency key, not the id, is what deduplicates).
    body = JSON.stringify({
      ...message,
      v: WIRE_VERSION,
      id: crypto.randomUUID(),
      timestamp: Math.floor(Date.now() / 1000),
      audience: url.href,
    });
    headers[SIGNATURE_HEADER] = await signBody(new TextEncoder().encode(body), await auth.key);
  }
  const timeout = AbortSignal.timeout(io.timeoutMs);
  const signal = io.signal === undefined ? timeout : AbortSignal.any([io.signal, timeout]);
  let response: Response;
  try {
    response = await io.fetchImpl(url, { method: 'POST', headers, body, signal });
  } catch (cause) {
    if (io.signal?.aborted) throw cause;
    const why = cause instanceof Error ? cause.message : String(cause);
    return {
      error: new MxhookSendError('ERR_SEND_NETWORK', `no answer from ${url.href}: ${why}`, null, {
        cause,
      }),
      retry: true,
    };
  }
  const answer: unknown = await response.json().catch(() => null);
  if (response.ok && isResult(answer)) return { result: answer };
  const refusal = isErrorBody(answer) ? answer.error : null;
  const refused = refusal?.code as SendErrorCode | undefined;
  const code = refused ?? 'ERR_SEND_FAILED';
  const error = new MxhookSendError(
    code,
    refusal?.message ?? `the send API answered HTTP ${response.status} without its JSON`,
    response.status,
  );
  return { error, retry: response.status >= 500 };
}

function isResult(value: unknown): value is SendResult {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as SendResult).id === 'string' &&
    typeof (value as SendResult).messageId === 'string'
  );
}

function isErrorBody(value: unknown): value is SendErrorBody {
  const error = (value as SendErrorBody | null)?.error;
  return typeof error?.code === 'string' && typeof error.message === 'string';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
