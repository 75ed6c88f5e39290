// The inbox's storage in Workers KV: one record per message (with its summary as metadata) and the raw
// bytes, in parts when they are more than one KV value holds.
import type { KVNamespace } from '@cloudflare/workers-types';
import type { MessageSummary, StoredMessage } from './message-record.ts';

/** Workers KV's largest value. */
export const KV_MAX_VALUE_BYTES = 25 * 1024 * 1024;

/** Why a store operation failed; the data step turns it into a temporary SMTP failure. */
export class StorageError extends Error {
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/** Raised before writing anything when the message can never fit, so the sender is told now. */
export class MessageTooLargeError extends StorageError {}

/**
 * The most raw bytes kept for one message: a large message arrives by reference and is kept in
 * parts of one KV value each (`raw:<id>:<n>`); the gateway refuses larger mail before this anyway.
 */
export const MAX_RAW_BYTES = 4 * KV_MAX_VALUE_BYTES;

/** How many parts raw bytes of this size take; 0 for one value of its own (`raw:<id>`). */
function rawParts(sizeBytes: number): number {
  return sizeBytes <= KV_MAX_VALUE_BYTES ? 0 : Math.ceil(sizeBytes / KV_MAX_VALUE_BYTES);
}

/** One page of the list, newest first; `cursor` fetches the next page, null on the last. */
export interface MessagePage {
  readonly messages: readonly (MessageSummary & { readonly id: string })[];
  readonly cursor: string | null;
}

const RECORD = 'msg:';
const RAW = 'raw:';
/** KV lists at most 1000 keys at once. */
export const KV_LIST_MAX = 1000;
/** How many summaries one search reads at most before it stops and offers to go on. */
const SEARCH_MAX_SCANNED = 5000;

/** Whether a summary's subject, sender or recipients contain `needle` (lower-cased). */
function matches(summary: MessageSummary, needle: string): boolean {
  return [summary.subject, summary.from, summary.to].some((field) =>
    field.toLowerCase().includes(needle),
  );
}

/**
 * Reads and writes messages in a KV namespace. Message ids sort newest first (see message-id.ts),
 * so a plain list is the inbox in order, and its summaries come from key metadata without reading
 * any value. KV is eventually consistent: elsewhere than where it was written, a new message may
 * take up to a minute to be listed.
 */
export class MessageStore {
  readonly #kv: KVNamespace;

  constructor(kv: KVNamespace | undefined) {
    if (typeof kv?.get !== 'function' || typeof kv.list !== 'function') {
      throw new StorageError(
        'the MESSAGES binding is missing: add the KV namespace to wrangler.toml',
      );
    }
    this.#kv = kv;
  }

  /**
   * Stores the raw bytes first and the record last, so a listed message always has its raw. Raw
   * bytes over one KV value are stored in parts, as views of the one buffer (never copied).
   */
  async save(
    record: StoredMessage,
    summary: MessageSummary,
    raw: Uint8Array | null,
  ): Promise<void> {
    const json = JSON.stringify(record);
    if (raw !== null && raw.byteLength > MAX_RAW_BYTES) {
      throw new MessageTooLargeError(
        `the raw message is ${raw.byteLength} bytes, more than the ${MAX_RAW_BYTES} kept`,
      );
    }
    if (new TextEncoder().encode(json).byteLength > KV_MAX_VALUE_BYTES) {
      throw new MessageTooLargeError('the parsed message is larger than KV holds');
    }
    try {
      if (raw !== null) await this.#putRaw(record.id, raw);
      await this.#kv.put(RECORD + record.id, json, { metadata: summary });
    } catch (cause) {
      throw new StorageError(`could not store message ${record.id}`, { cause });
    }
  }

  async list(options: {
    readonly limit: number;
    readonly cursor?: string | undefined;
  }): Promise<MessagePage> {
    const page = await this.#kv.list<MessageSummary>({
      prefix: RECORD,
      limit: options.limit,
      ...(options.cursor ? { cursor: options.cursor } : {}),
    });
    return {
      messages: page.keys.flatMap((key) =>
        key.metadata === undefined ? [] : [{ id: key.name.slice(RECORD.length), ...key.metadata }],
      ),
      cursor: page.list_complete ? null : page.cursor,
    };
  }

  /**
   * The messages whose subject, from or to (as listed: possibly shortened) contain `query`, any
   * case, newest first. Reads summaries only (key metadata), a thousand at a time, until `limit`
   * matched or {@link SEARCH_MAX_SCANNED} were read; `cursor` then continues the search.
   */
  async search(options: {
    readonly query: string;
    readonly limit: number;
    readonly cursor?: string | undefined;
  }): Promise<MessagePage> {
    const needle = options.query.toLowerCase();
    const found: MessagePage['messages'][number][] = [];
    let cursor = options.cursor;
    for (let scanned = 0; scanned < SEARCH_MAX_SCANNED && found.length < options.limit; ) {
      const page = await this.list({ limit: KV_LIST_MAX, cursor });
      found.push(...page.messages.filter((message) => matches(message, needle)));
      scanned += KV_LIST_MAX;
      if (page.cursor === null) return { messages: found, cursor: null };
      cursor = page.cursor;
    }
    return { messages: found, cursor: cursor ?? null };
  }

  /**
   * Removes a message: the record first, so it leaves the list at once, then its raw bytes.
   * False when there was no such message.
   */
  async delete(id: string): Promise<boolean> {
    const record = await this.get(id);
    if (record === null) return false;
    try {
      await this.#kv.delete(RECORD + id);
      await this.#kv.delete(RAW + id);
      for (let part = 0; part < rawParts(record.size); part++)
        await this.#kv.delete(`${RAW}${id}:${part}`);
    } catch (cause) {
      throw new StorageError(`could not delete message ${id}`, { cause });
    }
    return true;
  }

  /** The record, or null when there is no such message. */
  get(id: string): Promise<StoredMessage | null> {
    return this.#kv.get<StoredMessage>(RECORD + id, 'json');
  }

  /** The exact message bytes as the gateway received them, or null. */
  async getRaw(id: string): Promise<ArrayBuffer | null> {
    const whole = await this.#kv.get(RAW + id, 'arrayBuffer');
    if (whole !== null) return whole;
    const record = await this.get(id);
    const parts = record?.hasRaw ? rawParts(record.size) : 0;
    if (record === null || parts === 0) return null;
    const bytes = new Uint8Array(record.size);
    for (let part = 0; part < parts; part++) {
      const value = await this.#kv.get(`${RAW}${id}:${part}`, 'arrayBuffer');
      if (value === null) return null;
      bytes.set(new Uint8Array(value), part * KV_MAX_VALUE_BYTES);
    }
    return bytes.buffer;
  }

  async #putRaw(id: string, raw: Uint8Array): Promise<void> {
    const parts = rawParts(raw.byteLength);
    if (parts === 0) return this.#kv.put(RAW + id, raw);
    for (let part = 0; part < parts; part++) {
      const start = part * KV_MAX_VALUE_BYTES;
      await this.#kv.put(`${RAW}${id}:${part}`, raw.subarray(start, start + KV_MAX_VALUE_BYTES));
    }
  }
}
