// Server-sent events as written on the wire (WHATWG HTML, "Server-sent events", §9.2.6). Written by
// hand: an event is a few `field: value` lines and a blank line, and our data is always one line
// of JSON (JSON.stringify escapes every line break). Reading them, in `mxhook tail`, is
// eventsource-parser's job.

/** An event with a type, one line of data and, for events that can be replayed, an id. */
export function sseFrame(event: string, dataLine: string, id: string | null = null): string {
  return `${id === null ? '' : `id: ${id}\n`}event: ${event}\ndata: ${dataLine}\n\n`;
}

/** A comment line: ignored by clients, it keeps idle connections (and proxies) from timing out. */
export const SSE_KEEPALIVE = ':\n\n';

/** How long a client waits before reconnecting (the `retry:` field), sent once per stream. */
export function sseRetry(ms: number): string {
  return `retry: ${ms}\n\n`;
}
