// Session ids: 16 hex digits of randomness, taken from a pool refilled 512 ids at a time, since a
// call into the system's random source for every connection costs more than the id itself.
import { randomFillSync } from 'node:crypto';

const ID_BYTES = 8;
const pool = Buffer.alloc(ID_BYTES * 512);
let next = pool.length;

export function newSessionId(): string {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const id = pool.toString('hex', next, next + ID_BYTES);
  next += ID_BYTES;
  return id;
}
