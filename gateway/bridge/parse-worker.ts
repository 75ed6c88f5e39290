// A parse worker thread: parses one message at a time, off the gateway's event loop, and answers with
// the `parsed` JSON as UTF-8 pieces in transferred buffers, so the gateway never holds the object.
import { parentPort } from 'node:worker_threads';
import type { ParsedMessage } from '../../functions/sdk/wire.ts';
import { JsonPieces } from './json-pieces.ts';
import { parseMessage } from './parse-message.ts';

/** What the worker is given for one message: its bytes (transferred) and what to leave out. */
export interface WorkerInput {
  readonly bytes: ArrayBuffer;
  /** False: attachments are described without their `content`. */
  readonly attachmentContent: boolean;
}

/** What the worker answers for one message (see parse-pool.ts). */
export type WorkerAnswer =
  | { readonly json: Uint8Array<ArrayBuffer>[] }
  | { readonly malformed: string };

const port = parentPort;
if (port === null) throw new Error('parse-worker.ts runs as a worker thread');

// One message at a time, answered in the order they came: the pool may hand a busy worker the next
// small messages while it parses (parse-pool.ts), and matches answers to messages by that order.
let previous: Promise<void> = Promise.resolve();
port.on('message', (input: WorkerInput) => {
  previous = previous.then(() => answer(input));
});

async function answer({ bytes, attachmentContent }: WorkerInput): Promise<void> {
  let reply: WorkerAnswer;
  try {
    reply = { json: jsonOf(await parseMessage(Buffer.from(bytes)), attachmentContent) };
  } catch (error) {
    reply = { malformed: error instanceof Error ? error.message : String(error) };
  }
  port?.postMessage(reply, 'json' in reply ? reply.json.map((piece) => piece.buffer) : []);
}

/**
 * The same text as JSON.stringify(parsed), members in the same order, with the bodies and
 * attachment contents (the only large strings) escaped in slices; without the contents when
 * `attachmentContent` is false.
 */
function jsonOf(parsed: ParsedMessage, attachmentContent: boolean): Uint8Array<ArrayBuffer>[] {
  const { text, html, attachments, ...small } = parsed;
  const out = new JsonPieces()
    .raw(JSON.stringify(small).slice(0, -1))
    .raw(',"text":')
    .string(text)
    .raw(',"html":')
    .string(html)
    .raw(',"attachments":[');
  attachments.forEach(({ content, ...description }, index) => {
    out.raw(index === 0 ? '' : ',').raw(JSON.stringify(description).slice(0, -1));
    if (attachmentContent) out.raw(',"content":').string(content ?? null);
    out.raw('}');
  });
  return out.raw(']}').end();
}
