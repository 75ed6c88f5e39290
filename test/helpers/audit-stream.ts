// A real server-sent-events client of the gateway's audit stream for tests: fetch reads the
// response as it arrives, eventsource-parser splits it into events, and the test waits for the
// ones it expects.
import { type EventSourceMessage, EventSourceParserStream } from 'eventsource-parser/stream';
import { waitUntil } from './wait.ts';

export interface AuditStreamEvent {
  readonly id: string | undefined;
  readonly type: string;
  readonly data: Record<string, unknown>;
}

export interface AuditStream {
  readonly status: number;
  readonly events: readonly AuditStreamEvent[];
  /** Every byte of the stream's text received so far. */
  readonly text: () => string;
  /** Resolves when the server ended the stream. */
  readonly ended: Promise<void>;
  /** Waits for an event `matches` accepts, and returns it. */
  waitFor(what: string, matches: (event: AuditStreamEvent) => boolean): Promise<AuditStreamEvent>;
  close(): void;
}

export interface OpenOptions {
  readonly token?: string;
  readonly types?: string;
  readonly lastEventId?: string;
}

const open = new Set<AuditStream>();

/** Closes every stream this test file opened and has not closed; for `afterEach`. */
export function closeAllAuditStreams(): void {
  for (const stream of open) stream.close();
  open.clear();
}

export function authorization(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

export async function openAuditStream(
  adminUrl: string,
  options: OpenOptions = {},
): Promise<AuditStream> {
  const url = new URL('/v1/audit/stream', adminUrl);
  if (options.types !== undefined) url.searchParams.set('types', options.types);
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: {
      accept: 'text/event-stream',
      ...authorization(options.token),
      ...(options.lastEventId === undefined ? {} : { 'last-event-id': options.lastEventId }),
    },
    signal: controller.signal,
  });
  const events: AuditStreamEvent[] = [];
  let text = '';
  let ended: Promise<void> = Promise.resolve();
  if (response.ok && response.body !== null) {
    const [raw, parsed] = response.body.pipeThrough(new TextDecoderStream()).tee();
    ended = Promise.all([
      collect(raw, (chunk) => {
        text += chunk;
      }),
      collect(parsed.pipeThrough(new EventSourceParserStream()), (event: EventSourceMessage) => {
        events.push({
          id: event.id,
          type: event.event ?? 'message',
          data: JSON.parse(event.data) as Record<string, unknown>,
        });
      }),
    ]).then(() => undefined);
  } else {
    await response.body?.cancel();
  }
  const stream: AuditStream = {
    status: response.status,
    events,
    text: () => text,
    ended,
    async waitFor(what, matches) {
      await waitUntil(() => events.some(matches), what);
      return events.find(matches)!;
    },
    close() {
      open.delete(stream);
      controller.abort();
    },
  };
  open.add(stream);
  return stream;
}

/** Reads a stream to its end; an abort (the test closed it) is an end too. */
async function collect<T>(stream: ReadableStream<T>, each: (item: T) => void): Promise<void> {
  try {
    for await (const item of stream) each(item);
  } catch {
    // Aborted by close(), or the connection was cut: the events so far are what there is.
  }
}
