// The hop count of RFC 5321 §6.3: a message with more Received fields than the limit is refused
// with 554 5.4.6 and never reaches the hook; one at the limit goes through untouched.
import { describe, expect, it } from 'vitest';
import type { HookArgs } from '../../../../gateway/handler.ts';
import { hopLimit, MAX_HOPS } from '../../../../gateway/middleware/hop-limit.ts';
import { applyMiddleware } from '../../../../gateway/middleware.ts';

function received(count: number): string {
  return Array.from(
    { length: count },
    (_, i) =>
      `Received: from hop${i}.test\r\n\tby hop${i + 1}.test; Sun, 6 Dec 2026 18:00:00 +0000\r\n`,
  ).join('');
}

/** Runs the data step through hopLimit around a hook that accepts; says whether it was called. */
async function dataAnswer(text: string, maxHops?: number) {
  let called = false;
  const handler = applyMiddleware(
    {
      data: () => {
        called = true;
        return { action: 'accept' };
      },
    },
    [hopLimit(maxHops)],
  );
  const bytes = Buffer.from(text, 'latin1');
  // Split mid-field: the count must not depend on how the message arrived.
  const chunks = [bytes.subarray(0, 37), bytes.subarray(37)];
  const call = {
    message: { chunks, sizeBytes: bytes.length, queueId: 'q.1' },
  } as unknown as HookArgs<'data'>;
  const answer = await handler.data(call);
  return { answer, called };
}

describe('hopLimit', () => {
  it(`lets a message with ${MAX_HOPS} Received fields through to the hook`, async () => {
    const { answer, called } = await dataAnswer(`${received(MAX_HOPS)}Subject: x\r\n\r\nbody\r\n`);
    expect(called).toBe(true);
    expect(answer).toEqual({ action: 'accept' });
  });

  it('refuses one more with 554 5.4.6 without calling the hook', async () => {
    const { answer, called } = await dataAnswer(
      `${received(MAX_HOPS + 1)}Subject: x\r\n\r\nbody\r\n`,
    );
    expect(called).toBe(false);
    expect(answer).toMatchObject({ code: 554, enhanced: '5.4.6' });
    expect(JSON.stringify(answer)).toContain(`${MAX_HOPS + 1} Received`);
  });

  it('counts only the header block, not Received lines quoted in the body', async () => {
    const { called } = await dataAnswer(`${received(2)}Subject: x\r\n\r\n${received(80)}`, 3);
    expect(called).toBe(true);
  });

  it('counts folded fields once, and other fields not at all', async () => {
    const header = `${received(3)}X-Received: a\r\nReceived-SPF: pass\r\n`;
    expect((await dataAnswer(`${header}\r\nbody\r\n`, 3)).called).toBe(true);
    expect((await dataAnswer(`${received(4)}\r\nbody\r\n`, 3)).called).toBe(false);
  });
});
