// The OutboundQueue contract (gateway/outbound/queue.ts), as one suite every engine runs: each
// engine's test file calls `queueConformance` with a factory for fresh, empty storage.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type NewMessage,
  OnceKeyConflict,
  type OutboundQueue,
} from '../../../gateway/outbound/queue.ts';

/** Fresh, empty storage for one test; `open` may be called again after `close` (a restart). */
export interface QueueStorage {
  open(): Promise<OutboundQueue>;
  /**
   * Opening takes the queue for this process alone (the embedded queue), so the leases left in it
   * were a dead process's and are released at once; false where other nodes may hold them.
   */
  readonly ownedByOneProcess: boolean;
}

const LEASE_MS = 60_000;
const HOUR = 3_600_000;

export function message(recipients: readonly string[], body = `Subject: hi\r\n\r\nhello\r\n`) {
  return {
    sender: 'sender@example.com',
    recipients: recipients.map((address) => ({ address })),
    body: [Buffer.from(body)],
    origin: 'test',
  } satisfies NewMessage;
}

/**
 * Claims message `id` and records a deferral of its recipient a@x.test with the delay notice sent:
 * what a queue upgraded from a version without delay_notified must be able to store.
 */
/** The body a queued message keeps (the test fails when the message is gone). */
export async function bodyOf(queue: OutboundQueue, id: string): Promise<readonly Buffer[]> {
  const found = (await queue.messagesWithBodies([id])).get(id);
  expect(found, `message ${id} queued`).toBeDefined();
  return found!.body;
}

export async function deferWithDelayNotice(queue: OutboundQueue, id: string): Promise<void> {
  await queue.claim('w1', 1, Date.now(), 60_000);
  await queue.record('w1', id, 'a@x.test', {
    kind: 'deferred',
    reply: '451 4.4.1 no answer',
    retryAt: Date.now(),
    delayNotified: true,
  });
}

function joined(pieces: readonly Buffer[]): Buffer {
  return Buffer.concat(pieces);
}

