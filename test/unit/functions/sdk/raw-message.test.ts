// rawMessage(): the bytes of a data call whether inline or by reference, checked against the reference.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MxhookError, rawMessage } from '../../../../functions/sdk/index.ts';
import type { MessagePayload } from '../../../../functions/sdk/wire.ts';

const bytes = new TextEncoder().encode('Subject: hi\r\n\r\nHello\r\n');
const sha256 = createHash('sha256').update(bytes).digest('hex');
const URL_OF = 'https://mx.example.com/v1/messages/20261206-abc.1/raw?expires=1&signature=x';

function byReference(overrides: Partial<MessagePayload> = {}): { message: MessagePayload } {
  return {
    message: { size: bytes.length, rawRef: { url: URL_OF, sha256, expires: 1 }, ...overrides },
  };
}

/** A fetch answering `body` with `status`, recording the URLs asked for. */
function fetchAnswering(body: Uint8Array, status = 200) {
  const asked: string[] = [];
  const fetch = async (url: string) => {
    asked.push(url);
    return new Response(body, { status });
  };
  return { fetch, asked };
}

async function failure(promise: Promise<unknown>): Promise<MxhookError> {
  const error = await promise.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(MxhookError);
  return error as MxhookError;
}

describe('rawMessage', () => {
  it('decodes an inline message without fetching anything', async () => {
    const { fetch, asked } = fetchAnswering(new Uint8Array());
    const call = { message: { size: bytes.length, raw: Buffer.from(bytes).toString('base64') } };
    expect(await rawMessage(call, { fetch })).toEqual(bytes);
    expect(asked).toEqual([]);
  });

  it('fetches a message by reference and checks its SHA-256', async () => {
    const { fetch, asked } = fetchAnswering(bytes);
    expect(await rawMessage(byReference(), { fetch })).toEqual(bytes);
    expect(asked).toEqual([URL_OF]);
  });

  it('refuses bytes that are not the message: other bytes, too many, too few', async () => {
    const other = bytes.map((byte) => byte ^ 1);
    const longer = new Uint8Array([...bytes, 0]);
    for (const body of [other, longer, bytes.subarray(1)]) {
      const error = await failure(rawMessage(byReference(), fetchAnswering(body)));
      expect(error.code).toBe('ERR_RAW_MISMATCH');
    }
  });

  it('says the message is unavailable when the URL answers otherwise, or there is no raw at all', async () => {
    const expired = await failure(rawMessage(byReference(), fetchAnswering(bytes, 403)));
    expect(expired.code).toBe('ERR_RAW_UNAVAILABLE');
    expect(expired.message).toContain('403');
    const none = await failure(rawMessage({ message: { size: 3 } }));
    expect(none.code).toBe('ERR_RAW_UNAVAILABLE');
    const unreachable = await failure(
      rawMessage(byReference(), {
        fetch: () => Promise.reject(new TypeError('fetch failed')),
      }),
    );
    expect(unreachable.code).toBe('ERR_RAW_UNAVAILABLE');
  });
});
