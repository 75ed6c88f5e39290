// The outbound queue in PostgreSQL, for a fleet: every node enqueues into and claims from one
// database, bodies included (a content-addressed `bodies` table), so any node can deliver any
// message. Tables live in the `mxhook` schema, created on open.
//
// - claim takes due rows with FOR UPDATE SKIP LOCKED, so two nodes never lease one recipient.
// - A lease that ran out is due again: that is the sweeper for claims of a node that died, and
//   the reason no other janitor exists.
// - enqueue and retryNow NOTIFY mxhook_queue; every node LISTENs, so idle workers wake (onWork).
// - Everything runs in transactions; enqueue resolves after COMMIT.
import { randomBytes } from 'node:crypto';
import pg, { type Client, type Pool, type PoolClient } from 'pg';
import type { Logger } from 'pino';
import { sha256Of } from '../pieces.ts';
import { GroupedWrites } from './grouped-writes.ts';
import { queueId, uniqueRecipients } from './new-message.ts';
import {
  type AttemptOutcome,
  type Claim,
  type MessageRecord,
  type MessageWithBody,
  type NewMessage,
  type OnceKey,
  OnceKeyConflict,
  type OutboundQueue,
  type OutcomeToRecord,
  type QueueStats,
  type RecipientRecord,
  type RecipientRequest,
  type RecipientState,
} from './queue.ts';

const CHANNEL = 'mxhook_queue';
/** pg_advisory_xact_lock(int, int) key for schema creation: 'mx', 'hk'; apart from body locks. */
const SCHEMA_LOCK = [0x6d78, 0x686b] as const;
const RELISTEN_MS = 1_000;
const CONNECT_TIMEOUT_MS = 10_000;

// bigint (int8) for epoch milliseconds; recipients.id grows with insertion, so ORDER BY id is
// oldest message first, then its recipients in order.
const SCHEMA = `
CREATE SCHEMA IF NOT EXISTS mxhook;
CREATE TABLE IF NOT EXISTS mxhook.bodies (
  hash text PRIMARY KEY,
  body bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS mxhook.messages (
  seq bigserial NOT NULL,
  id text PRIMARY KEY,
  sender text NOT NULL,
  created_at bigint NOT NULL,
  size_bytes bigint NOT NULL,
  body_hash text NOT NULL REFERENCES mxhook.bodies (hash),
  return_content text NOT NULL,
  envelope_id text,
  smtputf8 boolean NOT NULL,
  eight_bit boolean NOT NULL,
  origin text NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_seq ON mxhook.messages (seq);
CREATE INDEX IF NOT EXISTS messages_body ON mxhook.messages (body_hash);
CREATE TABLE IF NOT EXISTS mxhook.recipients (
  id bigserial PRIMARY KEY,
  message_id text NOT NULL REFERENCES mxhook.messages (id) ON DELETE CASCADE,
  address text NOT NULL,
  notify text[],
  original_recipient text,
  state text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at bigint,
  last_result text,
  owner text,
  lease_until bigint,
  UNIQUE (message_id, address)
);
CREATE INDEX IF NOT EXISTS recipients_queued ON mxhook.recipients (next_attempt_at)
  WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS recipients_leased ON mxhook.recipients (lease_until)
  WHERE state = 'delivering';
-- NewMessage.once: a key given within its ttl names the message it queued.
CREATE TABLE IF NOT EXISTS mxhook.once_keys (
  key text PRIMARY KEY,
  message_id text NOT NULL,
  expires_at bigint NOT NULL,
  fingerprint text
);
CREATE INDEX IF NOT EXISTS once_keys_expiry ON mxhook.once_keys (expires_at);
`;

/**
 * Added to a database SCHEMA created before it, in place (instant: a constant default). Looked
 * up first, because ALTER TABLE locks the table even when the column is there, and every node
 * runs this at each start while the others deliver.
 */
