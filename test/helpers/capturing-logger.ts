// A pino logger for tests that need to see what was logged.
import { Writable } from 'node:stream';
import pino, { type Level, type Logger } from 'pino';

/** A logger at `level` whose JSON lines are kept, parsed, in `lines`. */
export function capturingLogger(level: Level): {
  logger: Logger;
  lines: Record<string, unknown>[];
} {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}
