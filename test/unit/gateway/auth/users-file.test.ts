// Tests for the local users file: scrypt hashes, parsing, and the auth hook's decisions.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  hashPassword,
  parsePasswordHash,
  verifyPassword,
} from '../../../../gateway/auth/password-hash.ts';
import { loadUsersFile, usersFileAuth } from '../../../../gateway/auth/users-file.ts';

// A low cost keeps the tests fast; production hashes use N=2^17.
const CHEAP = { N: 1024, r: 8, p: 1 };
const call = (username: string, password: string) =>
  ({
    step: 'auth',
    session: {} as never,
    envelope: { mailFrom: null, rcptTo: [] },
    auth: { mechanism: 'PLAIN', username, password },
    signal: new AbortController().signal,
  }) as const;

async function usersFile(lines: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mxhook-users-'));
  const path = join(dir, 'users');
  await writeFile(path, lines);
  return path;
}

describe('password hashes', () => {
  it('round-trips: the right password verifies, a wrong one does not', async () => {
    const stored = parsePasswordHash(await hashPassword('correct horse', CHEAP))!;
    expect(stored.parameters).toEqual(CHEAP);
    expect(await verifyPassword('correct horse', stored)).toBe(true);
    expect(await verifyPassword('correct horsf', stored)).toBe(false);
  });

  it('uses a fresh salt every time', async () => {
    expect(await hashPassword('x', CHEAP)).not.toBe(await hashPassword('x', CHEAP));
  });

  it('refuses strings that are not scrypt hashes or have impossible parameters', () => {
    expect(parsePasswordHash('plain-text')).toBeNull();
    expect(parsePasswordHash('$scrypt$N=1000,r=8,p=1$c2FsdA==$aGFzaA==')).toBeNull();
  });
});

describe('users file', () => {
  it('accepts known users with the right password and rejects everything else', async () => {
    const path = await usersFile(
      `# mail users\n\njoe:${await hashPassword('pw1', CHEAP)}\nann:${await hashPassword('pw2', CHEAP)}\n`,
    );
    const check = usersFileAuth(await loadUsersFile(path));
    expect(await check(call('joe', 'pw1'))).toEqual({ action: 'accept' });
    expect(await check(call('ann', 'pw2'))).toEqual({ action: 'accept' });
    expect(await check(call('joe', 'pw2'))).toEqual({ action: 'reject' });
    expect(await check(call('nobody', 'pw1'))).toEqual({ action: 'reject' });
  });

  it('names MXHOOK_AUTH_USERS and the line when a line is malformed', async () => {
    const path = await usersFile('joe:not-a-hash\n');
    await expect(loadUsersFile(path)).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
      variable: 'MXHOOK_AUTH_USERS',
      message: expect.stringContaining('line 1'),
    });
  });

  it('names MXHOOK_AUTH_USERS when the file cannot be read', async () => {
    await expect(loadUsersFile('/nonexistent/users')).rejects.toMatchObject({
      variable: 'MXHOOK_AUTH_USERS',
    });
  });

  it('rejects everyone when the file has no users', async () => {
    const check = usersFileAuth(await loadUsersFile(await usersFile('# empty\n')));
    expect(await check(call('joe', 'pw'))).toEqual({ action: 'reject' });
  });
});