const DELAY_NOTICE_COLUMN = `DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'mxhook'
      AND table_name = 'recipients' AND column_name = 'delay_notified') THEN
    ALTER TABLE mxhook.recipients ADD COLUMN delay_notified boolean NOT NULL DEFAULT false;
  END IF;
END $$`;

const NOT_FINAL = `state IN ('queued', 'delivering')`;

/**
 * Enqueues, outcomes and the removal of a finished message, as functions: a batch of outcomes
 * is one statement, one round trip and one commit, where the same work as separate queries in a
 * transaction took eight per outcome (a third of the gateway's time while it drained the queue
 * went to writing them). Each statement in a PL/pgSQL function takes its own snapshot, so after
 * the message row's lock the check for recipients still open sees what a recorder that held the
 * lock before committed: two nodes recording a message's last two recipients at once cannot each
 * leave it to the other.
 *
 * lock_body takes a transaction-scoped advisory lock on one body (keyed by the hash's first 64
 * bits): storing a reference to it and deleting it (when its last message goes) take it, so a
 * body is never deleted under a message being enqueued with the same bytes.
 *
 * Two batches on two nodes must not wait for each other in a circle, so every batch takes its
 * locks in one order: message rows by id (record_outcomes gets its batch sorted so), then the
 * bodies its removals freed, by hash, after every message lock. apply_outcome records one outcome
 * and gives back the body hash of the message it finished, if it did; drop_body deletes a body
 * no message refers to; delete_message removes one message (mxhook queue delete) and its body,
 * true when there was such a message. enqueue_message stores a message: one statement where it
 * took five queries and BEGIN and COMMIT (the 250 waits for it).
 */
