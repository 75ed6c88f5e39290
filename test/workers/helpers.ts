// Fixtures for the tests that run in workerd: step payloads, signing, a fake KV and the Worker's env.
import type { KVNamespace } from '@cloudflare/workers-types';
import { exportJWK, generateKeyPair } from 'jose';
import {
  type DataRequest,
  importEd25519PrivateKey,
  importHmacSecret,
  type ParsedMessage,
  type RcptRequest,
  SIGNATURE_HEADER,
  type SigningKey,
  type StepRequest,
  signBody,
} from '../../functions/sdk/index.ts';
import { createApp } from '../../functions/worker/app.ts';
import type { Bindings } from '../../functions/worker/env.ts';

export const SECRET = 'workers-test-secret-0123456789abcdefghijklmnop';
export const OTHER_SECRET = 'workers-other-secret-0123456789abcdefghijklmn';
export const FUNCTION_URL = 'https://inbox.example.workers.dev/mxhook/';

let sequence = 0;

/** Now, in unix seconds, as the gateway stamps `timestamp`. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function base<S extends 'rcpt' | 'data'>(step: S) {
  sequence += 1;
  return {
    v: 1 as const,
    id: `workers-test-${crypto.randomUUID()}-${sequence}`,
    step,
    timestamp: nowSeconds(),
    audience: `${FUNCTION_URL}${step}`,
    session: {
      id: 'session-1',
      client: { address: '203.0.113.25', port: 49152, hostname: 'mail.sender.test' },
      server: { address: '192.0.2.10', port: 25, hostname: 'mx.inbox.test' },
      helo: 'mail.sender.test',
      tls: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', sni: null },
      auth: null,
      proxied: false,
    },
    envelope: { mailFrom: { address: 'alice@sender.test', params: {} }, rcptTo: [] },
  };
}

export function rcptPayload(address: string): RcptRequest {
  return { ...base('rcpt'), rcpt: { address, params: {} } };
}

/** A data call with `parsed` built from `fields` and `raw` from `rawText`. */
export function dataPayload(
  fields: Partial<ParsedMessage> & {
    readonly rcptTo?: readonly string[];
    readonly rawText?: string;
  } = {},
): DataRequest {
  const { rcptTo = ['bob@inbox.test'], rawText, ...parsed } = fields;
  const subject = parsed.subject ?? 'Hello';
  const text =
    rawText ??
    `Subject: ${subject}\r\nFrom: alice@sender.test\r\n\r\n${parsed.text ?? 'Hi Bob'}\r\n`;
  const bytes = new TextEncoder().encode(text);
  return {
    ...base('data'),
    envelope: {
      mailFrom: { address: 'alice@sender.test', params: {} },
      rcptTo: rcptTo.map((address) => ({ address, params: {} })),
    },
    message: {
      size: bytes.byteLength,
      raw: btoa(String.fromCharCode(...bytes)),
      parsed: {
        headers: [
          { name: 'subject', value: subject },
          { name: 'from', value: 'Alice <alice@sender.test>' },
        ],
        from: [{ name: 'Alice', address: 'alice@sender.test' }],
        to: rcptTo.map((address) => ({ name: '', address })),
        cc: [],
        replyTo: [],
        subject,
        date: '2026-11-20T10:00:00.000Z',
        messageId: '<m1@sender.test>',
        inReplyTo: null,
        text: 'Hi Bob',
        html: null,
        attachments: [],
        ...parsed,
      },
    },
  };
}

/** A data call as the gateway sends it with MXHOOK_PAYLOAD=raw: the message as `raw`, no `parsed`. */
export function rawDataPayload(rawText: string): DataRequest {
  const call = dataPayload({ rawText });
  const { parsed: _parsed, ...message } = call.message;
  return { ...call, message };
}

export function hmacKey(secret = SECRET): Promise<SigningKey> {
  return importHmacSecret(secret);
}

