// `mxhook queue list|show|retry|delete|bounce`: the outbound queue for operators, from a shell.
//
// The queue is the one MXHOOK_QUEUE names, read through the same configuration as `mxhook serve`
// (flags aside). A PostgreSQL queue is opened directly, alongside the running gateways. A queue
// directory belongs to one process at a time (embedded-queue.ts holds SQLite's exclusive lock),
// so while a gateway runs on it the command goes through that gateway's admin listener
// (MXHOOK_HTTP_LISTEN, the /queue endpoints) instead; with the gateway stopped it opens the
// directory itself.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config/index.ts';
import { openQueue } from './open-queue.ts';
import type { OutboundQueue } from './queue.ts';
import { formatMessageDetail, formatMessageTable, formatSender } from './queue-format.ts';
import {
  type BounceResult,
  bounceMessage,
  DEFAULT_LIST_LIMIT,
  deleteMessage,
  listMessages,
  type MessageView,
  retryMessage,
  showMessage,
} from './queue-operations.ts';

export const QUEUE_USAGE = `Usage: mxhook queue <action>

Actions:
  list [--limit N] [--json]  messages waiting, oldest first (at most N, default ${DEFAULT_LIST_LIMIT})
  show <id> [--json]         one message: envelope, recipients, attempts, next attempt, last result
  retry <id>                 make every queued recipient due now
  delete <id>                remove the message; nobody is told
  bounce <id>                return the message to its sender (a delivery status notification
                             for every recipient not delivered yet), then remove it

The queue is MXHOOK_QUEUE's. A queue directory in use by a running gateway is reached through
that gateway's admin listener (MXHOOK_HTTP_LISTEN).
`;

export interface QueueCommandIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly now?: () => number;
}

/** The operations, on a queue opened here or through a running gateway's admin listener. */
export interface QueueClient {
  list(limit: number): Promise<readonly MessageView[]>;
  show(id: string): Promise<MessageView | null>;
  retry(id: string): Promise<boolean>;
  delete(id: string): Promise<boolean>;
  bounce(id: string): Promise<BounceResult | null>;
  close(): Promise<void>;
}

type Parsed =
  | { readonly action: 'list'; readonly limit: number; readonly json: boolean }
  | { readonly action: 'show'; readonly id: string; readonly json: boolean }
  | { readonly action: 'retry' | 'delete' | 'bounce'; readonly id: string };

/** The arguments after `queue`, or a problem to print with the usage. */
export function parseQueueArgs(args: readonly string[]): Parsed | string {
  const [action, ...rest] = args;
  const json = rest.includes('--json');
  const positional: string[] = [];
  let limit = DEFAULT_LIST_LIMIT;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--json') continue;
    if (arg === '--limit' || arg.startsWith('--limit=')) {
      const text = arg === '--limit' ? rest[++i] : arg.slice('--limit='.length);
      limit = /^[0-9]{1,9}$/.test(text ?? '') ? Number(text) : 0;
      if (limit < 1) return '--limit takes a positive whole number';
      continue;
    }
    if (arg.startsWith('-')) return `unknown flag ${arg}`;
    positional.push(arg);
  }
  switch (action) {
    case 'list':
      if (positional.length > 0) return 'list takes no message id';
      return { action, limit, json };
    case 'show':
    case 'retry':
    case 'delete':
    case 'bounce': {
      if (positional.length !== 1) return `${action} takes one message id`;
      if (action !== 'show' && (json || limit !== DEFAULT_LIST_LIMIT))
        return `${action} takes no flags`;
      const id = positional[0]!;
      return action === 'show' ? { action, id, json } : { action, id };
    }
    case undefined:
      return 'which action?';
    default:
      return `unknown action "${action}"`;
  }
}

export async function runQueueCommand(
  args: readonly string[],
  io: QueueCommandIo,
): Promise<number> {
  if (
    args[0] === undefined ||
    args[0] === 'help' ||
    args.includes('--help') ||
    args.includes('-h')
  ) {
    (args[0] === undefined ? io.stderr : io.stdout)(QUEUE_USAGE);
    return args[0] === undefined ? 2 : 0;
  }
  const parsed = parseQueueArgs(args);
  if (typeof parsed === 'string') {
    io.stderr(`mxhook queue: ${parsed}\n\n${QUEUE_USAGE}`);
    return 2;
  }
  // Only the queue's settings matter here: a function URL is not needed to look at the queue.
  const config = loadConfig({ env: io.env, cwd: io.cwd, requireFunctionUrl: false });
  if (config.queue === null) {
    io.stderr('mxhook: no outbound queue: MXHOOK_QUEUE is not set\n');
    return 1;
  }
  const location = config.queue;
  if (location.kind === 'directory' && !existsSync(join(location.path, 'queue.sqlite'))) {
    io.stderr(`mxhook: no queue in ${location.path} (MXHOOK_QUEUE): a gateway creates it there\n`);
    return 1;
  }
  let client: QueueClient;
  try {
    const queue = await openQueue(location.kind === 'postgres' ? location.url : location.path);
    client = directClient(queue, config.hostname);
  } catch (error) {
    if (location.kind !== 'directory' || !isLocked(error)) throw error;
    if (config.httpListen === null) {
      io.stderr(
        `mxhook: the queue in ${location.path} is in use by a running mxhook, and MXHOOK_HTTP_LISTEN is off: stop it, or turn its admin listener on\n`,
      );
      return 1;
    }
    client = adminClient(adminUrl(config.httpListen));
  }
  try {
    return await run(parsed, client, io);
  } catch (error) {
    if (!(error instanceof AdminCallError)) throw error;
    io.stderr(`mxhook: ${error.message}\n`);
    return 1;
  } finally {
    await client.close();
  }
}

