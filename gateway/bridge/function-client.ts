// POSTs signed request bodies to the function over a keep-alive undici Pool and returns the parsed JSON answer.
import { Readable } from 'node:stream';
import { type Dispatcher, Pool } from 'undici';
import type { DELIVERY_STEP, Step } from '../../functions/sdk/wire.ts';
import { MxhookError } from '../errors.ts';
import type { RequestBody, StampedBody } from './request-body.ts';
import type { SignatureHeaders } from './signature-headers.ts';

export interface FunctionClientOptions {
  /** Base URL; the step name is appended (`<url>/<step>`). */
  readonly url: URL;
  /** Makes the signature headers for a body (see signature-headers.ts). */
  readonly signatureHeaders: SignatureHeaders;
  /** Upper bound on one call, in every phase (connect, headers, body). */
  readonly timeoutMs: number;
  /** Concurrent connections to the function. */
  readonly connections?: number;
}

/** An answer larger than this is not a decision but a misconfigured endpoint. */
const MAX_RESPONSE_BYTES = 64 * 1024;
// Errors that mean the pooled connection was already gone when the request went out.
const DEAD_CONNECTION_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_SOCKET',
  'ECONNRESET',
  'EPIPE',
]);
const USER_AGENT = 'mxhook/0.1';

/** What the client calls: a step, or the delivery report (not an SMTP step). */
export type CallStep = Step | typeof DELIVERY_STEP;

export class FunctionClient {
  readonly #pool: Pool;
  readonly #base: URL;
  readonly #signatureHeaders: SignatureHeaders;
  /** Each step's URL and path, resolved once rather than on every call. */
  readonly #urls = new Map<CallStep, { readonly href: string; readonly path: string }>();