export async function newEd25519Key(kid?: string): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  return importEd25519PrivateKey(await exportJWK(privateKey), kid === undefined ? {} : { kid });
}

export function encode(value: unknown): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(JSON.stringify(value));
}

/** A POST exactly as the gateway sends it to `<FUNCTION_URL><step>`. */
export async function signedRequest(
  payload: StepRequest | Record<string, unknown>,
  key: SigningKey,
  path = `/mxhook/${String(payload.step)}`,
): Promise<Request> {
  const body = encode(payload);
  return new Request(new URL(path, 'https://inbox.example.workers.dev'), {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: await signBody(body, key) },
  });
}

/** Delivers a message the way the gateway does (a signed data call); returns the id it was stored as. */
export async function deliver(bindings: Bindings, payload: DataRequest): Promise<string> {
  const response = await createApp().request(
    await signedRequest(payload, await hmacKey()),
    undefined,
    bindings,
  );
  const answer = (await response.json()) as { message: string };
  const id = /^Stored as (\S+)$/.exec(answer.message)?.[1];
  if (id === undefined) throw new Error(`not stored: ${JSON.stringify(answer)}`);
  return id;
}

/**
 * An in-memory stand-in for a KV namespace: the calls the Worker makes (get as text, JSON or
 * bytes; put with metadata; list by prefix, in key order, with a cursor). `failWrites` makes
 * every put reject, as an unavailable store would.
 */
export class FakeKv {
  readonly values = new Map<string, { value: string | ArrayBuffer; metadata: unknown }>();
  failWrites = false;

  async get(key: string, type: 'text' | 'json' | 'arrayBuffer' = 'text'): Promise<unknown> {
    const entry = this.values.get(key);
    if (entry === undefined) return null;
    const { value } = entry;
    if (type === 'arrayBuffer')
      return typeof value === 'string' ? new TextEncoder().encode(value).buffer : value;
    const text = typeof value === 'string' ? value : new TextDecoder().decode(value);
    return type === 'json' ? JSON.parse(text) : text;
  }

  async put(
    key: string,
    value: string | ArrayBuffer | ArrayBufferView,
    options: { metadata?: unknown } = {},
  ) {
    if (this.failWrites) throw new Error('KV PUT failed: 503 Service Unavailable');
    const stored =
      typeof value === 'string' || value instanceof ArrayBuffer
        ? value
        : (value.buffer.slice(
            value.byteOffset,
            value.byteOffset + value.byteLength,
          ) as ArrayBuffer);
    this.values.set(key, { value: stored, metadata: options.metadata });
  }

  async list(options: { prefix?: string; limit?: number; cursor?: string } = {}) {
    const names = [...this.values.keys()]
      .filter((name) => name.startsWith(options.prefix ?? ''))
      .sort();
    const start = options.cursor === undefined ? 0 : Number(options.cursor);
    const end = start + (options.limit ?? 1000);
    const keys = names
      .slice(start, end)
      .map((name) => ({ name, metadata: this.values.get(name)!.metadata }));
    const complete = end >= names.length;
    return complete
      ? { keys, list_complete: true }
      : { keys, list_complete: false, cursor: String(end) };
  }

  async delete(key: string) {
    this.values.delete(key);
  }

  asKv(): KVNamespace {
    return this as unknown as KVNamespace;
  }
}

/** The Worker's env with fake KV namespaces, a secret, and an open inbox unless overridden. */
export function fakeEnv(overrides: Partial<Bindings> = {}): Bindings & { fakeMessages: FakeKv } {
  const messages = new FakeKv();
  return {
    MXHOOK_SIGNING_SECRET: SECRET,
    DOMAINS: 'inbox.test',
    RECIPIENTS: 'Exact@other.test',
    INBOX_PUBLIC: 'true',
    MESSAGES: messages.asKv(),
    SEEN: new FakeKv().asKv(),
    fakeMessages: messages,
    ...overrides,
  };
}