export function queueConformance(name: string, fresh: () => Promise<QueueStorage>): void {
  describe(`${name}: the OutboundQueue contract`, () => {
    const opened: OutboundQueue[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((queue) => queue.close()));
    });

    async function open(storage?: QueueStorage): Promise<OutboundQueue> {
      const queue = await (storage ?? (await fresh())).open();
      opened.push(queue);
      return queue;
    }

    it('shows an enqueued message with every field and its recipients queued', async () => {
      const queue = await open();
      const before = Date.now();
      const id = await queue.enqueue({
        sender: '',
        recipients: [
          {
            address: 'a@example.com',
            notify: ['success', 'failure'],
            originalRecipient: 'rfc822;a@x',
          },
          { address: 'b@example.net' },
          { address: 'a@example.com' },
        ],
        body: [Buffer.from('Subject: x\r\n\r\n'), Buffer.from('body\r\n')],
        returnContent: 'full',
        envelopeId: 'env-1',
        smtputf8: true,
        eightBit: true,
        origin: 'Q123',
      });
      expect(id).toMatch(/^\d{13}[A-Za-z0-9_-]+$/);
      const record = await queue.message(id);
      expect(record).toMatchObject({
        id,
        sender: '',
        sizeBytes: 20,
        returnContent: 'full',
        envelopeId: 'env-1',
        smtputf8: true,
        eightBit: true,
        origin: 'Q123',
      });
      expect(record!.createdAt).toBeGreaterThanOrEqual(before);
      expect(record!.createdAt).toBeLessThanOrEqual(Date.now());
      // The duplicate address is one recipient: (message, address) names it.
      expect(record!.recipients).toEqual([
        {
          address: 'a@example.com',
          notify: ['success', 'failure'],
          originalRecipient: 'rfc822;a@x',
          state: 'queued',
          attempts: 0,
          nextAttemptAt: record!.createdAt,
          lastResult: null,
        },
        {
          address: 'b@example.net',
          state: 'queued',
          attempts: 0,
          nextAttemptAt: record!.createdAt,
          lastResult: null,
        },
      ]);
      expect(await queue.message('0000000000000nosuch')).toBeNull();
    });

    it('gives back the body byte for byte: pieces, all 256 byte values, 2 MiB', async () => {
      const queue = await open();
      const pieces = [Buffer.from('a'), Buffer.alloc(0), Buffer.from([...Array(256).keys()])];
      const small = await queue.enqueue({ ...message(['a@x.test']), body: pieces });
      expect(joined(await bodyOf(queue, small))).toEqual(joined(pieces));
      const large = randomBytes(2 * 1024 * 1024);
      const big = await queue.enqueue({
        ...message(['a@x.test']),
        body: [large.subarray(0, 1000), large.subarray(1000)],
      });
      expect(joined(await bodyOf(queue, big)).equals(large)).toBe(true);
      expect((await queue.message(big))!.sizeBytes).toBe(large.length);
    });

    it('gives messages with their bodies at once: the records message() gives, each body whole', async () => {
      const queue = await open();
      const long = `Subject: three\r\n\r\n${'x'.repeat(70_000)}\r\n`;
      const three = await queue.enqueue(message(['a@x.test', 'b@y.test', 'c@z.test'], long));
      const one = await queue.enqueue(message(['d@x.test'], 'short'));
      const gone = await queue.enqueue(message(['e@x.test'], long));
      expect(await queue.remove(gone)).toBe(true);
      const found = await queue.messagesWithBodies([one, three, gone, three]);
      expect([...found.keys()].sort()).toEqual([one, three].sort());
      expect(found.get(three)?.message).toEqual(await queue.message(three));
      expect(found.get(three)?.message.recipients).toHaveLength(3);
      expect(joined(found.get(three)!.body).toString()).toBe(long);
      expect(found.get(one)?.message).toEqual(await queue.message(one));
      expect(joined(found.get(one)!.body).toString()).toBe('short');
      expect((await queue.messagesWithBodies([])).size).toBe(0);
    });

    it('keeps a shared body until the last message with those bytes is gone', async () => {
      const queue = await open();
      const first = await queue.enqueue(message(['a@x.test'], 'same bytes'));
      const second = await queue.enqueue(message(['b@x.test'], 'same bytes'));
      const third = await queue.enqueue(message(['c@x.test'], 'same bytes'));
      expect(await queue.remove(first)).toBe(true);
      expect(joined(await bodyOf(queue, second)).toString()).toBe('same bytes');
      await queue.claim('w1', 10, Date.now(), LEASE_MS);
      await queue.record('w1', second, 'b@x.test', { kind: 'delivered', reply: '250' });
      expect(await queue.message(second)).toBeNull();
      expect(joined(await bodyOf(queue, third)).toString()).toBe('same bytes');
      await queue.record('w1', third, 'c@x.test', { kind: 'delivered', reply: '250' });
      // Stored again once the last copy is gone.
      const fourth = await queue.enqueue(message(['d@x.test'], 'same bytes'));
      expect(joined(await bodyOf(queue, fourth)).toString()).toBe('same bytes');
    });

    it('claims only due recipients, oldest first, at most limit', async () => {
      const queue = await open();
      const later = await queue.enqueue(message(['0@x.test']));
      await finish(queue, later, 'deferred', Date.now() + HOUR);
      const first = await queue.enqueue(message(['1@x.test', '2@x.test']));
      const second = await queue.enqueue(message(['3@x.test']));
      const now = Date.now();
      const claims = await queue.claim('w1', 2, now, LEASE_MS);
      expect(claims).toEqual([
        { messageId: first, address: '1@x.test', attempts: 0, leaseUntil: now + LEASE_MS },
        { messageId: first, address: '2@x.test', attempts: 0, leaseUntil: now + LEASE_MS },
      ]);
      const rest = await queue.claim('w1', 10, now, LEASE_MS);
      expect(rest.map((c) => [c.messageId, c.address])).toEqual([[second, '3@x.test']]);
      expect(await queue.claim('w1', 10, now, LEASE_MS)).toEqual([]);
      expect((await queue.message(first))!.recipients[0]!.state).toBe('delivering');
    });

    it('never gives one recipient to two concurrent claimers (200 recipients)', async () => {
      const queue = await open();
      for (let m = 0; m < 20; m++) {
        await queue.enqueue(message(Array.from({ length: 10 }, (_, r) => `r${r}@m${m}.test`)));
      }
      const now = Date.now();
      const claimer = async (owner: string): Promise<string[]> => {
        const got: string[] = [];
        for (;;) {
          const claims = await queue.claim(owner, 7, now, LEASE_MS);
          if (claims.length === 0) return got;
          got.push(...claims.map((c) => `${c.messageId}/${c.address}`));
        }
      };
      const [a, b] = await Promise.all([claimer('a'), claimer('b')]);
      const all = [...a!, ...b!];
      expect(all).toHaveLength(200);
      expect(new Set(all).size).toBe(200);
    });

    it('releases only the owner’s own leases, due at once with no attempt counted', async () => {
      const queue = await open();
      const id = await queue.enqueue(message(['a@x.test', 'b@x.test']));
      const now = Date.now();
      const claims = await queue.claim('w1', 10, now, LEASE_MS);
      await queue.release('w2', claims);
      expect(await queue.claim('w3', 10, now, LEASE_MS)).toEqual([]);
      await queue.release('w1', claims.slice(0, 1));
      expect(await queue.claim('w3', 10, now, LEASE_MS)).toEqual([
        { messageId: id, address: 'a@x.test', attempts: 0, leaseUntil: now + LEASE_MS },
      ]);
      expect((await queue.message(id))!.recipients.map((r) => [r.state, r.attempts])).toEqual([
        ['delivering', 0],
        ['delivering', 0],
      ]);
    });

    it('makes a recipient whose lease ran out claimable by another owner', async () => {
      const queue = await open();
      const id = await queue.enqueue(message(['a@x.test']));
      const now = Date.now();
      await queue.claim('dead', 10, now, 1_000);
      expect(await queue.claim('other', 10, now + 999, LEASE_MS)).toEqual([]);
      const [claim] = await queue.claim('other', 10, now + 1_001, LEASE_MS);
      expect(claim).toMatchObject({ messageId: id, address: 'a@x.test' });
      // The old owner's late outcome is ignored; the new owner's counts.
      await queue.record('dead', id, 'a@x.test', { kind: 'failed', reply: '550 from the dead' });
      expect((await queue.message(id))!.recipients[0]!.state).toBe('delivering');
      await queue.record('other', id, 'a@x.test', { kind: 'delivered', reply: '250 ok' });
      expect(await queue.message(id)).toBeNull();
    });

    it('ignores an outcome recorded by an owner that does not hold the recipient', async () => {
      const queue = await open();
      const id = await queue.enqueue(message(['a@x.test']));
      await queue.record('nobody', id, 'a@x.test', { kind: 'delivered', reply: '250' });
      expect((await queue.message(id))!.recipients[0]!.state).toBe('queued');
      await queue.claim('w1', 1, Date.now(), LEASE_MS);
      await queue.record('w2', id, 'a@x.test', { kind: 'delivered', reply: '250' });
      expect((await queue.message(id))!.recipients[0]!.state).toBe('delivering');
    });

    it('brings a deferred recipient back at retryAt, not before', async () => {
      const queue = await open();
      const id = await queue.enqueue(message(['a@x.test']));
      const now = Date.now();
      await queue.claim('w1', 1, now, LEASE_MS);
      await queue.record('w1', id, 'a@x.test', {
        kind: 'deferred',
        reply: '451 4.7.1 try later',
        retryAt: now + 10_000,
      });
      expect((await queue.message(id))!.recipients[0]).toMatchObject({
        state: 'queued',
        attempts: 1,
        nextAttemptAt: now + 10_000,
        lastResult: '451 4.7.1 try later',
      });
      expect(await queue.claim('w1', 1, now + 9_999, LEASE_MS)).toEqual([]);
      const [again] = await queue.claim('w1', 1, now + 10_000, LEASE_MS);
      expect(again).toMatchObject({ messageId: id, attempts: 1 });
    });

    it('marks a recipient whose delay notice went out, for good, across a restart', async () => {
      const storage = await fresh();
      const queue = await open(storage);
      const id = await queue.enqueue(message(['a@x.test', 'b@x.test']));
      const now = Date.now();
      const deferred = { kind: 'deferred', reply: '451 4.4.1 no answer', retryAt: now } as const;
      await queue.claim('w1', 2, now, LEASE_MS);
      await queue.record('w1', id, 'a@x.test', { ...deferred, delayNotified: true });
      await queue.record('w1', id, 'b@x.test', deferred);
      expect((await queue.message(id))!.recipients.map((r) => r.delayNotified)).toEqual([
        true,
        undefined,
      ]);
      // A later attempt that sends no notice leaves the mark.
      await queue.claim('w1', 1, now, LEASE_MS);
      await queue.record('w1', id, 'a@x.test', { ...deferred, retryAt: now + HOUR });
      await opened.pop()!.close();
      expect((await (await open(storage)).message(id))!.recipients[0]).toMatchObject({
        attempts: 2,
        delayNotified: true,
      });
    });

    it('never brings back a final recipient; the last final outcome removes message and body', async () => {
      const queue = await open();
      const id = await queue.enqueue(message(['a@x.test', 'b@x.test', 'c@x.test']));
      const now = Date.now();
      await queue.claim('w1', 3, now, LEASE_MS);
      await queue.record('w1', id, 'a@x.test', { kind: 'delivered', reply: '250 ok' });
      await queue.record('w1', id, 'b@x.test', { kind: 'failed', reply: '550 5.1.1 no' });
      const record = (await queue.message(id))!;
      expect(record.recipients.map((r) => [r.state, r.nextAttemptAt, r.lastResult])).toEqual([
        ['delivered', null, '250 ok'],
        ['failed', null, '550 5.1.1 no'],
        ['delivering', record.createdAt, null],
      ]);
      expect(await queue.claim('w2', 10, now + 10 * HOUR, LEASE_MS)).toEqual([
        expect.objectContaining({ address: 'c@x.test' }),
      ]);
      await queue.record('w2', id, 'c@x.test', { kind: 'expired', reply: 'gave up' });
      expect(await queue.message(id)).toBeNull();
      expect((await queue.messagesWithBodies([id])).size).toBe(0);
      expect(await queue.claim('w3', 10, now + 100 * HOUR, LEASE_MS)).toEqual([]);
      expect(await queue.stats(now)).toEqual({ pending: 0, oldestAgeMs: null });
    });

    it('retryNow makes every queued recipient due now, and says whether the message exists', async () => {
      const queue = await open();
      const id = await queue.enqueue(message(['a@x.test']));
      await finish(queue, id, 'deferred', Date.now() + HOUR);
      const now = Date.now();
      expect(await queue.claim('w1', 1, now, LEASE_MS)).toEqual([]);
      expect(await queue.retryNow(id, now)).toBe(true);
      expect(await queue.claim('w1', 1, now, LEASE_MS)).toHaveLength(1);
      expect(await queue.retryNow('0000000000000nosuch', now)).toBe(false);
    });

    it('remove forgets the message and its body', async () => {
      const queue = await open();
      const id = await queue.enqueue(message(['a@x.test']));
      expect(await queue.remove(id)).toBe(true);
      expect(await queue.message(id)).toBeNull();
      expect((await queue.messagesWithBodies([id])).size).toBe(0);
      expect(await queue.claim('w1', 10, Date.now(), LEASE_MS)).toEqual([]);
      expect(await queue.remove(id)).toBe(false);
    });

    it('lists messages not final, oldest first, at most limit', async () => {
      const queue = await open();
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push(await queue.enqueue(message([`${i}@x.test`])));
      // Claimed (delivering) is not final; delivered is.
      await queue.claim('w1', 10, Date.now(), LEASE_MS);
      await queue.record('w1', ids[1]!, '1@x.test', { kind: 'delivered', reply: '250' });
      expect((await queue.list(10)).map((m) => m.id)).toEqual([ids[0], ids[2], ids[3]]);
      expect((await queue.list(2)).map((m) => m.id)).toEqual([ids[0], ids[2]]);
      expect((await queue.list(10))[0]!.recipients).toHaveLength(1);
    });

    it('stats counts recipients not final and the oldest message age', async () => {
      const queue = await open();
      expect(await queue.stats(Date.now())).toEqual({ pending: 0, oldestAgeMs: null });
      const first = await queue.enqueue(message(['a@x.test', 'b@x.test']));
      await queue.enqueue(message(['c@x.test']));
      const createdAt = (await queue.message(first))!.createdAt;
      await queue.claim('w1', 1, Date.now(), LEASE_MS);
      await queue.record('w1', first, 'a@x.test', { kind: 'delivered', reply: '250' });
      expect(await queue.stats(createdAt + 5_000)).toEqual({ pending: 2, oldestAgeMs: 5_000 });
    });

    it('calls onWork listeners on enqueue until unsubscribed', async () => {
      const queue = await open();
      let calls = 0;
      const unsubscribe = queue.onWork(() => calls++);
      await queue.enqueue(message(['a@x.test']));
      await waitFor(() => calls >= 1);
      unsubscribe();
      const seen = calls;
      await queue.enqueue(message(['b@x.test']));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(calls).toBe(seen);
    });

    it('still stores a message when a work listener throws', async () => {
      const queue = await open();
      queue.onWork(() => {
        throw new Error('listener bug');
      });
      const id = await queue.enqueue(message(['a@x.test']));
      expect(await queue.message(id)).not.toBeNull();
    });

    it('rejects a message without recipients, and claims nothing for a limit of 0', async () => {
      const queue = await open();
      await expect(queue.enqueue(message([]))).rejects.toThrow(/recipient/);
      expect(await queue.list(10)).toEqual([]);
      await queue.enqueue(message(['a@x.test']));
      expect(await queue.claim('w1', 0, Date.now(), LEASE_MS)).toEqual([]);
    });

    it('queues a message once per once key within its ttl, and again after it', async () => {
      const queue = await open();
      const once = { key: 'send:client-key-1', ttlMs: HOUR };
      const first = await queue.enqueue({ ...message(['a@x.test']), once });
      // Concurrent and sequential repeats, with other bytes: the first message's id, nothing new.
      const repeats = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          queue.enqueue({ ...message(['b@x.test'], `Subject: ${i}\r\n\r\n`), once }),
        ),
      );
      expect(repeats).toEqual(Array(5).fill(first));
      expect((await queue.list(10)).map((m) => m.id)).toEqual([first]);
      const other = await queue.enqueue({ ...message(['a@x.test']), once: { ...once, key: 'k2' } });
      expect(other).not.toBe(first);
      // Still known after the message itself is gone (delivered), while the key lives.
      await queue.remove(first);
      expect(await queue.enqueue({ ...message(['a@x.test']), once })).toBe(first);
      // A key past its ttl is free again: the next enqueue with it queues a new message.
      const brief = { key: 'reply:brief', ttlMs: 20 };
      const before = await queue.enqueue({ ...message(['a@x.test']), once: brief });
      await new Promise((resolve) => setTimeout(resolve, 60));
      const later = await queue.enqueue({ ...message(['a@x.test']), once: brief });
      expect(later).not.toBe(before);
      expect(await queue.message(later)).not.toBeNull();
    });

    it('refuses a live once key given with another fingerprint, across a reopen too', async () => {
      const storage = await fresh();
      const once = { key: 'send:order-7', ttlMs: HOUR, fingerprint: 'one' };
      const id = await (await open(storage)).enqueue({ ...message(['a@x.test']), once });
      await opened.pop()!.close();
      const queue = await open(storage);
      expect(await queue.enqueue({ ...message(['a@x.test']), once })).toBe(id);
      await expect(
        queue.enqueue({ ...message(['b@x.test']), once: { ...once, fingerprint: 'two' } }),
      ).rejects.toBeInstanceOf(OnceKeyConflict);
      // The conflict stores nothing, and fails only its own enqueue, not others committed with it.
      const [refused, other] = await Promise.allSettled([
        queue.enqueue({ ...message(['c@x.test']), once: { ...once, fingerprint: 'three' } }),
        queue.enqueue(message(['d@x.test'])),
      ]);
      expect(refused.status).toBe('rejected');
      expect(other.status).toBe('fulfilled');
      expect((await queue.list(10)).map((m) => m.recipients[0]!.address)).toEqual([
        'a@x.test',
        'd@x.test',
      ]);
    });

    it('keeps a once key across a close and reopen', async () => {
      const storage = await fresh();
      const once = { key: 'reply:a@x.test', ttlMs: HOUR };
      const id = await (await open(storage)).enqueue({ ...message(['a@x.test']), once });
      await opened.pop()!.close();
      expect(await (await open(storage)).enqueue({ ...message(['a@x.test']), once })).toBe(id);
    });

    it('is writable', async () => {
      expect(await (await open()).writable()).toBe(true);
    });

    it('keeps everything across a close and reopen', async () => {
      const storage = await fresh();
      const first = await open(storage);
      const large = randomBytes(300_000);
      const id = await first.enqueue({ ...message(['a@x.test', 'b@x.test']), body: [large] });
      const now = Date.now();
      await first.claim('w1', 2, now, LEASE_MS);
      await first.record('w1', id, 'a@x.test', {
        kind: 'deferred',
        reply: '421 busy',
        retryAt: now + 5_000,
      });
      await first.close();
      const second = await open(storage);
      const record = (await second.message(id))!;
      expect(record.recipients.map((r) => [r.address, r.state, r.attempts])).toEqual([
        ['a@x.test', 'queued', 1],
        ['b@x.test', storage.ownedByOneProcess ? 'queued' : 'delivering', 0],
      ]);
      expect(joined(await bodyOf(second, id)).equals(large)).toBe(true);
      if (storage.ownedByOneProcess) {
        // The dead process's lease is gone: due now, not when it would have run out.
        const due = await second.claim('w2', 10, now, LEASE_MS);
        expect(due.map((c) => c.address)).toEqual(['b@x.test']);
        return;
      }
      // Another node may still be delivering it: its lease runs out, then the recipient is due.
      const claims = await second.claim('w2', 10, now + LEASE_MS + 1, LEASE_MS);
      expect(claims.map((c) => c.address)).toEqual(['a@x.test', 'b@x.test']);
    });
  });
}

/** Claims every recipient of `id`, the only message due, and records one outcome for each. */
async function finish(
  queue: OutboundQueue,
  id: string,
  kind: 'delivered' | 'deferred',
  retryAt = 0,
): Promise<void> {
  const owner = `finisher-${id}`;
  const record = (await queue.message(id))!;
  const now = Date.now();
  const claims = await queue.claim(owner, 1_000, now, LEASE_MS);
  expect(claims.map((c) => c.messageId)).toEqual(record.recipients.map(() => id));
  for (const claim of claims) {
    await queue.record(
      owner,
      id,
      claim.address,
      kind === 'deferred' ? { kind, reply: '451', retryAt } : { kind, reply: '250' },
    );
  }
}

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
