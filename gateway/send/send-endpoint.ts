// POST /v1/send on the gateway's HTTP listener: a message as JSON, authenticated, validated, built
// with MailComposer, DKIM-signed like relayed mail, and queued (origin `send-api`) before the 202.
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { IDEMPOTENCY_KEY_HEADER, type SendResult } from '../../functions/sdk/send-message.ts';
import { OnceKeyConflict, type OutboundQueue } from '../outbound/queue.ts';
import { hasEightBit } from '../pieces.ts';
import { findMessageId } from '../smtp/message-id.ts';
import { isNonAscii } from '../smtp/path.ts';
import { composeMessage } from './compose-message.ts';
import { fingerprintOf, IDEMPOTENCY_TTL_MS, isValidKey } from './idempotency.ts';
import type { SendAuth } from './send-auth.ts';
import { SendApiError } from './send-error.ts';
import { type ValidSend, validateSend } from './send-request.ts';
import { checkRawFrom, checkSender } from './sender-policy.ts';

export interface SendEndpointOptions {
  readonly auth: SendAuth;
  /** The outbound queue; null without MXHOOK_QUEUE (every send then gets 503 ERR_QUEUE_OFF). */
  readonly queue: OutboundQueue | null;
  /** DKIM-signs for the From domain, as the relay does. */
  readonly sign: (message: readonly Buffer[]) => Promise<readonly Buffer[]>;
  /** Sender domains allowed (MXHOOK_SEND_FROM_DOMAINS, else the MXHOOK_DKIM_SIGN domains). */
  readonly fromDomains: readonly string[];
  /** The Message-ID's right-hand side. */
  readonly hostname: string;
  readonly maxMessageBytes: number;
  readonly maxRecipients: number;
  readonly log: Logger;
}

export class SendEndpoint {
  readonly #options: SendEndpointOptions;
  /** A request's body may carry the message in base64 (4/3) plus JSON around it. */
  readonly #maxBodyBytes: number;

  constructor(options: SendEndpointOptions) {
    this.#options = options;
    this.#maxBodyBytes = Math.ceil((options.maxMessageBytes * 4) / 3) + 64 * 1024;
  }

  /** Answers the request; never rejects. */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      const result = await this.#send(request);
      answer(response, 202, result);
    } catch (error) {
      if (!(error instanceof SendApiError)) {
        this.#options.log.error({ err: error }, 'send API failed');
        return answer(response, 500, {
          error: { code: 'ERR_SEND_INTERNAL', message: 'internal error' },
        });
      }
      if (error.status >= 500) this.#options.log.warn({ err: error }, 'send API refused a message');
      answer(response, error.status, { error: { code: error.code, message: error.message } });
    }
  }

  async #send(request: IncomingMessage): Promise<SendResult> {
    const { auth, queue, log } = this.#options;
    if (request.method !== 'POST')
      throw new SendApiError('ERR_METHOD_NOT_ALLOWED', 'the send API takes POST');
    const bytes = await readBody(request, this.#maxBodyBytes);
    const { method, body } = await auth.authenticate(request.headers, bytes);
    if (queue === null)
      throw new SendApiError('ERR_QUEUE_OFF', 'sending needs the outbound queue: set MXHOOK_QUEUE');
    const send = validateSend(body, { maxRecipients: this.#options.maxRecipients });
    this.#checkSenders(send);
    const key = idempotencyKeyOf(request);
    const fingerprint = fingerprintOf(send);
    const ours = `<${messageIdLocalPart(key, fingerprint)}@${this.#options.hostname}>`;
    const { message, messageId } = await this.#build(send, ours);
    if (message.length > this.#options.maxMessageBytes) {
      throw new SendApiError(
        'ERR_MESSAGE_TOO_LARGE',
        `the message is ${message.length} bytes, more than MXHOOK_MAX_MESSAGE_SIZE (${this.#options.maxMessageBytes})`,
      );
    }
    let id: string;
    try {
      id = await queue.enqueue({
        sender: send.from.address,
        recipients: send.recipients.map((address) => ({ address })),
        body: await this.#options.sign([message]),
        // Composed messages are 7-bit (MailComposer encodes); raw ones are taken as they come.
        eightBit: send.raw !== null && hasEightBit([message]),
        smtputf8: send.recipients.some(isNonAscii) || isNonAscii(send.from.address),
        origin: 'send-api',
        ...(key === null
          ? {}
          : { once: { key: `send:${key}`, ttlMs: IDEMPOTENCY_TTL_MS, fingerprint } }),
      });
    } catch (cause) {
      if (cause instanceof OnceKeyConflict) {
        throw new SendApiError(
          'ERR_IDEMPOTENCY_CONFLICT',
          `the ${IDEMPOTENCY_KEY_HEADER} was used for another message within 24 hours`,
        );
      }
      throw new SendApiError('ERR_QUEUE_WRITE', 'the queue could not store the message', { cause });
    }
    log.info(
      {
        queueId: id,
        messageId,
        auth: method,
        recipients: send.recipients.length,
        bytes: message.length,
      },
      'send API queued a message',
    );
    return { id, messageId, recipients: send.recipients };
  }

  #checkSenders(send: ValidSend): void {
    const { fromDomains } = this.#options;
    checkSender(send.from.address, fromDomains, 'from');
    if (send.raw !== null) checkRawFrom(send.raw, fromDomains);
  }

  async #build(
    send: ValidSend,
    messageId: string,
  ): Promise<{ readonly message: Buffer; readonly messageId: string }> {
    if (send.composed !== null) {
      const message = await composeMessage({
        from: send.from,
        parts: send.composed,
        messageId,
        date: new Date(),
      });
      return { message, messageId };
    }
    const raw = send.raw!;
    // A raw message keeps its own Message-ID; one without gets ours, so the answer can name it.
    const own = findMessageId([raw]);
    return own !== null
      ? { message: raw, messageId: own }
      : { message: Buffer.concat([Buffer.from(`Message-ID: ${messageId}\r\n`), raw]), messageId };
  }
}

function idempotencyKeyOf(request: IncomingMessage): string | null {
  const key = request.headers[IDEMPOTENCY_KEY_HEADER.toLowerCase()];
  if (key === undefined) return null;
  if (typeof key !== 'string' || !isValidKey(key)) {
    throw new SendApiError(
      'ERR_IDEMPOTENCY_KEY_INVALID',
      `${IDEMPOTENCY_KEY_HEADER} must be 1 to 255 printable ASCII characters`,
    );
  }
  return key;
}

/** Random, or, for an idempotent request, the same for the same key and message. */
function messageIdLocalPart(key: string | null, fingerprint: string): string {
  if (key === null) return `${Date.now().toString(36)}.${randomBytes(12).toString('hex')}`;
  return createHash('sha256').update(`${key}\n${fingerprint}`).digest('hex').slice(0, 40);
}

/** The body, refused with 413 past `maxBytes` without reading the rest. */
async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new SendApiError('ERR_BODY_TOO_LARGE', `the request body is larger than ${maxBytes} bytes`);
  if (Number(request.headers['content-length'] ?? 0) > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, length);
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    // A body refused unread would otherwise be read as the next request on this connection.
    ...(status === 413 ? { connection: 'close' } : {}),
  });
  response.end(text);
}
