// The example Worker's gateway side in workerd: RCPT policy, DATA storage, and the failures that must stay temporary.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../functions/worker/app.ts';
import type { Bindings } from '../../functions/worker/env.ts';
import {
  KV_MAX_VALUE_BYTES,
  MAX_RAW_BYTES,
  MessageStore,
  MessageTooLargeError,
} from '../../functions/worker/message-store.ts';
import {
  dataPayload,
  FakeKv,
  fakeEnv,
  hmacKey,
  OTHER_SECRET,
  rawDataPayload,
  rcptPayload,
  SECRET,
  signedRequest,
} from './helpers.ts';

const app = createApp();

async function call(
  payload: Parameters<typeof signedRequest>[0],
  bindings: Bindings,
  secret = SECRET,
) {
  const response = await app.request(
    await signedRequest(payload, await hmacKey(secret)),
    undefined,
    bindings,
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The Worker with the KV namespaces workerd simulates, as wrangler dev gives it. */
function realEnv(overrides: Partial<Bindings> = {}): Bindings {
  return { ...fakeEnv(), MESSAGES: env.MESSAGES, SEEN: env.SEEN, ...overrides };
}

describe('RCPT', () => {
  it.each([
    ['an address at a configured domain', 'bob@inbox.test'],
    ['a configured domain in another case', 'Bob@INBOX.Test'],
    ['an exact recipient, domain in another case', 'Exact@OTHER.test'],
  ])('accepts %s', async (_name, address) => {
    expect(await call(rcptPayload(address), realEnv())).toEqual({
      status: 200,
      body: { action: 'accept' },
    });
  });

  it.each([
    ['another domain', 'bob@elsewhere.test'],
    ['a subdomain of a configured domain', 'bob@sub.inbox.test'],
    ['an exact recipient with another local part case (local parts are exact)', 'exact@other.test'],
    ['another address at an exact recipient’s domain', 'someone@other.test'],
  ])('refuses %s with 550 5.1.1', async (_name, address) => {
    const { status, body } = await call(rcptPayload(address), realEnv());
    expect(status).toBe(200);
    expect(body).toEqual({
      code: 550,
      enhanced: '5.1.1',
      message: `No mailbox here by the name ${address}`,
    });
  });
});

describe('DATA', () => {
  it('stores the message in KV and answers 250 with the stored id', async () => {
    const bindings = realEnv();
    const { body } = await call(
      dataPayload({ subject: 'Quarterly report', text: 'Numbers inside' }),
      bindings,
    );
    expect(body.action).toBe('accept');
    const id = /^Stored as (\S+)$/.exec(String(body.message))?.[1];
    expect(id).toMatch(/^\d{13}-[0-9a-f]{12}$/);
    const store = new MessageStore(env.MESSAGES);
    const record = await store.get(id!);
    expect(record).toMatchObject({
      id,
      subject: 'Quarterly report',
      text: 'Numbers inside',
      hasRaw: true,
    });
    expect(record?.envelope).toEqual({ mailFrom: 'alice@sender.test', rcptTo: ['bob@inbox.test'] });
    const raw = new TextDecoder().decode((await store.getRaw(id!))!);
    expect(raw).toContain('Subject: Quarterly report\r\n');
    const listed = (await store.list({ limit: 1000 })).messages.find(
      (message) => message.id === id,
    );
    expect(listed).toMatchObject({
      subject: 'Quarterly report',
      from: 'Alice <alice@sender.test>',
      to: 'bob@inbox.test',
    });
  });

  it('keeps only the served recipients of the envelope', async () => {
    const bindings = fakeEnv();
    const { body } = await call(
      dataPayload({ rcptTo: ['bob@inbox.test', 'eve@elsewhere.test'] }),
      bindings,
    );
    const id = String(body.message).replace('Stored as ', '');
    expect((await new MessageStore(bindings.MESSAGES).get(id))?.envelope.rcptTo).toEqual([
      'bob@inbox.test',
    ]);
  });

  it('refuses a message for no served recipient with 554 5.1.1 (when the gateway skips RCPT)', async () => {
    const { body } = await call(dataPayload({ rcptTo: ['eve@elsewhere.test'] }), fakeEnv());
    expect(body).toEqual({
      code: 554,
      enhanced: '5.1.1',
      message: 'No recipient of this message is served here',
    });
  });

  it('parses the raw message itself when the gateway sends no parsed form', async () => {
    const bindings = fakeEnv();
    const payload = rawDataPayload('From: a@sender.test\r\nSubject: Raw only\r\n\r\nbody\r\n');
    const { body } = await call(payload, bindings);
    const id = String(body.message).replace('Stored as ', '');
    expect(await new MessageStore(bindings.MESSAGES).get(id)).toMatchObject({
      subject: 'Raw only',
      from: [{ name: '', address: 'a@sender.test' }],
      text: 'body\n',
      parseProblem: null,
    });
  });

  it('answers 451 4.3.0, never 250, when KV refuses the write', async () => {
    const bindings = fakeEnv();
    bindings.fakeMessages.failWrites = true;
    expect((await call(dataPayload(), bindings)).body).toEqual({
      code: 451,
      enhanced: '4.3.0',
      message: 'Could not store the message; try again later',
    });
  });

  it('answers 451 4.3.0 when the MESSAGES binding is missing', async () => {
    const bindings = { ...fakeEnv(), MESSAGES: undefined } as unknown as Bindings;
    expect((await call(dataPayload(), bindings)).body).toMatchObject({
      code: 451,
      enhanced: '4.3.0',
    });
  });

  it('refuses, before writing, a message larger than the inbox keeps', async () => {
    const kv = new FakeKv();
    const { record, summary } = { record: { id: 'x' } as never, summary: {} as never };
    const save = new MessageStore(kv.asKv()).save(
      record,
      summary,
      new Uint8Array(MAX_RAW_BYTES + 1),
    );
    await expect(save).rejects.toBeInstanceOf(MessageTooLargeError);
    expect(kv.values.size).toBe(0);
  });

  it('keeps raw bytes larger than one KV value in parts, reads them back whole, deletes every part', async () => {
    const kv = new FakeKv();
    const store = new MessageStore(kv.asKv());
    const raw = new Uint8Array(KV_MAX_VALUE_BYTES + 10);
    raw.set([1, 2, 3], KV_MAX_VALUE_BYTES - 1);
    const record = { id: 'big', size: raw.length, hasRaw: true } as never;
    await store.save(record, {} as never, raw);
    expect([...kv.values.keys()].sort()).toEqual(['msg:big', 'raw:big:0', 'raw:big:1']);
    // Compared by digest: a deep comparison of 25 MiB element by element is too slow for workerd.
    const digest = async (bytes: ArrayBuffer | Uint8Array) =>
      new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)).join(',');
    expect(await digest((await store.getRaw('big'))!)).toBe(await digest(raw));
    expect(await store.delete('big')).toBe(true);
    expect(kv.values.size).toBe(0);
  });
});

