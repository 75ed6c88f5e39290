// The automatic reply a data answer asks for (reply.ts): what it is built from, where it goes,
// which answers are refused, and which messages get none.
import libmime from 'libmime';
import { describe, expect, it } from 'vitest';
import type { HookArgs } from '../../../../gateway/handler.ts';
import { planReply, replyRequestOf } from '../../../../gateway/outbound/reply.ts';

const SETTINGS = { windowMs: 60_000, sign: async (body: readonly Buffer[]) => body };

function call(sender: string, header = ''): HookArgs<'data'> {
  const text =
    'Received: from client.test by mx.test; Sun, 6 Dec 2026 12:00:00 +0000\r\n' +
    'From: Alice <alice@sender.test>\r\nSubject: =?utf-8?q?Caf=C3=A9?=\r\n' +
    `Message-ID: <m1@sender.test>\r\n${header}\r\nHello.\r\n`;
  return {
    step: 'data',
    envelope: {
      mailFrom: sender === '' ? null : { address: sender, params: {} },
      rcptTo: [{ address: 'bob@example.com', params: {} }],
    },
    message: { chunks: [Buffer.from(text)], sizeBytes: text.length, queueId: 'q1' },
    signal: new AbortController().signal,
  } as unknown as HookArgs<'data'>;
}

async function built(sender: string, request = {}, header = ''): Promise<string> {
  const plan = await planReply(call(sender, header), { text: 'Away.', ...request }, SETTINGS);
  if (!plan.send) throw new Error(`skipped: ${plan.skip}`);
  return Buffer.concat(plan.message.body).toString('utf8');
}

describe('replyRequestOf', () => {
  it('takes an object of strings and checked headers; none when absent', () => {
    expect(replyRequestOf({ action: 'accept' })).toBeNull();
    expect(
      replyRequestOf({ action: 'accept', reply: { text: 'hi', headers: { 'X-A': ' b ' } } }),
    ).toEqual({ text: 'hi', headers: { 'X-A': 'b' } });
  });

  it.each([
    ['a string', 'hi'],
    ['a number field', { text: 1 }],
    ['an unknown field', { body: 'hi' }],
    ['a header name with a colon', { headers: { 'X:A': 'b' } }],
  ])('refuses %s as ERR_HOOK_RESPONSE', (_name, reply) => {
    expect(() => replyRequestOf({ action: 'accept', reply } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_HOOK_RESPONSE' }),
    );
  });
});

describe('planReply', () => {
  it('goes from <> to the envelope sender, once per window, threaded and Auto-Submitted', async () => {
    const plan = await planReply(call('alice@sender.test'), { text: 'Away.' }, SETTINGS);
    expect(plan).toMatchObject({
      send: true,
      message: {
        sender: '',
        recipients: [{ address: 'alice@sender.test' }],
        once: { key: 'reply:bob@example.com:alice@sender.test', ttlMs: 60_000 },
      },
    });
    const text = await built('alice@sender.test');
    expect(text).toMatch(/^From: bob@example\.com\r$/m);
    expect(text).toMatch(/^To: alice@sender\.test\r$/m);
    const subject = /^Subject: (.*)\r$/m.exec(text)?.[1] ?? '';
    expect(libmime.decodeWords(subject)).toBe('Re: Café');
    expect(text).toMatch(/^In-Reply-To: <m1@sender\.test>\r$/m);
    expect(text).toMatch(/^Auto-Submitted: auto-replied\r$/m);
  });

  it('lets headers add fields but not replace the ones it sets', async () => {
    const text = await built('alice@sender.test', {
      headers: { 'Auto-Submitted': 'no', To: 'eve@else.test', 'X-Note': 'vacation' },
    });
    expect(text).toMatch(/^Auto-Submitted: auto-replied\r$/m);
    expect(text).not.toContain('eve@else.test');
    expect(text).toMatch(/^X-Note: vacation\r$/m);
  });

  it("takes from at an accepted recipient's domain, and refuses any other", async () => {
    expect(await built('alice@sender.test', { from: 'noreply-desk@example.com' })).toMatch(
      /^From: noreply-desk@example\.com\r$/m,
    );
    await expect(
      planReply(call('alice@sender.test'), { from: 'ceo@bank.test' }, SETTINGS),
    ).rejects.toMatchObject({ code: 'ERR_HOOK_RESPONSE' });
  });

  it('plans none for the null sender, Auto-Submitted mail and list mail', async () => {
    expect(await planReply(call(''), {}, SETTINGS)).toEqual({ send: false, skip: 'null-sender' });
    expect(
      await planReply(
        call('alice@sender.test', 'Auto-Submitted: auto-generated\r\n'),
        {},
        SETTINGS,
      ),
    ).toEqual({ send: false, skip: 'auto-submitted' });
    expect(
      await planReply(call('alice@sender.test', 'List-Id: <l.sender.test>\r\n'), {}, SETTINGS),
    ).toEqual({ send: false, skip: 'mailing-list' });
  });
});
