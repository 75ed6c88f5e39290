// `"reply"` data answers end to end: `mxhook serve` with a queue builds an automatic reply, sends
// it to the envelope sender's MX (a receiving MTA on 127.0.0.4) from the null sender, threaded,
// marked Auto-Submitted and DKIM-signed (checked by the tests' own verifier); and RFC 3834's
// rules hold: one reply per sender within MXHOOK_REPLY_WINDOW, none to the null sender, to
// automatic mail, to list mail, or for a message the function refused.
import { describe, expect, it } from 'vitest';
import { capturingLogger } from '../../helpers/capturing-logger.ts';
import { verifyDkim } from '../../helpers/dkim-verifier.ts';
import { json } from '../../helpers/function-server.ts';
import type { ReceivingMta } from '../../helpers/receiving-mta.ts';
import { waitUntil } from '../../helpers/wait.ts';
import {
  messageFrom,
  OWN_DOMAIN,
  sendMessage,
  startMtas,
  startSendOnBridge,
  useSendOnWorld,
} from './send-on.ts';

const world = useSendOnWorld();

const BOB = `bob@${OWN_DOMAIN}`;
const REPLY = {
  action: 'accept',
  reply: { text: 'I am away until Monday.', headers: { 'X-Vacation': 'yes' } },
} as const;

function arrived(mta: ReceivingMta, count = 1): Promise<void> {
  return waitUntil(() => mta.messages.length >= count, `${count} message(s) at ${mta.address}`);
}

/** The header block of a received message, unfolded. */
function headerOf(message: Buffer): string {
  const text = message.toString('utf8');
  return text.slice(0, text.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
}

describe('reply', () => {
  it('replies to the envelope sender from the recipient, threaded, Auto-Submitted, DKIM-signed, from <>', async () => {
    const { senderMx } = await startMtas(world());
    const { fn, bridge } = await startSendOnBridge(world());
    fn.answer('data', json(REPLY));
    const reply = await sendMessage(bridge.port, {
      // RFC 3834 §4: the envelope sender, not From, gets the reply.
      from: 'alice@reject.test',
      to: [BOB],
      text: messageFrom('someone-else@none.test', 'References: <m0@none.test>\r\n'),
    });
    expect(reply.code).toBe(250);
    await arrived(senderMx);
    const [answer] = senderMx.messages;
    expect(answer!.mailFrom).toBe('');
    expect(answer!.recipients.map((r) => r.address)).toEqual(['alice@reject.test']);
    const header = headerOf(answer!.body);
    expect(header).toMatch(/^From: bob@mx\.test$/m);
    expect(header).toMatch(/^To: alice@reject\.test$/m);
    expect(header).toMatch(/^Subject: Re: Quarterly figures$/m);
    expect(header).toMatch(/^In-Reply-To: <m1@none\.test>$/m);
    expect(header).toMatch(/^References: <m0@none\.test> <m1@none\.test>$/m);
    expect(header).toMatch(/^Auto-Submitted: auto-replied$/m);
    expect(header).toMatch(/^X-Vacation: yes$/m);
    expect(answer!.body.toString('utf8')).toContain('I am away until Monday.');
    expect(await verifyDkim(answer!.body, world().resolver)).toMatchObject({
      result: 'pass',
      domain: OWN_DOMAIN,
    });
  });

  it('replies once per sender within MXHOOK_REPLY_WINDOW', async () => {
    const { senderMx } = await startMtas(world());
    const { fn, bridge } = await startSendOnBridge(world());
    fn.answer('data', json(REPLY));
    for (const id of ['<w1@reject.test>', '<w2@reject.test>']) {
      const text = messageFrom('alice@reject.test', '', id);
      expect(
        (await sendMessage(bridge.port, { from: 'alice@reject.test', to: [BOB], text })).code,
      ).toBe(250);
    }
    // Another sender's reply is queued after both: once it arrived, the second would have too.
    const text = messageFrom('carol@reject.test');
    expect(
      (await sendMessage(bridge.port, { from: 'carol@reject.test', to: [BOB], text })).code,
    ).toBe(250);
    await waitUntil(
      () => senderMx.messages.some((m) => m.recipients[0]?.address === 'carol@reject.test'),
      "carol's reply",
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const toAlice = senderMx.messages.filter(
      (m) => m.recipients[0]?.address === 'alice@reject.test',
    );
    expect(toAlice).toHaveLength(1);
    expect(headerOf(toAlice[0]!.body)).toMatch(/^In-Reply-To: <w1@reject\.test>$/m);
  });

  it('sends none to <>, to Auto-Submitted or List-Id mail, or for a refused message; the answer stands', async () => {
    const { senderMx } = await startMtas(world());
    const { logger, lines } = capturingLogger('info');
    const { fn, bridge } = await startSendOnBridge(world(), {}, logger);
    fn.answer('data', json(REPLY));
    const cases = [
      { from: '', extra: '' },
      { from: 'alice@reject.test', extra: 'Auto-Submitted: auto-replied\r\n' },
      { from: 'alice@reject.test', extra: 'List-Id: <news.reject.test>\r\n' },
      { from: 'alice@reject.test', extra: 'Precedence: bulk\r\n' },
    ];
    for (const { from, extra } of cases) {
      const text = messageFrom('alice@reject.test', extra);
      expect((await sendMessage(bridge.port, { from, to: [BOB], text })).code).toBe(250);
    }
    fn.answerOnce('data', json({ ...REPLY, action: 'reject' }));
    const refused = messageFrom('alice@reject.test');
    expect(
      (await sendMessage(bridge.port, { from: 'alice@reject.test', to: [BOB], text: refused }))
        .code,
    ).toBe(554);
    // The control: a plain message gets its reply, and it is the only one.
    const text = messageFrom('alice@reject.test');
    expect(
      (await sendMessage(bridge.port, { from: 'alice@reject.test', to: [BOB], text })).code,
    ).toBe(250);
    await arrived(senderMx);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(senderMx.messages).toHaveLength(1);
    // Each skip is in the log, with the rule that made it.
    const skips = lines.filter((line) => line.msg === 'automatic reply not sent (RFC 3834)');
    expect(skips.map((line) => line.skip)).toEqual([
      'null-sender',
      'auto-submitted',
      'mailing-list',
      'bulk',
    ]);
    expect(lines.some((line) => String(line.msg).startsWith('forward and reply ignored'))).toBe(
      true,
    );
  });

  it("answers 451 for a reply from outside the recipients' domains, and without a queue", async () => {
    const { fn, bridge } = await startSendOnBridge(world());
    fn.answer('data', json({ action: 'accept', reply: { text: 'hi', from: 'ceo@bank.test' } }));
    const text = messageFrom('alice@reject.test');
    expect(
      (await sendMessage(bridge.port, { from: 'alice@reject.test', to: [BOB], text })).code,
    ).toBe(451);
    const plain = await startSendOnBridge(world(), { MXHOOK_QUEUE: '' });
    plain.fn.answer('data', json(REPLY));
    expect(
      (await sendMessage(plain.bridge.port, { from: 'alice@reject.test', to: [BOB], text })).code,
    ).toBe(451);
  });
});