describe('verification of the gateway’s calls', () => {
  it('refuses a replayed call with 401 ERR_REPLAYED (ids kept in the SEEN namespace)', async () => {
    const bindings = realEnv();
    const request = await signedRequest(rcptPayload('bob@inbox.test'), await hmacKey());
    const first = await app.request(request.clone(), undefined, bindings);
    expect(first.status).toBe(200);
    const again = await app.request(request, undefined, bindings);
    expect(again.status).toBe(401);
    expect(await again.json()).toEqual({ error: 'ERR_REPLAYED' });
  });

  it('refuses a call signed with another secret with 401', async () => {
    expect(await call(rcptPayload('bob@inbox.test'), fakeEnv(), OTHER_SECRET)).toEqual({
      status: 401,
      body: { error: 'ERR_KEY_UNKNOWN' },
    });
  });

  it('refuses with 401 ERR_AUDIENCE_MISMATCH a call signed for another function sharing the secret', async () => {
    const forOther = {
      ...rcptPayload('bob@inbox.test'),
      audience: 'https://other.example/hooks/rcpt',
    };
    expect(await call(forOther, fakeEnv())).toEqual({
      status: 401,
      body: { error: 'ERR_AUDIENCE_MISMATCH' },
    });
  });

  it('checks the audience against MXHOOK_AUDIENCE when it is set', async () => {
    const bindings = fakeEnv({ MXHOOK_AUDIENCE: 'https://mx-hooks.example.com/mxhook/' });
    const forIt = {
      ...rcptPayload('bob@inbox.test'),
      audience: 'https://mx-hooks.example.com/mxhook/rcpt',
    };
    expect((await call(forIt, bindings)).status).toBe(200);
    // Signed for the URL the request arrived at, which MXHOOK_AUDIENCE does not name.
    expect(await call(rcptPayload('bob@inbox.test'), bindings)).toEqual({
      status: 401,
      body: { error: 'ERR_AUDIENCE_MISMATCH' },
    });
  });

  it('accepts both secrets of a comma-separated MXHOOK_SIGNING_SECRET (rotation)', async () => {
    const bindings = fakeEnv({ MXHOOK_SIGNING_SECRET: `${OTHER_SECRET},${SECRET}` });
    for (const secret of [SECRET, OTHER_SECRET]) {
      expect((await call(rcptPayload('bob@inbox.test'), bindings, secret)).status).toBe(200);
    }
  });

  it('fails every call with 500 (a 451 at the gateway) while MXHOOK_SIGNING_SECRET is not set', async () => {
    const { status, body } = await call(
      rcptPayload('bob@inbox.test'),
      fakeEnv({ MXHOOK_SIGNING_SECRET: '' }),
    );
    expect(status).toBe(500);
    expect(String(body.error)).toMatch(/^MXHOOK_SIGNING_SECRET is not set/);
  });
});
