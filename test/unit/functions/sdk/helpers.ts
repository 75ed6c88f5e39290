// Shared fixtures for the SDK tests: typed request payloads for every step, and signed requests built from them.
import { type SigningKey, signBody } from '../../../../functions/sdk/sign.ts';
import {
  type RequestFor,
  type SessionInfo,
  SIGNATURE_HEADER,
  type Step,
  type StepRequest,
} from '../../../../functions/sdk/wire.ts';

/** A fixed clock for every test: 2026-01-01T00:00:00Z, in unix seconds. */
export const NOW = 1_767_225_600;
export const now = (): number => NOW;

export const SECRET = 'test-secret-0123456789abcdefghijklmnopqrstuvwxyz';
export const OTHER_SECRET = 'other-secret-0123456789abcdefghijklmnopqrstuvwxyz';
export const FUNCTION_URL = 'https://hooks.example.com/mx';

const session: SessionInfo = {
  id: 'sess-1',
  client: { address: '203.0.113.25', port: 49152, hostname: 'mail.sender.example' },
  server: { address: '192.0.2.10', port: 25, hostname: 'mx.example.com' },
  helo: 'mail.sender.example',
  tls: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', sni: 'mx.example.com' },
  auth: null,
  proxied: false,
};

const alice = {
  address: 'alice@sender.example',
  params: { SIZE: '1024', SMTPUTF8: true as const },
};

let sequence = 0;

function base<S extends Step>(step: S) {
  sequence += 1;
  return {
    v: 1 as const,
    id: `call-${sequence}`,
    step,
    timestamp: NOW,
    audience: `${FUNCTION_URL}/${step}`,
    session,
    envelope: { mailFrom: step === 'rcpt' || step === 'data' ? alice : null, rcptTo: [] },
  };
}

/** A realistic payload for each step, with a fresh `id` each call. */
export function payloadFor<S extends Step>(step: S): RequestFor<S> {
  const payloads: { [K in Step]: () => RequestFor<K> } = {
    connect: () => base('connect'),
    helo: () => ({ ...base('helo'), helo: { hostname: 'mail.sender.example', esmtp: true } }),
    auth: () => ({
      ...base('auth'),
      auth: { mechanism: 'PLAIN', username: 'alice', password: 'hunter2' },
    }),
    mail: () => ({ ...base('mail'), mailFrom: alice }),
    rcpt: () => ({ ...base('rcpt'), rcpt: { address: 'bob@example.com', params: {} } }),
    data: () => ({
      ...base('data'),
      envelope: { mailFrom: alice, rcptTo: [{ address: 'bob@example.com', params: {} }] },
      message: {
        size: 52,
        raw: btoa('Subject: hi\r\nFrom: alice@sender.example\r\n\r\nHello\r\n'),
        parsed: {
          headers: [
            { name: 'subject', value: 'hi' },
            { name: 'from', value: 'alice@sender.example' },
          ],
          from: [{ name: '', address: 'alice@sender.example' }],
          to: [],
          cc: [],
          replyTo: [],
          subject: 'hi',
          date: null,
          messageId: null,
          inReplyTo: null,
          text: 'Hello\n',
          html: null,
          attachments: [
            {
              filename: 'a.txt',
              contentType: 'text/plain',
              size: 1,
              contentId: null,
              disposition: 'attachment',
              content: 'YQ==',
            },
          ],
        },
      },
    }),
  };
  return payloads[step]() as RequestFor<S>;
}

export function encode(value: unknown): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(JSON.stringify(value));
}

/** A POST as the gateway sends it: JSON body, signed with `key`. */
export async function signedRequest(
  payload: StepRequest | Record<string, unknown>,
  key: SigningKey,
  url = `${FUNCTION_URL}/${String(payload.step)}`,
): Promise<Request> {
  const body = encode(payload);
  return new Request(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: await signBody(body, key) },
  });
}