const FUNCTIONS = `
CREATE OR REPLACE FUNCTION mxhook.lock_body(hash text) RETURNS void
LANGUAGE sql AS $$ SELECT pg_advisory_xact_lock(('x' || substr(hash, 1, 16))::bit(64)::bigint) $$;
CREATE OR REPLACE FUNCTION mxhook.drop_body(removed_hash text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM mxhook.lock_body(removed_hash);
  DELETE FROM mxhook.bodies b WHERE b.hash = removed_hash
    AND NOT EXISTS (SELECT 1 FROM mxhook.messages m WHERE m.body_hash = b.hash);
END $$;
CREATE OR REPLACE FUNCTION mxhook.delete_message(message text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  removed_hash text;
BEGIN
  DELETE FROM mxhook.messages WHERE id = message RETURNING body_hash INTO removed_hash;
  IF removed_hash IS NULL THEN
    RETURN false;
  END IF;
  PERFORM mxhook.drop_body(removed_hash);
  RETURN true;
END $$;
CREATE OR REPLACE FUNCTION mxhook.apply_outcome(message text, recipient text, claimer text,
  new_state text, attempted integer, retry_at bigint, result text, delay_noticed boolean)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  removed_hash text;
BEGIN
  PERFORM 1 FROM mxhook.messages WHERE id = message FOR UPDATE;
  UPDATE mxhook.recipients SET state = new_state, attempts = attempts + attempted,
      next_attempt_at = retry_at, last_result = result, owner = NULL, lease_until = NULL,
      delay_notified = delay_notified OR delay_noticed
    WHERE message_id = message AND address = recipient AND owner = claimer
      AND state = 'delivering';
  IF NOT FOUND OR new_state = 'queued' THEN
    RETURN NULL;
  END IF;
  IF EXISTS (SELECT 1 FROM mxhook.recipients WHERE message_id = message AND ${NOT_FINAL}) THEN
    RETURN NULL;
  END IF;
  DELETE FROM mxhook.messages WHERE id = message RETURNING body_hash INTO removed_hash;
  RETURN removed_hash;
END $$;
CREATE OR REPLACE FUNCTION mxhook.record_outcomes(messages text[], recipients text[],
  claimers text[], new_states text[], attempted integer[], retry_at bigint[], results text[],
  delay_noticed boolean[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  removed text[] := '{}';
  removed_hash text;
BEGIN
  FOR i IN 1 .. coalesce(array_length(messages, 1), 0) LOOP
    removed_hash := mxhook.apply_outcome(messages[i], recipients[i], claimers[i], new_states[i],
      attempted[i], retry_at[i], results[i], delay_noticed[i]);
    IF removed_hash IS NOT NULL THEN
      removed := removed || removed_hash;
    END IF;
  END LOOP;
  FOR removed_hash IN SELECT DISTINCT h FROM unnest(removed) AS h ORDER BY h LOOP
    PERFORM mxhook.drop_body(removed_hash);
  END LOOP;
END $$;
CREATE OR REPLACE FUNCTION mxhook.enqueue_message(new_id text, new_sender text, now_ms bigint,
  new_size bigint, hash text, new_body bytea, new_return_content text, new_envelope_id text,
  new_smtputf8 boolean, new_eight_bit boolean, new_origin text, addresses text[],
  notifies json[], originals text[], channel text, node text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM mxhook.lock_body(hash);
  INSERT INTO mxhook.bodies (hash, body) VALUES (hash, new_body) ON CONFLICT ON CONSTRAINT
    bodies_pkey DO NOTHING;
  INSERT INTO mxhook.messages (id, sender, created_at, size_bytes, body_hash, return_content,
      envelope_id, smtputf8, eight_bit, origin)
    VALUES (new_id, new_sender, now_ms, new_size, hash, new_return_content, new_envelope_id,
      new_smtputf8, new_eight_bit, new_origin);
  -- Every recipient at once; notify travels as JSON (arrays of arrays don't bind).
  INSERT INTO mxhook.recipients (message_id, address, notify, original_recipient, state,
      next_attempt_at)
    SELECT new_id, r.address,
      CASE WHEN r.notify IS NULL THEN NULL
        ELSE ARRAY(SELECT json_array_elements_text(r.notify)) END,
      r.original, 'queued', now_ms
    FROM unnest(addresses, notifies, originals) WITH ORDINALITY
      AS r (address, notify, original, position)
    ORDER BY r.position;
  PERFORM pg_notify(channel, node);
END $$;
-- One outcome a call, replaced by record_outcomes: gone from databases an earlier mxhook made.
DROP FUNCTION IF EXISTS mxhook.record_outcome(text, text, text, text, integer, bigint, text,
  boolean);
`;
/**
 * The query as a named prepared statement: each connection parses and plans it once, not at
 * every call. For the queries every message takes on its way (enqueue, claim, delivery, outcome).
 */
const preparedNames = new Map<string, string>();
function prepared(text: string): { readonly name: string; readonly text: string } {
  let name = preparedNames.get(text);
  if (name === undefined) {
    name = `mxhook_${preparedNames.size + 1}`;
    preparedNames.set(text, name);
  }
  return { name, text };
}

/** enqueue_message: the body (once per hash), the message, its recipients, and the NOTIFY. */
const ENQUEUE = prepared(
  'SELECT mxhook.enqueue_message($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)',
);

/** Expired once keys removed per keyed enqueue: bounded work, and still faster than they come. */
const ONCE_KEYS_SWEPT_PER_CALL = 16;

interface MessageRow {
  readonly id: string;
  readonly sender: string;
  readonly created_at: string;
  readonly size_bytes: string;
  readonly return_content: 'full' | 'headers';
  readonly envelope_id: string | null;
  readonly smtputf8: boolean;
  readonly eight_bit: boolean;
  readonly origin: string;
}

interface RecipientRow {
  readonly message_id: string;
  readonly address: string;
  readonly notify: string[] | null;
  readonly original_recipient: string | null;
  readonly state: RecipientState;
  readonly attempts: number;
  readonly next_attempt_at: string | null;
  readonly last_result: string | null;
  readonly delay_notified: boolean;
}

