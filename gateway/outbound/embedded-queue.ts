// The embedded outbound queue: state in node:sqlite (`<dir>/queue.sqlite`, WAL, synchronous=FULL,
// so a COMMIT is on disk when it returns, for every enqueue; leases and outcomes, which no 250
// depends on, commit without waiting for their fsync: see claim and record), bodies in a
// content-addressed spool (`<dir>/spool/`).
// One process owns a directory, and the database's exclusive lock enforces it: a second process
// (an overlapping restart) would otherwise sweep as stray a body the first has written but not
// committed yet. The lock goes with the process, kill -9 included. The sqlite calls are
// synchronous and short; being synchronous, no two of this queue's transactions ever interleave,
// which is what keeps the spool's "is this body still referenced" check exact (spool.ts).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { Logger } from 'pino';
import { sizeOf } from '../pieces.ts';
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
import { Spool } from './spool.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  sender TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  size_bytes INTEGER NOT NULL,
  body_hash TEXT NOT NULL,
  return_content TEXT NOT NULL,
  envelope_id TEXT,
  smtputf8 INTEGER NOT NULL,
  eight_bit INTEGER NOT NULL,
  origin TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_body ON messages (body_hash);
-- id grows with insertion, so ORDER BY id is oldest message first, then recipients in order.
CREATE TABLE IF NOT EXISTS recipients (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id TEXT NOT NULL,
  address TEXT NOT NULL,
  notify TEXT,
  original_recipient TEXT,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  last_result TEXT,
  owner TEXT,
  lease_until INTEGER,
  UNIQUE (message_id, address)
);
CREATE INDEX IF NOT EXISTS recipients_queued ON recipients (state, next_attempt_at);
CREATE INDEX IF NOT EXISTS recipients_leased ON recipients (state, lease_until);
-- NewMessage.once: a key given within its ttl names the message it queued.
CREATE TABLE IF NOT EXISTS once_keys (
  key TEXT PRIMARY KEY,
  message_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  fingerprint TEXT
);
CREATE INDEX IF NOT EXISTS once_keys_expiry ON once_keys (expires_at);
`;

/** 3: recipients.delay_notified (DELAY_NOTICE_COLUMN). */
const SCHEMA_VERSION = 3;
/**
 * Added to a database of an earlier version in place: SQLite has no ADD COLUMN IF NOT EXISTS, so
 * `open` adds it when the file's user_version says it is older and the column is not there.
 */
const DELAY_NOTICE_COLUMN =
  'ALTER TABLE recipients ADD COLUMN delay_notified INTEGER NOT NULL DEFAULT 0;';
const OPEN_WAIT_MS = 2_000;
const NOT_FINAL = `state IN ('queued', 'delivering')`;
/** Expired once keys removed per keyed enqueue: bounded work, and still faster than they come. */
const ONCE_KEYS_SWEPT_PER_CALL = 16;
/**
 * How long the bodies of finished messages may wait for a commit that makes their removal durable
 * before the queue forces one (a checkpoint): outcomes commit without their own fsync.
 */
const DISCARD_SYNC_MS = 1_000;

interface MessageRow {
  readonly id: string;
  readonly sender: string;
  readonly created_at: number;
  readonly size_bytes: number;
  readonly body_hash: string;
  readonly return_content: 'full' | 'headers';
  readonly envelope_id: string | null;
  readonly smtputf8: number;
  readonly eight_bit: number;
  readonly origin: string;
}

interface RecipientRow {
  readonly message_id: string;
  readonly address: string;
  readonly notify: string | null;
  readonly original_recipient: string | null;
  readonly state: RecipientState;
  readonly attempts: number;
  readonly next_attempt_at: number | null;
  readonly last_result: string | null;
  readonly delay_notified: number;
}

interface ClaimRow {
  readonly id: number;
  readonly message_id: string;
  readonly address: string;
  readonly attempts: number;
  readonly lease_until: number;
}

export interface EmbeddedQueueOptions {
  readonly log?: Logger;
}

/** An enqueue whose body is stored, waiting for its commit. */
interface PendingInsert {
  readonly message: NewMessage;
  readonly hash: string;
  readonly resolve: (id: string) => void;
  readonly reject: (error: unknown) => void;
}

export class EmbeddedQueue implements OutboundQueue {
  readonly #db: DatabaseSync;
  readonly #spool: Spool;
  readonly #log: Logger | undefined;
  readonly #listeners = new Set<() => void>();
  /** Enqueues whose bodies are on disk, waiting for the next commit. */
  #pending: PendingInsert[] = [];
  /** Outcomes, each batch in one commit. */
  readonly #outcomes = new GroupedWrites<OutcomeToRecord>((batch) => this.#commitOutcomes(batch));
  /** Bodies of messages removed by commits not yet fsynced: deleted after the next one that is. */
  #discardAfterSync: string[] = [];
  #syncTimer: NodeJS.Timeout | null = null;
  readonly #statements = new Map<string, StatementSync>();

  private constructor(db: DatabaseSync, spool: Spool, log: Logger | undefined) {
    this.#db = db;
    this.#spool = spool;
    this.#log = log;
  }

  /** Opens the queue in `dir` (created if missing), sweeping bodies a crash left unreferenced. */
  static async open(dir: string, options: EmbeddedQueueOptions = {}): Promise<EmbeddedQueue> {
    await mkdir(dir, { recursive: true });
    // The busy timeout only matters to a second process waiting for the owner to let go.
    const db = new DatabaseSync(join(dir, 'queue.sqlite'), { timeout: OPEN_WAIT_MS });
    try {
      db.exec(
        'PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;',
      );
      // A write (user_version marks the schema) takes the exclusive lock now, not at the first
      // enqueue.
      db.exec(`BEGIN IMMEDIATE; ${SCHEMA}`);
      if (needsDelayNoticeColumn(db)) db.exec(DELAY_NOTICE_COLUMN);
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}; COMMIT;`);
      // The lock makes this process the queue's only user, so any lease still held belongs to
      // one that died (kill -9, a crash) mid-delivery: due again now, not when the lease runs out.
      db.exec(
        `UPDATE recipients SET state = 'queued', owner = NULL, lease_until = NULL
         WHERE state = 'delivering'`,
      );
      const referenced = db.prepare('SELECT 1 FROM messages WHERE body_hash = ? LIMIT 1');
      const spool = await Spool.open(
        join(dir, 'spool'),
        (hash) => referenced.get(hash) !== undefined,
      );
      return new EmbeddedQueue(db, spool, options.log);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /**
   * Stores the body (fsynced), then waits for the next commit, which every enqueue whose body is
   * on disk by then shares: one transaction and one fsync of the log for all of them, rather than
   * one each, which under load held the event loop for the whole burst.
   */
  async enqueue(message: NewMessage): Promise<string> {
    if (message.recipients.length === 0) throw new Error('a queued message needs a recipient');
    const hash = await this.#spool.store(message.body);
    try {
      return await new Promise<string>((resolve, reject) => {
        this.#pending.push({ message, hash, resolve, reject });
        if (this.#pending.length === 1) setImmediate(() => this.#commitPending());
      });
    } finally {
      this.#spool.release(hash);
    }
  }

  #commitPending(): void {
    const batch = this.#pending;
    this.#pending = [];
    const now = Date.now();
    let ids: string[] = [];
    try {
      this.#transaction(() => {
        ids = batch.map((entry) => this.#insert(entry, now));
      });
      this.#removalsDurable();
    } catch {
      // One message the database refuses must not fail the others: each on its own, then.
      for (const entry of batch) {
        try {
          let id = '';
          this.#transaction(() => {
            id = this.#insert(entry, now);
          });
          entry.resolve(id);
        } catch (error) {
          entry.reject(error);
        }
      }
      this.#wake();
      return;
    }
    for (const [index, entry] of batch.entries()) entry.resolve(ids[index]!);
    this.#wake();
  }

  /** Inserts the message, unless its once key names one already: returns the id either way. */
  #insert({ message, hash }: PendingInsert, now: number): string {
    if (message.once !== undefined) {
      const earlier = this.#earlierMessageFor(message.once, now);
      if (earlier !== null) return earlier;
    }
    const id = queueId();
    if (message.once !== undefined) {
      // REPLACE: an expired row for the key may still be there, past this call's bounded sweep.
      this.#statement(
        `INSERT OR REPLACE INTO once_keys (key, message_id, expires_at, fingerprint)
           VALUES (?, ?, ?, ?)`,
      ).run(message.once.key, id, now + message.once.ttlMs, message.once.fingerprint ?? null);
    }
    this.#statement(
      `INSERT INTO messages (id, sender, created_at, size_bytes, body_hash, return_content,
           envelope_id, smtputf8, eight_bit, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      id,
      message.sender,
      now,
      sizeOf(message.body),
      hash,
      message.returnContent ?? 'headers',
      message.envelopeId ?? null,
      message.smtputf8 ? 1 : 0,
      message.eightBit ? 1 : 0,
      message.origin,
    );
    // One statement for every recipient (json_each), not one per recipient.
    this.#statement(
      `INSERT INTO recipients (message_id, address, notify, original_recipient, state,
           next_attempt_at)
         SELECT ?, value ->> 'address', value ->> 'notify', value ->> 'originalRecipient',
           'queued', ? FROM json_each(?) ORDER BY key`,
    ).run(id, now, JSON.stringify(uniqueRecipients(message.recipients)));
    return id;
  }

  /**
   * The message a live once key names (OnceKeyConflict when given for another fingerprint), or
   * null when the key is free: expired keys are forgotten
   * here, a bounded number per call, so the table never grows past the keys still in their ttl.
   */
  #earlierMessageFor(once: OnceKey, now: number): string | null {
    this.#statement(
      `DELETE FROM once_keys WHERE key IN
         (SELECT key FROM once_keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
    ).run(now, ONCE_KEYS_SWEPT_PER_CALL);
    const row = this.#statement(
      'SELECT message_id, fingerprint FROM once_keys WHERE key = ? AND expires_at > ?',
    ).get(once.key, now) as
      | { readonly message_id: string; readonly fingerprint: string | null }
      | undefined;
    if (row === undefined) return null;
    if (once.fingerprint !== undefined && row.fingerprint !== once.fingerprint) {
      throw new OnceKeyConflict(once.key);
    }
    return row.message_id;
  }

  async claim(
    owner: string,
    limit: number,
    now: number,
    leaseMs: number,
  ): Promise<readonly Claim[]> {
    // SQLite reads a negative LIMIT as no limit at all.
    if (limit <= 0) return [];
    // One statement, so atomic by itself; RETURNING has no order, hence the sort.
    const rows = this.#withoutFsync(() =>
      this.#statement(
        `UPDATE recipients SET state = 'delivering', owner = ?, lease_until = ?
         WHERE id IN (SELECT id FROM recipients
           WHERE (state = 'queued' AND next_attempt_at <= ?)
              OR (state = 'delivering' AND lease_until < ?)
           ORDER BY id LIMIT ?)
         RETURNING id, message_id, address, attempts, lease_until`,
      ).all(owner, now + leaseMs, now, now, limit),
    ) as unknown as readonly ClaimRow[];
    return [...rows]
      .sort((a, b) => a.id - b.id)
      .map((row) => ({
        messageId: row.message_id,
        address: row.address,
        attempts: row.attempts,
        leaseUntil: row.lease_until,
      }));
  }

  async release(owner: string, claims: readonly Claim[]): Promise<void> {
    if (claims.length === 0) return;
    const release = this.#statement(
      `UPDATE recipients SET state = 'queued', owner = NULL, lease_until = NULL
       WHERE message_id = ? AND address = ? AND owner = ? AND state = 'delivering'`,
    );
    // A lease, like claim's: nothing depends on its fsync.
    this.#withoutFsync(() =>
      this.#transaction(() => {
        for (const { messageId, address } of claims) release.run(messageId, address, owner);
      }),
    );
  }

  async message(messageId: string): Promise<MessageRecord | null> {
    const row = this.#messageRow(messageId);
    return row === undefined ? null : this.#record(row);
  }

  async messagesWithBodies(
    messageIds: readonly string[],
  ): Promise<ReadonlyMap<string, MessageWithBody>> {
    const found = new Map<string, MessageWithBody>();
    for (const id of new Set(messageIds)) {
      const row = this.#messageRow(id);
      if (row === undefined) continue;
      const body = await this.#spool.read(row.body_hash, row.size_bytes);
      found.set(id, { message: this.#record(row), body });
    }
    return found;
  }

  /**
   * Waits for the next commit, which every outcome recorded in the meantime shares: deliveries
   * finish in bursts, and one commit each held the event loop through every fsync. That commit
   * does not wait for its fsync (synchronous=NORMAL): no 250 depends on an outcome, a kill -9
   * loses no commit in WAL mode, and a power cut that loses the latest ones makes those messages
   * due again (delivered twice, at least once as ever). What it must not do is lose a body a
   * message still needs, so a finished message's body is deleted only once a later commit made
   * its removal durable (#discardAfterSync). The fsync waits were a tenth of the event loop's time
   * while the outbound benchmark drained a queue.
   */
  async record(
    owner: string,
    messageId: string,
    address: string,
    outcome: AttemptOutcome,
  ): Promise<void> {
    return this.#outcomes.add({ owner, messageId, address, outcome });
  }

  #commitOutcomes(batch: readonly OutcomeToRecord[]): void {
    const removed: string[] = [];
    this.#withoutFsync(() =>
      this.#transaction(() => {
        for (const entry of batch) {
          const body = this.#apply(entry);
          if (body !== null) removed.push(body);
        }
      }),
    );
    this.#discardAfterSync.push(...removed);
    if (this.#discardAfterSync.length > 0 && this.#syncTimer === null) {
      this.#syncTimer = setTimeout(() => this.#sync(), DISCARD_SYNC_MS).unref();
    }
  }

  /** Makes every commit so far durable: a checkpoint fsyncs the log, then the database. */
  #sync(): void {
    this.#syncTimer = null;
    if (!this.#db.isOpen) return;
    try {
      this.#db.exec('PRAGMA wal_checkpoint(PASSIVE)');
    } catch (error) {
      // The bodies wait for the next durable commit, or the next open's sweep.
      this.#log?.warn({ err: error }, 'outbound queue checkpoint failed');
      return;
    }
    this.#removalsDurable();
  }

  /**
   * After a commit that waited for its fsync (or a checkpoint): every earlier commit is durable
   * with it, so the bodies their removals left can go (discard keeps those referenced again).
   * Everything here is synchronous, so no commit slips in between.
   */
  #removalsDurable(): void {
    if (this.#syncTimer !== null) clearTimeout(this.#syncTimer);
    this.#syncTimer = null;
    const bodies = this.#discardAfterSync;
    this.#discardAfterSync = [];
    for (const body of bodies) this.#spool.discard(body);
  }

  /** One outcome, inside the batch's transaction; the body to delete once it commits, or null. */
  #apply({ owner, messageId, address, outcome }: OutcomeToRecord): string | null {
    const deferred = outcome.kind === 'deferred';
    const { changes } = this.#statement(
      `UPDATE recipients SET state = ?, attempts = attempts + ?, next_attempt_at = ?,
           last_result = ?, owner = NULL, lease_until = NULL, delay_notified = delay_notified | ?
         WHERE message_id = ? AND address = ? AND owner = ? AND state = 'delivering'`,
    ).run(
      deferred ? 'queued' : outcome.kind,
      // An expiry is the lifetime running out, not an attempt at delivery.
      outcome.kind === 'expired' ? 0 : 1,
      deferred ? outcome.retryAt : null,
      outcome.reply,
      deferred && outcome.delayNotified === true ? 1 : 0,
      messageId,
      address,
      owner,
    );
    if (changes === 0 || deferred) return null;
    const open = this.#statement(
      `SELECT 1 FROM recipients WHERE message_id = ? AND ${NOT_FINAL} LIMIT 1`,
    ).get(messageId);
    return open === undefined ? this.#delete(messageId) : null;
  }

  async retryNow(messageId: string, now: number): Promise<boolean> {
    const exists = this.#statement('SELECT 1 FROM messages WHERE id = ?').get(messageId);
    if (exists === undefined) return false;
    // A delivering recipient keeps its lease: making it due would hand it to a second worker.
    this.#statement(
      `UPDATE recipients SET next_attempt_at = ? WHERE message_id = ? AND state = 'queued'`,
    ).run(now, messageId);
    this.#wake();
    return true;
  }

  async remove(messageId: string): Promise<boolean> {
    let hash: string | null = null;
    this.#transaction(() => {
      hash = this.#delete(messageId);
    });
    if (hash === null) return false;
    this.#removalsDurable();
    this.#spool.discard(hash);
    await this.#spool.settled();
    return true;
  }

  async list(limit: number): Promise<readonly MessageRecord[]> {
    // A message whose recipients are all final is deleted, so every row here has one not final.
    const rows = this.#statement('SELECT * FROM messages ORDER BY seq LIMIT ?').all(limit);
    return (rows as unknown as MessageRow[]).map((row) => this.#record(row));
  }

  async stats(now: number): Promise<QueueStats> {
    const row = this.#statement(
      `SELECT (SELECT count(*) FROM recipients WHERE ${NOT_FINAL}) AS pending,
                (SELECT min(created_at) FROM messages) AS oldest`,
    ).get() as { readonly pending: number; readonly oldest: number | null };
    return { pending: row.pending, oldestAgeMs: row.oldest === null ? null : now - row.oldest };
  }

  onWork(listener: () => void): () => void {
    // A wrapper per subscription, so the same function subscribed twice unsubscribes once.
    const entry = (): void => listener();
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  async writable(): Promise<boolean> {
    return this.#db.isOpen && (await this.#spool.writable());
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    if (!this.#db.isOpen) return;
    this.#sync();
    await this.#spool.settled();
    if (this.#db.isOpen) this.#db.close();
  }

  /** Deletes the message and its recipients; returns its body's hash (null if there was none). */
  #delete(messageId: string): string | null {
    const row = this.#statement('DELETE FROM messages WHERE id = ? RETURNING body_hash').get(
      messageId,
    ) as { readonly body_hash: string } | undefined;
    if (row === undefined) return null;
    this.#statement('DELETE FROM recipients WHERE message_id = ?').run(messageId);
    return row.body_hash;
  }

  #messageRow(messageId: string): MessageRow | undefined {
    return this.#statement('SELECT * FROM messages WHERE id = ?').get(messageId) as
      | MessageRow
      | undefined;
  }

  #record(row: MessageRow): MessageRecord {
    const recipients = this.#statement(
      'SELECT * FROM recipients WHERE message_id = ? ORDER BY id',
    ).all(row.id) as unknown as RecipientRow[];
    return {
      id: row.id,
      sender: row.sender,
      createdAt: row.created_at,
      sizeBytes: row.size_bytes,
      returnContent: row.return_content,
      envelopeId: row.envelope_id,
      smtputf8: row.smtputf8 === 1,
      eightBit: row.eight_bit === 1,
      origin: row.origin,
      recipients: recipients.map(recipientRecord),
    };
  }

  /** Each statement compiled once: the hot ones run for every message and every outcome. */
  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * Runs `work` with commits that do not wait for their fsync (synchronous=NORMAL), for writes no
   * promise depends on: a lease. Opening the queue releases every lease (the lock makes leases
   * found there a dead process's), so one lost in a crash changes nothing; WAL keeps the database
   * consistent either way, and the next synchronous=FULL commit makes it durable too. A claim
   * follows every finished delivery, so its fsync was a fifth of the queue's time in the
   * outbound benchmark's profile.
   */
  #withoutFsync<T>(work: () => T): T {
    this.#db.exec('PRAGMA synchronous = NORMAL');
    try {
      return work();
    } finally {
      this.#db.exec('PRAGMA synchronous = FULL');
    }
  }

  #transaction(work: () => void): void {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      work();
      this.#db.exec('COMMIT');
    } catch (error) {
      this.#db.exec('ROLLBACK');
      throw error;
    }
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

function recipientRecord(row: RecipientRow): RecipientRecord {
  const notify = row.notify === null ? undefined : (JSON.parse(row.notify) as string[]);
  return {
    address: row.address,
    ...(notify === undefined ? {} : { notify: notify as RecipientRequest['notify'] }),
    ...(row.original_recipient === null ? {} : { originalRecipient: row.original_recipient }),
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt:
      row.state === 'queued' || row.state === 'delivering' ? row.next_attempt_at : null,
    lastResult: row.last_result,
    ...(row.delay_notified === 1 ? { delayNotified: true as const } : {}),
  };
}

/** A recipient is named by (message id, address), so an address given twice is delivered once. */

/** Inside open's transaction: a database from before SCHEMA_VERSION 3 lacks the column. */
function needsDelayNoticeColumn(db: DatabaseSync): boolean {
  const { user_version: version } = db.prepare('PRAGMA user_version').get() as {
    readonly user_version: number;
  };
  if (version >= 3) return false;
  const column = db
    .prepare("SELECT 1 FROM pragma_table_info('recipients') WHERE name = 'delay_notified'")
    .get();
  return column === undefined;
}
