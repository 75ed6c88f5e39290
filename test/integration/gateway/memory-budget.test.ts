// The shared budget for message bytes in flight, over real sockets: a message that would pass it,
// and new DATA/BDAT while it is used up, get 452 4.3.1.
import { afterEach, describe, expect, it } from 'vitest';
import {
  destroyAllClients,
  inTransaction,
  type SmtpReply,
  sendData,
  transaction,
} from '../../helpers/smtp-client.ts';
import { gate, startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';
import { waitUntil } from '../../helpers/wait.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
});

const BUDGET_BYTES = 64 * 1024;
const OVER_BUDGET = '452 4.3.1 Insufficient system storage, try again later\r\n';
/** Exactly the budget (16 + 655 × 100 + 20 bytes), in lines well under 1000 octets. */
const BIG_BODY = `Subject: big\r\n\r\n${`${'x'.repeat(98)}\r\n`.repeat(655)}${'y'.repeat(18)}\r\n`;

describe('memory budget for message bytes in flight', () => {
  it('replies 452 4.3.1 to DATA while another session holds a message past the budget', async () => {
    const gw = await startGateway({ maxBytesInFlight: BUDGET_BYTES, maxMessageBytes: 1 << 20 });
    const holder = await inTransaction(gw.port);
    expect((await holder.command('DATA')).code).toBe(354);
    await holder.send(BIG_BODY); // no end marker yet: the gateway holds the bytes
    await waitUntil(() => gw.gateway.bytesInFlight >= BUDGET_BYTES, 'the message bytes to be held');

    const refused = await inTransaction(gw.port);
    expect((await refused.command('DATA')).raw).toBe(OVER_BUDGET);
    // The client shows it read the refusal (a NOOP with nothing behind it) before going on.
    expect((await refused.command('NOOP')).code).toBe(250);
    // The transaction stays open (RFC 5321 §4.1.1.4 only resets after a failed DATA *transfer*).
    expect((await refused.command('RCPT TO:<more@mx.test>')).code).toBe(250);

    await holder.send('.\r\n');
    expect((await holder.readReply()).code).toBe(250);
    await waitUntil(() => gw.gateway.bytesInFlight === 0, 'the held bytes to be released');
    expect((await sendData(refused, 'Subject: later\r\n\r\nfits now\r\n')).code).toBe(250);
    expect(gw.messages).toHaveLength(2);
  });

  it('counts a message waiting for the data function until its answer', async () => {
    const held = gate<'data'>();
    const gw = await startGateway({
      maxBytesInFlight: BUDGET_BYTES,
      maxMessageBytes: 1 << 20,
      script: { data: held.hook },
    });
    const holder = await inTransaction(gw.port);
    expect((await holder.command('DATA')).code).toBe(354);
    await holder.send(`${BIG_BODY}.\r\n`);
    await gw.waitForCall('data');
    expect(gw.gateway.bytesInFlight).toBeGreaterThanOrEqual(BUDGET_BYTES);

    const refused = await inTransaction(gw.port);
    expect((await refused.command('DATA')).raw).toBe(OVER_BUDGET);
    expect((await refused.command('NOOP')).code).toBe(250); // the refusal was read
    // BDAT is refused the same way, after its chunk is read (RFC 3030 §2), which ends the transaction.
    await refused.send('BDAT 5 LAST\r\nhello');
    expect((await refused.readReply()).raw).toBe(OVER_BUDGET);

    held.open({ action: 'accept' });
    expect((await holder.readReply()).code).toBe(250);
    await waitUntil(() => gw.gateway.bytesInFlight === 0, 'the held bytes to be released');
    expect((await refused.command('NOOP')).code).toBe(250);
  });

  it('releases the bytes of a session that disconnects in the middle of DATA', async () => {
    const gw = await startGateway({ maxBytesInFlight: BUDGET_BYTES, maxMessageBytes: 1 << 20 });
    const quitter = await inTransaction(gw.port);
    expect((await quitter.command('DATA')).code).toBe(354);
    await quitter.send(BIG_BODY);
    await waitUntil(() => gw.gateway.bytesInFlight >= BUDGET_BYTES, 'the message bytes to be held');
    quitter.destroy();
    await waitUntil(() => gw.gateway.bytesInFlight === 0, 'the held bytes to be released');

    const next = await inTransaction(gw.port);
    expect((await sendData(next, 'Subject: next\r\n\r\nbody\r\n')).code).toBe(250);
  });

  it('releases kept BDAT chunks when the transaction is reset by RSET', async () => {
    const gw = await startGateway({ maxBytesInFlight: BUDGET_BYTES, maxMessageBytes: 1 << 20 });
    const client = await inTransaction(gw.port);
    const chunk = 'y'.repeat(4096);
    await client.send(`BDAT ${chunk.length}\r\n${chunk}`);
    expect((await client.readReply()).code).toBe(250);
    expect(gw.gateway.bytesInFlight).toBe(chunk.length);
    expect((await client.command('RSET')).code).toBe(250);
    await waitUntil(() => gw.gateway.bytesInFlight === 0, 'the reset transaction to be released');
  });

  it('charges bytes as they arrive: concurrent DATA and BDAT past the budget get 452 4.3.1 after their end', async () => {
    const held = gate<'data'>();
    const gw = await startGateway({
      maxBytesInFlight: BUDGET_BYTES,
      maxMessageBytes: BUDGET_BYTES,
      script: { data: held.hook },
    });
    // 40 KiB each: one fits, two would not. The one that completes is held until its answer.
    const content = `Subject: part\r\n\r\n${`${'z'.repeat(1022)}\r\n`.repeat(40)}`;
    const clients = await Promise.all([1, 2, 3, 4].map(() => inTransaction(gw.port)));
    for (const client of clients.slice(0, 2)) expect((await client.command('DATA')).code).toBe(354);
    const settled = new Map<number, SmtpReply>();
    const finals = clients.map((client, k) =>
      client.readReply().then((reply) => settled.set(k, reply).get(k)!),
    );
    await Promise.all([
      clients[0]!.send(`${content}.\r\n`),
      clients[1]!.send(`${content}.\r\n`),
      clients[2]!.send(`BDAT ${content.length} LAST\r\n${content}`),
      clients[3]!.send(`BDAT ${content.length} LAST\r\n${content}`),
    ]);
    await gw.waitForCall('data');
    await waitUntil(() => settled.size === 3, 'the three messages that did not fit to be answered');
    expect([...settled.values()].map((r) => r.raw)).toEqual([
      OVER_BUDGET,
      OVER_BUDGET,
      OVER_BUDGET,
    ]);
    expect(gw.gateway.bytesInFlight).toBe(content.length);
    expect(gw.gateway.bytesInFlightHighWater).toBeLessThanOrEqual(BUDGET_BYTES);

    const refused = [...settled.keys()];
    held.open({ action: 'accept' });
    expect((await Promise.all(finals)).filter((r) => r.code === 250)).toHaveLength(1);
    await waitUntil(() => gw.gateway.bytesInFlight === 0, 'the held bytes to be released');
    // The refused sessions go on, and each sends its message now.
    for (const k of refused) {
      await transaction(clients[k]!, 'again@client.test', ['b@mx.test']);
      expect((await sendData(clients[k]!, content)).code).toBe(250);
    }
    expect(gw.messages).toHaveLength(4);
    expect(gw.gateway.bytesInFlightHighWater).toBeLessThanOrEqual(BUDGET_BYTES);
  });
});
