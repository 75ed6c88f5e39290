// Kinds of the outbound settings: where the queue lives, and a TCP port.
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { Kind } from './kind.ts';

/** MXHOOK_QUEUE: a directory (the embedded queue) or a PostgreSQL URL; null when outbound is off. */
export type QueueLocation =
  | { readonly kind: 'directory'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string };

const POSTGRES_URL = /^postgres(?:ql)?:\/\//i;

export const QUEUE_LOCATION: Kind<QueueLocation | null> = {
  parse(raw, { variable, base }) {
    const text = raw.trim();
    if (text === '') return null;
    if (POSTGRES_URL.test(text)) {
      try {
        new URL(text);
      } catch {
        throw new ConfigError(variable, 'is not a valid postgres:// URL');
      }
      return { kind: 'postgres', url: text };
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
      throw new ConfigError(variable, 'must be a directory or a postgres:// URL');
    }
    return { kind: 'directory', path: isAbsolute(text) ? text : resolve(base, text) };
  },
};

/** A TCP port, 1–65535. */
export const PORT: Kind<number> = {
  parse(raw, { variable }) {
    const text = raw.trim();
    const value = /^[0-9]{1,5}$/.test(text) ? Number(text) : Number.NaN;
    const problem = portProblem(value);
    if (problem !== null) throw new ConfigError(variable, `${JSON.stringify(raw)}: ${problem}`);
    return value;
  },
  check: portProblem,
};

function portProblem(value: number): string | null {
  return Number.isInteger(value) && value >= 1 && value <= 65_535
    ? null
    : 'must be a port number from 1 to 65535';
}
