// The DNS lookups the checks make, in the shape mailauth takes (`dns.promises.resolve`), and the
// deadline every check runs under.

/** Resolves `name` for `rrtype` like `dns.promises.resolve`; rejects with a `node:dns` error code. */
export type Resolve = (name: string, rrtype: string) => Promise<unknown>;

/** Codes meaning "there is no such record" rather than "DNS failed". */
const NO_RECORDS = new Set(['ENOTFOUND', 'ENODATA']);

/** The answer does not exist (NXDOMAIN or no records of the type), as opposed to a DNS failure. */
export function isNoRecords(error: unknown): boolean {
  return NO_RECORDS.has((error as NodeJS.ErrnoException | null)?.code ?? '');
}

/** True when `error` says the name does not exist at all (NXDOMAIN). */
export function isNoSuchDomain(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ENOTFOUND';
}

/**
 * `resolve`, but every lookup still unanswered at `deadline` (a `Date.now()` time) fails then with
 * ETIMEOUT, and every later one at once. mailauth turns such a failure into `temperror` for the
 * signature, record or mechanism that needed it, so a check run through this finishes by its
 * deadline with results of its own, rather than being cut off with none.
 */
export function resolveUntil(resolve: Resolve, deadline: number): Resolve {
  return (name, rrtype) => {
    const left = deadline - Date.now();
    if (left <= 0) return Promise.reject(timedOut(name));
    return new Promise((settle, fail) => {
      const timer = setTimeout(() => fail(timedOut(name)), left);
      resolve(name, rrtype).then(
        (answer) => {
          clearTimeout(timer);
          settle(answer);
        },
        (error: unknown) => {
          clearTimeout(timer);
          fail(error);
        },
      );
    });
  };
}

function timedOut(name: string): Error {
  return Object.assign(new Error(`DNS lookup of ${name} ran out of time`), {
    code: 'ETIMEOUT',
    hostname: name,
  });
}