/** A message's columns (m) with one recipient's (r): a row per recipient. */
const RECORD_COLUMNS = `m.id, m.sender, m.created_at, m.size_bytes, m.return_content,
  m.envelope_id, m.smtputf8, m.eight_bit, m.origin, r.message_id, r.address, r.notify,
  r.original_recipient, r.state, r.attempts, r.next_attempt_at, r.last_result, r.delay_notified`;

type RecordRow = MessageRow & RecipientRow;

export interface PostgresQueueOptions {
  readonly log?: Logger;
}

export class PostgresQueue implements OutboundQueue {
  readonly #url: string;
  readonly #pool: Pool;
  readonly #log: Logger | undefined;
  readonly #listeners = new Set<() => void>();
  /** Tells this node's notifications from other nodes': ours wake listeners directly. */
  readonly #node = randomBytes(8).toString('hex');
  #listener: Client | null = null;
  #relisten: NodeJS.Timeout | null = null;
  #closed = false;
  /** Outcomes, each batch in one statement (record_outcomes). */
  readonly #outcomes = new GroupedWrites<OutcomeToRecord>((batch) => this.#recordOutcomes(batch));

  private constructor(url: string, pool: Pool, log: Logger | undefined) {
    this.#url = url;
    this.#pool = pool;
    this.#log = log;
  }

  /** Connects, creates the schema if absent (safe when nodes open at once) and LISTENs. */
  static async open(url: string, options: PostgresQueueOptions = {}): Promise<PostgresQueue> {
    // A database that does not answer fails enqueue (a 451) and /readyz instead of hanging them.
    const pool = new pg.Pool({
      connectionString: url,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    // An idle client's error (the server restarted) must not crash the process; the next query
    // gets a fresh connection.
    pool.on('error', (error) =>
      options.log?.warn({ err: error }, 'outbound queue connection lost'),
    );
    const queue = new PostgresQueue(url, pool, options.log);
    try {
      await queue.#transaction(async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1, $2)', [...SCHEMA_LOCK]);
        await client.query(SCHEMA);
        await client.query(DELAY_NOTICE_COLUMN);
        await client.query(FUNCTIONS);
      });
      await queue.#listen();
    } catch (error) {
      await queue.close();
      throw error;
    }
    return queue;
  }

