// The session pool's choice of idle sessions by TLS requirement (`fits`), under its per-destination
// limit, over stand-in connections: the pool only reads `destroyed` and calls close and quit.
import { describe, expect, it } from 'vitest';
import { type Session, SessionPool } from '../../../../gateway/outbound/session-pool.ts';
import type { SmtpClient } from '../../../../gateway/outbound/smtp-client.ts';

/** A connection that records whether it was closed; QUIT ends it at once. */
class StandIn {
  destroyed = false;
  quit(): Promise<void> {
    this.destroyed = true;
    return Promise.resolve();
  }
  close(): void {
    this.destroyed = true;
  }
}

function session(verified: boolean): Session {
  const connection = new StandIn() as unknown as SmtpClient;
  return {
    key: 'mx.test 192.0.2.1',
    connection,
    tls: { version: 'TLSv1.3', cipher: 'x', authorized: verified, verifyError: null, verified },
  };
}

const KEY = 'mx.test 192.0.2.1';
const needsVerified = (candidate: Session) => candidate.tls?.authorized === true;

describe('SessionPool', () => {
  it('hands out only an idle session that fits, and keeps the others', async () => {
    const pool = new SessionPool(2);
    const [loose, strict] = [session(false), session(true)];
    expect(await pool.acquire(KEY)).toBeNull();
    expect(await pool.acquire(KEY)).toBeNull();
    pool.release(KEY, strict);
    pool.release(KEY, loose);
    expect(await pool.acquire(KEY, needsVerified)).toBe(strict);
    expect(await pool.acquire(KEY)).toBe(loose);
    await pool.close();
  });

  it('at its limit, closes an idle session that does not fit to make way', async () => {
    const pool = new SessionPool(1);
    const loose = session(false);
    expect(await pool.acquire(KEY)).toBeNull();
    pool.release(KEY, loose);
    expect(await pool.acquire(KEY, needsVerified)).toBeNull();
    expect(loose.connection.destroyed).toBe(true);
    // The slot passed on: a third caller waits for it.
    let waited: Session | null | undefined;
    void pool.acquire(KEY).then((got) => {
      waited = got;
    });
    await Promise.resolve();
    expect(waited).toBeUndefined();
    pool.release(KEY, null);
    await Promise.resolve();
    expect(waited).toBeNull();
    await pool.close();
  });

  it('gives a waiter that needs more than the released session a slot, not the session', async () => {
    const pool = new SessionPool(1);
    const loose = session(false);
    expect(await pool.acquire(KEY)).toBeNull();
    const waiting = pool.acquire(KEY, needsVerified);
    pool.release(KEY, loose);
    expect(await waiting).toBeNull();
    expect(loose.connection.destroyed).toBe(true);
    await pool.close();
  });
});
