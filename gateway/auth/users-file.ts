// MXHOOK_AUTH=users: AUTH decided locally from a file of `username:$scrypt$…` lines, without calling the function.
import { readFile } from 'node:fs/promises';
import type { StepResponse } from '../../functions/sdk/wire.ts';
import { ConfigError } from '../errors.ts';
import type { HookArgs } from '../handler.ts';
import { CheckSlots } from './check-slots.ts';
import { type PasswordHash, parsePasswordHash, verifyPassword } from './password-hash.ts';

const ACCEPT: StepResponse = Object.freeze({ action: 'accept' });
const REJECT: StepResponse = Object.freeze({ action: 'reject' });

/** Reads and checks the users file; every line is `username:hash`, `#` starts a comment. */
export async function loadUsersFile(path: string): Promise<ReadonlyMap<string, PasswordHash>> {
  const text = await readFile(path, 'utf8').catch((cause: unknown) => {
    throw new ConfigError('MXHOOK_AUTH_USERS', `cannot read ${path}`, { cause });
  });
  const users = new Map<string, PasswordHash>();
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    const hash = colon > 0 ? parsePasswordHash(line.slice(colon + 1)) : null;
    if (hash === null) {
      throw new ConfigError(
        'MXHOOK_AUTH_USERS',
        `${path} line ${index + 1} is not "username:$scrypt$…" (make one with "mxhook hash-password")`,
      );
    }
    users.set(line.slice(0, colon), hash);
  }
  return users;
}

/**
 * The auth hook for a users file. Unknown users cost the same scrypt work, so timing reveals
 * nothing. Checks run in `slots` (one set for the whole gateway); an attempt that gets none
 * fails with ERR_AUTH_BUSY, which the client sees as 454 4.7.0 and which is not counted as a
 * wrong password.
 */
export function usersFileAuth(
  users: ReadonlyMap<string, PasswordHash>,
  slots: CheckSlots = new CheckSlots(),
): (call: HookArgs<'auth'>) => Promise<StepResponse> {
  const decoy = users.values().next().value;
  return async function checkUsersFile({ auth, signal }) {
    const stored = users.get(auth.username);
    const target = stored ?? decoy;
    if (target === undefined) return REJECT;
    const matches = await slots.run(() => verifyPassword(auth.password, target), signal);
    return stored !== undefined && matches ? ACCEPT : REJECT;
  };
}