  async enqueue(message: NewMessage): Promise<string> {
    if (message.recipients.length === 0) throw new Error('a queued message needs a recipient');
    const bodyHash = sha256Of(message.body);
    const body = Buffer.concat(message.body);
    const id = queueId();
    const now = Date.now();
    const recipients = uniqueRecipients(message.recipients);
    const values = [
      id,
      message.sender,
      now,
      body.length,
      bodyHash,
      body,
      message.returnContent ?? 'headers',
      message.envelopeId ?? null,
      message.smtputf8 ?? false,
      message.eightBit ?? false,
      message.origin,
      recipients.map((r) => r.address),
      recipients.map((r) => (r.notify === undefined ? null : JSON.stringify(r.notify))),
      recipients.map((r) => r.originalRecipient ?? null),
      CHANNEL,
      this.#node,
    ];
    const { once } = message;
    // Without a once key, one statement: its own transaction, one round trip.
    const earlier =
      once === undefined
        ? await this.#pool.query(ENQUEUE, values).then(() => null)
        : await this.#transaction(async (client) => {
            const found = await takeOnceKey(client, once, id, now);
            if (found !== id) return found;
            await client.query(ENQUEUE, values);
            return null;
          });
    if (earlier !== null) return earlier;
    this.#wake();
    return id;
  }

  async claim(
    owner: string,
    limit: number,
    now: number,
    leaseMs: number,
  ): Promise<readonly Claim[]> {
    if (limit <= 0) return [];
    // A single statement is its own transaction; rows another claimer holds are skipped, not
    // waited for. RETURNING has no order, hence the sort.
    const { rows } = await this.#pool.query<{
      id: string;
      message_id: string;
      address: string;
      attempts: number;
      lease_until: string;
    }>(
      prepared(`UPDATE mxhook.recipients r SET state = 'delivering', owner = $1, lease_until = $2
       FROM (SELECT id FROM mxhook.recipients
         WHERE (state = 'queued' AND next_attempt_at <= $3)
            OR (state = 'delivering' AND lease_until < $3)
         ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED) due
       WHERE r.id = due.id
       RETURNING r.id, r.message_id, r.address, r.attempts, r.lease_until`),
      [owner, now + leaseMs, now, limit],
    );
    return rows
      .map((row) => ({ order: BigInt(row.id), row }))
      .sort((a, b) => (a.order < b.order ? -1 : 1))
      .map(({ row }) => ({
        messageId: row.message_id,
        address: row.address,
        attempts: row.attempts,
        leaseUntil: Number(row.lease_until),
      }));
  }

  async release(owner: string, claims: readonly Claim[]): Promise<void> {
    if (claims.length === 0) return;
    await this.#pool.query(
      `UPDATE mxhook.recipients r SET state = 'queued', owner = NULL, lease_until = NULL
       FROM unnest($2::text[], $3::text[]) AS given (message_id, address)
       WHERE r.message_id = given.message_id AND r.address = given.address
         AND r.owner = $1 AND r.state = 'delivering'`,
      [owner, claims.map((claim) => claim.messageId), claims.map((claim) => claim.address)],
    );
  }

  async message(messageId: string): Promise<MessageRecord | null> {
    const records = await this.#records('WHERE id = $1', [messageId]);
    return records[0] ?? null;
  }

  async messagesWithBodies(
    messageIds: readonly string[],
  ): Promise<ReadonlyMap<string, MessageWithBody>> {
    // Each body in its message's first row only, not once for every recipient.
    const { rows } = await this.#pool.query<RecordRow & { body: Buffer | null }>(
      prepared(`SELECT ${RECORD_COLUMNS},
         CASE WHEN r.id = min(r.id) OVER (PARTITION BY m.id) THEN b.body END AS body
       FROM (SELECT * FROM mxhook.messages WHERE id = ANY($1::text[])) m
       JOIN mxhook.bodies b ON b.hash = m.body_hash
       JOIN mxhook.recipients r ON r.message_id = m.id
       ORDER BY m.seq, r.id`),
      [[...new Set(messageIds)]],
    );
    const bodies = new Map<string, Buffer>();
    for (const row of rows) if (row.body !== null) bodies.set(row.id, row.body);
    return new Map(
      recordsOf(rows).map((message) => [
        message.id,
        { message, body: [bodies.get(message.id) as Buffer] },
      ]),
    );
  }

  /** Waits for the next batch's commit: outcomes recorded while one is written go in the next. */
  async record(
    owner: string,
    messageId: string,
    address: string,
    outcome: AttemptOutcome,
  ): Promise<void> {
    return this.#outcomes.add({ owner, messageId, address, outcome });
  }

  async #recordOutcomes(batch: readonly OutcomeToRecord[]): Promise<void> {
    // Message rows locked in one order on every node (see FUNCTIONS); sort is stable, so a
    // message's outcomes keep the order they came in.
    const sorted = [...batch].sort((a, b) =>
      a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0,
    );
    await this.#pool.query(
      prepared('SELECT mxhook.record_outcomes($1, $2, $3, $4, $5, $6, $7, $8)'),
      [
        sorted.map((entry) => entry.messageId),
        sorted.map((entry) => entry.address),
        sorted.map((entry) => entry.owner),
        sorted.map(({ outcome }) => (outcome.kind === 'deferred' ? 'queued' : outcome.kind)),
        // An expiry is the lifetime running out, not an attempt at delivery.
        sorted.map(({ outcome }) => (outcome.kind === 'expired' ? 0 : 1)),
        sorted.map(({ outcome }) => (outcome.kind === 'deferred' ? outcome.retryAt : null)),
        sorted.map(({ outcome }) => outcome.reply),
        sorted.map(({ outcome }) => outcome.kind === 'deferred' && outcome.delayNotified === true),
      ],
    );
  }

  async retryNow(messageId: string, now: number): Promise<boolean> {
    const found = await this.#transaction(async (client) => {
      const { rowCount } = await client.query(
        'SELECT 1 FROM mxhook.messages WHERE id = $1 FOR UPDATE',
        [messageId],
      );
      if (rowCount === 0) return false;
      // A delivering recipient keeps its lease: making it due would hand it to a second worker.
      await client.query(
        `UPDATE mxhook.recipients SET next_attempt_at = $1
         WHERE message_id = $2 AND state = 'queued'`,
        [now, messageId],
      );
      await client.query('SELECT pg_notify($1, $2)', [CHANNEL, this.#node]);
      return true;
    });
    if (found) this.#wake();
    return found;
  }

  async remove(messageId: string): Promise<boolean> {
    const { rows } = await this.#pool.query<{ removed: boolean }>(
      'SELECT mxhook.delete_message($1) AS removed',
      [messageId],
    );
    return rows[0]?.removed === true;
  }

  async list(limit: number): Promise<readonly MessageRecord[]> {
    // A message whose recipients are all final is deleted, so every row here has one not final.
    return this.#records('ORDER BY seq LIMIT $1', [limit]);
  }

  async stats(now: number): Promise<QueueStats> {
    const { rows } = await this.#pool.query<{ pending: string; oldest: string | null }>(
      `SELECT (SELECT count(*) FROM mxhook.recipients WHERE ${NOT_FINAL}) AS pending,
              (SELECT min(created_at) FROM mxhook.messages) AS oldest`,
    );
    const row = rows[0]!;
    return {
      pending: Number(row.pending),
      oldestAgeMs: row.oldest === null ? null : now - Number(row.oldest),
    };
  }

  onWork(listener: () => void): () => void {
    // A wrapper per subscription, so the same function subscribed twice unsubscribes once.
    const entry = (): void => listener();
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  async writable(): Promise<boolean> {
    try {
      // A standby answers queries but takes no writes.
      const { rows } = await this.#pool.query<{ standby: boolean }>(
        'SELECT pg_is_in_recovery() AS standby',
      );
      return rows[0]?.standby === false;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    if (this.#relisten !== null) clearTimeout(this.#relisten);
    const listener = this.#listener;
    this.#listener = null;
    await listener?.end().catch(() => {});
    await this.#pool.end();
  }

  /**
   * The messages `where` selects (with their order and limit), each with its recipients: one
   * query, a row per recipient, since each round trip to the server costs more than the rows.
   */
  async #records(where: string, params: readonly unknown[]): Promise<MessageRecord[]> {
    const { rows } = await this.#pool.query<RecordRow>(
      prepared(`SELECT ${RECORD_COLUMNS}
       FROM (SELECT * FROM mxhook.messages ${where}) m
       JOIN mxhook.recipients r ON r.message_id = m.id
       ORDER BY m.seq, r.id`),
      [...params],
    );
    return recordsOf(rows);
  }

  async #transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (error) {
      // A connection that failed mid-transaction is not given back to the pool.
      await client.query('ROLLBACK').then(
        () => client.release(),
        (rollbackError: Error) => client.release(rollbackError),
      );
      throw error;
    }
  }

  /** One dedicated connection LISTENs; if it drops, it is made again (work is only late). */
  async #listen(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.#url,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    client.on('notification', (notification) => {
      if (notification.payload !== this.#node) this.#wake();
    });
    client.on('error', (error) => {
      this.#log?.warn({ err: error }, 'outbound queue LISTEN connection lost');
      client.end().catch(() => {});
    });
    client.on('end', () => {
      if (this.#listener !== client) return;
      this.#listener = null;
      this.#scheduleRelisten();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    if (this.#closed) {
      await client.end();
      return;
    }
    this.#listener = client;
    // Work may have been enqueued elsewhere while no connection listened.
    this.#wake();
  }

  #scheduleRelisten(): void {
    if (this.#closed || this.#relisten !== null) return;
    this.#relisten = setTimeout(() => {
      this.#relisten = null;
      this.#listen().catch((error: unknown) => {
        this.#log?.warn({ err: error }, 'outbound queue LISTEN failed');
        this.#scheduleRelisten();
      });
    }, RELISTEN_MS);
  }

  /** Called after a commit: a listener's failure must not turn a stored message into a 451. */
  #wake(): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch (error) {
        this.#log?.error({ err: error }, 'outbound queue work listener failed');
      }
    }
  }
}

