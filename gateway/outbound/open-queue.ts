// MXHOOK_QUEUE to an outbound queue: a postgres:// (or postgresql://) URL is the PostgreSQL
// engine, anything else a directory for the embedded one. Each engine is imported only when
// chosen: node:sqlite prints an ExperimentalWarning when loaded, and a directory needs no pg.
import type { Logger } from 'pino';
import type { OutboundQueue } from './queue.ts';

export interface OpenQueueOptions {
  readonly log?: Logger;
}

export async function openQueue(
  spec: string,
  options: OpenQueueOptions = {},
): Promise<OutboundQueue> {
  if (/^postgres(?:ql)?:\/\//i.test(spec)) {
    const { PostgresQueue } = await import('./postgres-queue.ts');
    return PostgresQueue.open(spec, options);
  }
  const { EmbeddedQueue } = await import('./embedded-queue.ts');
  return EmbeddedQueue.open(spec, options);
}
