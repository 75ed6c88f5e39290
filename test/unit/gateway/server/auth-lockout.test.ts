// AUTH lockout: failures per address (per /64 on IPv6) within a window; a success clears them.
import { describe, expect, it } from 'vitest';
import { AuthLockout } from '../../../../gateway/server/auth-lockout.ts';

describe('AuthLockout', () => {
  it('locks an address out after the maximum failures, until the window has passed', () => {
    const lockout = new AuthLockout(3, 1_000);
    for (let i = 0; i < 2; i++) lockout.record('192.0.2.1', false, 0);
    expect(lockout.isLockedOut('192.0.2.1', 10)).toBe(false);
    lockout.record('192.0.2.1', false, 20);
    expect(lockout.isLockedOut('192.0.2.1', 30)).toBe(true);
    expect(lockout.isLockedOut('192.0.2.2', 30)).toBe(false);
    expect(lockout.isLockedOut('192.0.2.1', 1_000)).toBe(false);
  });

  it('forgets an address’s failures when it succeeds', () => {
    const lockout = new AuthLockout(2, 1_000);
    lockout.record('192.0.2.1', false, 0);
    lockout.record('192.0.2.1', true, 1);
    lockout.record('192.0.2.1', false, 2);
    expect(lockout.isLockedOut('192.0.2.1', 3)).toBe(false);
  });

  it('counts an IPv6 client’s failures against its /64, whatever address it takes in it', () => {
    const lockout = new AuthLockout(3, 1_000);
    lockout.record('2001:db8:1:2::1', false, 0);
    lockout.record('2001:db8:1:2::2', false, 0);
    lockout.record('2001:db8:1:2:ffff:ffff:ffff:ffff', false, 0);
    expect(lockout.isLockedOut('2001:db8:1:2::99', 1)).toBe(true);
    expect(lockout.isLockedOut('2001:db8:1:3::1', 1)).toBe(false);
  });

  it('counts attempts in flight until they are settled, each settled once', () => {
    const lockout = new AuthLockout(3, 1_000);
    const first = lockout.begin('192.0.2.1');
    lockout.begin('192.0.2.1');
    lockout.record('192.0.2.1', false, 0);
    expect(lockout.isLockedOut('192.0.2.1', 1)).toBe(true);
    first();
    first();
    expect(lockout.isLockedOut('192.0.2.1', 1)).toBe(false);
    expect(lockout.isLockedOut('192.0.2.2', 1)).toBe(false);
  });
});