/** Deletes the message (its recipients cascade) and its body if no other message shares it. */
/**
 * Takes the once key for `id` unless a live one names another message, whose id it returns (or,
 * given for another fingerprint, rejects with OnceKeyConflict). A second node enqueueing with the
 * same key waits on the row until the first commits.
 */
async function takeOnceKey(
  client: PoolClient,
  once: OnceKey,
  id: string,
  now: number,
): Promise<string> {
  // Expired keys go here, a bounded number per call, so the table keeps only live ones.
  await client.query(
    `DELETE FROM mxhook.once_keys WHERE key IN (SELECT key FROM mxhook.once_keys
       WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [now, ONCE_KEYS_SWEPT_PER_CALL],
  );
  const { rows } = await client.query<{ message_id: string }>(
    `INSERT INTO mxhook.once_keys (key, message_id, expires_at, fingerprint)
     VALUES ($1, $2, $3, $5)
     ON CONFLICT (key) DO UPDATE SET message_id = EXCLUDED.message_id,
       expires_at = EXCLUDED.expires_at, fingerprint = EXCLUDED.fingerprint
       WHERE mxhook.once_keys.expires_at <= $4
     RETURNING message_id`,
    [once.key, id, now + once.ttlMs, now, once.fingerprint ?? null],
  );
  if (rows.length > 0) return id;
  const live = await client.query<{ message_id: string; fingerprint: string | null }>(
    'SELECT message_id, fingerprint FROM mxhook.once_keys WHERE key = $1',
    [once.key],
  );
  const row = live.rows[0];
  if (row === undefined) return id;
  if (once.fingerprint !== undefined && row.fingerprint !== once.fingerprint) {
    throw new OnceKeyConflict(once.key);
  }
  return row.message_id;
}

/** Rows of RECORD_COLUMNS, a message's rows together, as records in the rows' order. */
function recordsOf(rows: readonly RecordRow[]): MessageRecord[] {
  const records = new Map<string, MessageRecord & { recipients: RecipientRecord[] }>();
  for (const row of rows) {
    let record = records.get(row.id);
    if (record === undefined) {
      record = {
        id: row.id,
        sender: row.sender,
        createdAt: Number(row.created_at),
        sizeBytes: Number(row.size_bytes),
        returnContent: row.return_content,
        envelopeId: row.envelope_id,
        smtputf8: row.smtputf8,
        eightBit: row.eight_bit,
        origin: row.origin,
        recipients: [],
      };
      records.set(row.id, record);
    }
    record.recipients.push(recipientRecord(row));
  }
  return [...records.values()];
}

function recipientRecord(row: RecipientRow): RecipientRecord {
  return {
    address: row.address,
    ...(row.notify === null ? {} : { notify: row.notify as RecipientRequest['notify'] }),
    ...(row.original_recipient === null ? {} : { originalRecipient: row.original_recipient }),
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt:
      row.state === 'queued' || row.state === 'delivering' ? Number(row.next_attempt_at) : null,
    lastResult: row.last_result,
    ...(row.delay_notified ? { delayNotified: true as const } : {}),
  };
}

/** A recipient is named by (message id, address), so an address given twice is delivered once. */