async function run(parsed: Parsed, client: QueueClient, io: QueueCommandIo): Promise<number> {
  const now = (io.now ?? Date.now)();
  const missing = (id: string): number => {
    io.stderr(`mxhook: no message ${id} in the queue\n`);
    return 1;
  };
  switch (parsed.action) {
    case 'list': {
      const messages = await client.list(parsed.limit);
      io.stdout(
        parsed.json
          ? `${JSON.stringify({ messages }, null, 2)}\n`
          : formatMessageTable(messages, now),
      );
      return 0;
    }
    case 'show': {
      const message = await client.show(parsed.id);
      if (message === null) return missing(parsed.id);
      io.stdout(
        parsed.json ? `${JSON.stringify(message, null, 2)}\n` : formatMessageDetail(message, now),
      );
      return 0;
    }
    case 'retry':
      if (!(await client.retry(parsed.id))) return missing(parsed.id);
      io.stdout(`${parsed.id}: every queued recipient is due now\n`);
      return 0;
    case 'delete':
      if (!(await client.delete(parsed.id))) return missing(parsed.id);
      io.stdout(`${parsed.id}: deleted\n`);
      return 0;
    case 'bounce': {
      const message = await client.show(parsed.id);
      const result = message === null ? null : await client.bounce(parsed.id);
      if (message === null || result === null) return missing(parsed.id);
      io.stdout(bounceText(result, message.sender));
      return 0;
    }
  }
}

/** What `bounce` prints: who was returned, and the notice's queue id. */
export function bounceText(result: BounceResult, sender: string): string {
  const count = `${result.returned.length} recipient${result.returned.length === 1 ? '' : 's'}`;
  const notice =
    result.notice === null
      ? `no notice to ${formatSender(sender)} (${sender === '' ? 'the null sender gets none' : 'its NOTIFY asked for none'})`
      : `notice ${result.notice} queued to ${sender}`;
  return `${result.id}: returned ${count}, removed; ${notice}\n`;
}

function directClient(queue: OutboundQueue, hostname: string): QueueClient {
  return {
    list: (limit) => listMessages(queue, limit),
    show: (id) => showMessage(queue, id),
    retry: (id) => retryMessage(queue, id),
    delete: (id) => deleteMessage(queue, id),
    bounce: (id) => bounceMessage(queue, id, { hostname }),
    close: () => queue.close(),
  };
}

/** A call to the admin listener that did not get its answer: one line for the operator. */
class AdminCallError extends Error {}

function fail(message: string): never {
  throw new AdminCallError(message);
}

/** node:sqlite's SQLITE_BUSY: another process holds the database's lock. */
function isLocked(error: unknown): boolean {
  return (error as { errcode?: unknown } | null)?.errcode === 5;
}

/** The admin listener as a client reaches it: a wildcard address is this host. */
export function adminUrl({ host, port }: { readonly host: string; readonly port: number }): string {
  const reachable = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/** The same operations through a running gateway's /queue endpoints (gateway/admin/queue-routes.ts). */
export function adminClient(base: string): QueueClient {
  const call = async <T>(method: string, path: string): Promise<T | null> => {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, { method });
    } catch (error) {
      throw new AdminCallError(
        `the queue directory is in use by a running mxhook, and its admin listener at ${base} did not answer: ${(error as Error).cause ?? error}`,
      );
    }
    const body = (await response.json().catch(() => null)) as (T & { error?: string }) | null;
    if (response.status === 404 && path.startsWith('/queue/') && body?.error !== undefined)
      return body.error.startsWith('no outbound queue') ? fail(body.error) : null;
    if (!response.ok || body === null)
      throw new AdminCallError(
        `${base}${path}: ${response.status} ${body?.error ?? response.statusText}`,
      );
    return body;
  };
  const id = (value: string) => encodeURIComponent(value);
  return {
    list: async (limit) =>
      (await call<{ messages: MessageView[] }>('GET', `/queue?limit=${limit}`))?.messages ?? [],
    show: (value) => call<MessageView>('GET', `/queue/${id(value)}`),
    retry: async (value) => (await call('POST', `/queue/${id(value)}/retry`)) !== null,
    delete: async (value) => (await call('DELETE', `/queue/${id(value)}`)) !== null,
    bounce: (value) => call<BounceResult>('POST', `/queue/${id(value)}/bounce`),
    close: async () => {},
  };
}
