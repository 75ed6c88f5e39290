// AUTH attempts sent all at once, over real sockets: the per-address lockout counts attempts in
// flight, and password checks (scrypt, ~128 MiB each at the default cost) run a few at a time.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckSlots } from '../../../gateway/auth/check-slots.ts';
import { hashPassword } from '../../../gateway/auth/password-hash.ts';
import { loadUsersFile, usersFileAuth } from '../../../gateway/auth/users-file.ts';
import { createGateway, type Gateway } from '../../../gateway/index.ts';
import { afterEhlo, destroyAllClients } from '../../helpers/smtp-client.ts';

const plain = (user: string, pass: string): string =>
  Buffer.from(`\0${user}\0${pass}`).toString('base64');
const wire = (reply: { code: number; text: string }): string => `${reply.code} ${reply.text}`;
const INVALID = '535 5.7.8 Authentication credentials invalid';
const LOCKED = '421 4.7.0 Too many failed authentication attempts, try again later';

/** Slots that count the password checks they run, and the most ever running at once. */
class CountingSlots extends CheckSlots {
  checks = 0;
  peak = 0;
  #now = 0;

  override run<T>(task: () => Promise<T>, signal: AbortSignal): Promise<T> {
    return super.run(async () => {
      this.checks += 1;
      this.#now += 1;
      this.peak = Math.max(this.peak, this.#now);
      try {
        return await task();
      } finally {
        this.#now -= 1;
      }
    }, signal);
  }
}

let gateway: Gateway | null = null;
afterEach(async () => {
  destroyAllClients();
  await gateway?.stop();
  gateway = null;
});

/** A gateway deciding AUTH from a users file with joe/right (a cheap scrypt cost, same code path). */
async function usersGateway(slots: CheckSlots): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'mxhook-auth-race-'));
  const path = join(dir, 'users');
  await writeFile(path, `joe:${await hashPassword('right', { N: 1024, r: 8, p: 1 })}\n`);
  gateway = createGateway({
    listen: [{ host: '127.0.0.1', port: 0, implicitTls: false }],
    hostname: 'mx.test',
    handler: {
      auth: usersFileAuth(await loadUsersFile(path), slots),
      data: () => ({ action: 'accept' }),
    },
    auth: { allowInsecure: true },
    authChecks: [],
    shutdownGraceMs: 1_000,
  });
  const [address] = await gateway.start();
  return address!.port;
}

describe('AUTH attempts at once', () => {
  it('lets 10 of 40 concurrent wrong attempts from one address reach the password check, 2 at a time', async () => {
    const slots = new CountingSlots();
    const port = await usersGateway(slots);
    const clients = await Promise.all(Array.from({ length: 40 }, () => afterEhlo(port)));
    // Every attempt is on the wire before the first is decided.
    await Promise.all(clients.map((c) => c.send(`AUTH PLAIN ${plain('joe', 'guess')}\r\n`)));
    const replies = await Promise.all(clients.map(async (c) => wire(await c.readReply())));

    expect(slots.checks).toBe(10);
    expect(slots.peak).toBeLessThanOrEqual(2);
    expect(replies.filter((r) => r === INVALID)).toHaveLength(10);
    expect(replies.filter((r) => r === LOCKED)).toHaveLength(30);
  });

  it('answers 454 4.7.0 when no password check slot is free; the session can then authenticate', async () => {
    const slots = new CheckSlots({ running: 1, waiting: 0 });
    const port = await usersGateway(slots);
    let free!: () => void;
    const held = slots.run(
      () => new Promise<void>((resolve) => (free = resolve)),
      new AbortController().signal,
    );

    const client = await afterEhlo(port);
    expect(wire(await client.command(`AUTH PLAIN ${plain('joe', 'right')}`))).toBe(
      '454 4.7.0 Temporary authentication failure',
    );
    free();
    await held;
    expect(wire(await client.command(`AUTH PLAIN ${plain('joe', 'right')}`))).toBe(
      '235 2.7.0 Authentication successful',
    );
  });
});
