// `mxhook tail`: the gateway's live audit stream in a terminal, one line per event (or the raw
// JSON with --json). It reads GET /v1/audit/stream on the admin listener, which makes the events
// it asks for while it is connected; when the connection breaks (the gateway restarts) it
// reconnects with Last-Event-ID, so the gateway replays what it still holds. Ctrl-C ends it.
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { loadConfig } from '../config/index.ts';
import { adminUrl } from '../outbound/queue-command.ts';
import { AUDIT_TYPES, DEFAULT_AUDIT_TYPES } from './audit-events.ts';
import { AUDIT_STREAM_PATH, typesOf } from './audit-routes.ts';
import { formatAuditLine } from './tail-format.ts';

export const TAIL_USAGE = `Usage: mxhook tail [--types <type,...>] [--json] [--url <url>] [--token <token>]

Prints the gateway's live audit stream, one line per event, until Ctrl-C.

  --types   which events: ${AUDIT_TYPES.join(', ')} (default ${DEFAULT_AUDIT_TYPES.join(',')})
  --json    each event's JSON on a line of its own, as the gateway sent it
  --url     the admin listener (default from MXHOOK_HTTP_LISTEN)
  --token   the bearer token (default MXHOOK_ADMIN_TOKEN; the variable keeps it out of \`ps\`)

The stream is made while someone reads it, whatever MXHOOK_AUDIT says; switching it off
(PUT /v1/audit {"enabled": false}) ends this command.
`;

export interface TailIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Aborted by Ctrl-C (SIGINT) or SIGTERM: the command then ends with 0. */
  readonly signal: AbortSignal;
}

interface TailArgs {
  readonly types: string | null;
  readonly json: boolean;
  readonly url: string | null;
  readonly token: string | null;
}

/** Waits between attempts to reach the gateway, doubling while it stays away. */
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 10_000;

export function parseTailArgs(args: readonly string[]): TailArgs | string {
  const values: Record<'types' | 'url' | 'token', string | null> = {
    types: null,
    url: null,
    token: null,
  };
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--json') {
      json = true;
      continue;
    }
    const match = /^--(types|url|token)(?:=(.*))?$/.exec(arg);
    if (match === null) return `unknown argument ${arg}`;
    const name = match[1] as keyof typeof values;
    const value = match[2] ?? args[++i];
    if (value === undefined || value === '') return `--${name} needs a value`;
    values[name] = value;
  }
  return { ...values, json };
}

export async function runTailCommand(args: readonly string[], io: TailIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(TAIL_USAGE);
    return 0;
  }
  const parsed = parseTailArgs(args);
  const types = typeof parsed === 'string' ? parsed : typesOf(parsed.types);
  if (typeof parsed === 'string' || typeof types === 'string') {
    io.stderr(`mxhook tail: ${typeof parsed === 'string' ? parsed : types}\n\n${TAIL_USAGE}`);
    return 2;
  }
  let base = parsed.url;
  let token = parsed.token;
  if (base === null || token === null) {
    // Only the admin listener's settings matter here, as for `mxhook queue`.
    const config = loadConfig({ env: io.env, cwd: io.cwd, requireFunctionUrl: false });
    token ??= config.adminToken;
    if (base === null) {
      if (config.httpListen === null) {
        io.stderr('mxhook tail: MXHOOK_HTTP_LISTEN is off: give the admin listener with --url\n');
        return 1;
      }
      base = adminUrl(config.httpListen);
    }
  }
  const url = new URL(AUDIT_STREAM_PATH, base);
  url.searchParams.set('types', [...types].join(','));
  return follow(url, token, parsed.json, io);
}

/** Reads the stream, and reads it again after every break, until Ctrl-C or the switch goes off. */
async function follow(url: URL, token: string | null, json: boolean, io: TailIo): Promise<number> {
  const state = { lastEventId: null as string | null, retryMs: FIRST_RETRY_MS };
  let waitMs = FIRST_RETRY_MS;
  let connectedBefore = false;
  while (!io.signal.aborted) {
    let result: Read;
    try {
      result = await readStream(url, token, json, state, io, () => {
        if (connectedBefore) io.stderr('mxhook tail: reconnected\n');
        connectedBefore = true;
        waitMs = state.retryMs;
      });
    } catch (error) {
      if (io.signal.aborted) break;
      result = { kind: 'lost', why: describeError(error) };
    }
    if (result.kind === 'done') return result.code;
    io.stderr(`mxhook tail: ${result.why}; trying again in ${waitMs / 1000} s\n`);
    await sleep(waitMs, io.signal);
    waitMs = Math.min(waitMs * 2, MAX_RETRY_MS);
  }
  return 0;
}

type Read =
  | { readonly kind: 'done'; readonly code: number }
  | { readonly kind: 'lost'; readonly why: string };

async function readStream(
  url: URL,
  token: string | null,
  json: boolean,
  state: { lastEventId: string | null; retryMs: number },
  io: TailIo,
  connected: () => void,
): Promise<Read> {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  if (state.lastEventId !== null) headers['last-event-id'] = state.lastEventId;
  const response = await fetch(url, { headers, signal: io.signal });
  if (!response.ok || response.body === null) {
    const body = (await response.json().catch(() => null)) as { error?: string } | null;
    const why = `${url.origin}: ${response.status} ${body?.error ?? response.statusText}`;
    // Refused (token, types, no stream there): asking again would be refused again.
    if (response.status >= 400 && response.status < 500) {
      io.stderr(`mxhook tail: ${why}\n`);
      return { kind: 'done', code: 1 };
    }
    return { kind: 'lost', why };
  }
  connected();
  const events = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(
    new EventSourceParserStream({
      onRetry: (ms) => {
        state.retryMs = Math.min(Math.max(ms, 100), MAX_RETRY_MS);
      },
    }),
  );
  for await (const event of events) {
    if (event.id !== undefined) state.lastEventId = event.id;
    const type = event.event ?? 'message';
    const data = parseJson(event.data);
    io.stdout(json ? `${event.data}\n` : `${formatAuditLine(type, data)}\n`);
    if (type === 'closed' && (data as { reason?: unknown } | null)?.reason === 'switched-off')
      return { kind: 'done', code: 0 };
  }
  return { kind: 'lost', why: 'the stream ended' };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { text };
  }
}

function describeError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | null)?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