  constructor(options: FunctionClientOptions) {
    this.#base = options.url;
    this.#signatureHeaders = options.signatureHeaders;
    this.#pool = new Pool(options.url.origin, {
      connections: options.connections ?? 128,
      pipelining: 1,
      connect: { timeout: Math.min(options.timeoutMs, 10_000) },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      // Close idle connections before a typical server (Node: 5 s) does, to not reuse a dying one.
      keepAliveTimeout: 4_000,
    });
  }

  /** The URL a step is POSTed to; also the `audience` of its request body. */
  urlOf(step: CallStep): string {
    return this.#urlOf(step).href;
  }

  #urlOf(step: CallStep): { readonly href: string; readonly path: string } {
    let url = this.#urls.get(step);
    if (url === undefined) {
      const resolved = new URL(step, this.#base);
      url = { href: resolved.href, path: resolved.pathname + resolved.search };
      this.#urls.set(step, url);
    }
    return url;
  }

  /**
   * Calls the function. Throws an MxhookError: ERR_HOOK_NETWORK (no connection, reset),
   * ERR_HOOK_STATUS (non-2xx), ERR_HOOK_RESPONSE (not JSON, too large); aborting `signal` aborts.
   */
  async call(step: CallStep, body: StampedBody, signal: AbortSignal): Promise<unknown> {
    const signature = await this.#signatureHeaders(body);
    const { path } = this.#urlOf(step);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      ...signature,
      'user-agent': USER_AGENT,
    };
    try {
      return await this.#post(path, headers, body, signal);
    } catch (error) {
      // One retry, only when the connection broke before any byte of the answer: almost always a
      // keep-alive connection the function closed while it sat idle in the pool. The function may
      // still have seen the first attempt (a replica killed mid-request behind a load balancer), so
      // the retry sends the same body and `id`: a function that deduplicates on `id` is safe. The
      // alternative, a 451, makes the sender retry later with the same risk and more delay.
      if (signal.aborted || !DEAD_CONNECTION_CODES.has(codeOf(error))) throw translate(error, step);
      try {
        return await this.#post(path, headers, body, signal);
      } catch (retryError) {
        throw translate(retryError, step);
      }
    }
  }

  #post(
    path: string,
    headers: Record<string, string>,
    body: RequestBody,
    signal: AbortSignal,
  ): Promise<unknown> {
    // A large body goes out piece by piece, each made when the socket has room for it, with its
    // length known up front, so it is never assembled in memory.
    const options: Dispatcher.DispatchOptions =
      body.whole !== null
        ? { path, method: 'POST', headers, body: body.whole }
        : {
            path,
            method: 'POST',
            headers: { ...headers, 'content-length': String(body.byteLength) },
            // Strings pass through an object-mode stream as they are (see RequestBody.texts).
            body: Readable.from(body.pieces(), { objectMode: true, highWaterMark: 2 }),
          };
    return new Promise((resolve, reject) => {
      this.#pool.dispatch(options, new AnswerReader(signal, resolve, reject));
    });
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

/**
 * Receives one answer through undici's lowest-level interface (a dispatch handler) rather than
 * `request()`: no response stream, async iterator or end-of-stream watcher per call, which at
 * thousands of calls a second were most of the garbage each message left behind.
 *
 * Checks the status and reads the JSON answer, at most MAX_RESPONSE_BYTES of it. A failure before
 * the answer starts is passed on as undici reports it (the caller may retry a dead connection);
 * once the function is answering, every failure is an MxhookError, never a reason to send again.
 */
class AnswerReader implements Dispatcher.DispatchHandler {
  readonly #signal: AbortSignal;
  readonly #resolve: (answer: unknown) => void;
  readonly #reject: (error: unknown) => void;
  #controller: Dispatcher.DispatchController | null = null;
  #statusCode = 0;
  #chunks: Buffer[] = [];
  #length = 0;
  /** The start of a non-2xx answer, where the SDK says why it refused the call. */
  #refusal = '';

  constructor(
    signal: AbortSignal,
    resolve: (answer: unknown) => void,
    reject: (error: unknown) => void,
  ) {
    this.#signal = signal;
    this.#resolve = resolve;
    this.#reject = reject;
    signal.addEventListener('abort', this, { once: true });
  }

  /** The caller gave up (deadline, shutdown, client gone): stop the request where it is. */
  handleEvent(): void {
    this.#controller?.abort(this.#signal.reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#signal.aborted) controller.abort(this.#signal.reason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.#statusCode = statusCode;
  }

  // A non-2xx answer's body is read and dropped, so the connection can serve the next call; either
  // way no more than MAX_RESPONSE_BYTES is read before the call fails.
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#length += chunk.length;
    if (this.#length > MAX_RESPONSE_BYTES) {
      this.#chunks = [];
      controller.abort(
        this.#succeeded()
          ? new MxhookError(
              'ERR_HOOK_RESPONSE',
              `function answer is larger than ${MAX_RESPONSE_BYTES} bytes`,
            )
          : this.#statusError(),
      );
      return;
    }
    if (this.#succeeded()) this.#chunks.push(chunk);
    else if (this.#refusal.length < REFUSAL_READ_CHARS)
      this.#refusal += chunk.toString('latin1', 0, REFUSAL_READ_CHARS);
  }

  onResponseEnd(): void {
    this.#done();
    if (!this.#succeeded()) {
      this.#reject(this.#statusError());
      return;
    }
    const text = Buffer.concat(this.#chunks, this.#length).toString('utf8');
    try {
      this.#resolve(JSON.parse(text));
    } catch (cause) {
      this.#reject(new MxhookError('ERR_HOOK_RESPONSE', 'function answer is not JSON', { cause }));
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    this.#done();
    if (this.#signal.aborted || error instanceof MxhookError || this.#statusCode === 0) {
      this.#reject(this.#signal.aborted ? this.#signal.reason : error);
      return;
    }
    this.#reject(
      new MxhookError('ERR_HOOK_NETWORK', `function answer was cut off: ${error.message}`, {
        cause: error,
      }),
    );
  }

  #done(): void {
    this.#signal.removeEventListener('abort', this);
  }

  #succeeded(): boolean {
    return this.#statusCode >= 200 && this.#statusCode <= 299;
  }

  #statusError(): MxhookError {
    const code = refusalCodeOf(this.#refusal);
    const why = code === null ? '' : ` (${code})`;
    return new MxhookError('ERR_HOOK_STATUS', `function answered HTTP ${this.#statusCode}${why}`);
  }
}

/** How much of a non-2xx answer is kept, to find the SDK's `{"error": "<code>"}` in it. */
const REFUSAL_READ_CHARS = 256;
const REFUSAL_CODE = /^\s*\{\s*"error"\s*:\s*"(ERR_[A-Z0-9_]{1,40})"/;

/**
 * The SDK's reason for refusing a call (`ERR_KEY_UNKNOWN`, `ERR_TIMESTAMP_EXPIRED` …), so the log
 * says why a function answered 401. Only a code of that shape is taken: the rest of an error body
 * could echo the request, and a request can carry a message or an AUTH password.
 */
function refusalCodeOf(body: string): string | null {
  return REFUSAL_CODE.exec(body)?.[1] ?? null;
}

function codeOf(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
}

/** Transport errors become an MxhookError at this boundary, keeping the original as `cause`. */
function translate(error: unknown, step: CallStep): unknown {
  if (error instanceof MxhookError) return error;
  if (error instanceof Error && error.name === 'AbortError') return error;
  const message = error instanceof Error ? error.message : String(error);
  return new MxhookError('ERR_HOOK_NETWORK', `${step} call failed: ${message}`, { cause: error });
}
