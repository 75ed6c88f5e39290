// The vitest projects that run in Node, one per layer of test/. vitest.config.ts runs them with
// the Workers project (test/workers/project.ts); vitest.unit.config.ts runs the unit layer alone,
// without loading wrangler and workerd.
import { defineProject } from 'vitest/config';

/** Single modules, in process and on fake timers where a deadline matters: a hang fails fast. */
export const unitProject = defineProject({
  test: {
    name: 'unit',
    include: ['test/unit/**/*.test.ts'],
    testTimeout: 5_000,
    hookTimeout: 10_000,
    // A worker thread per file starts faster and costs less CPU than a process per file; the few
    // tests that need a process of their own start one with child_process.
    pool: 'threads',
  },
});

/** A real gateway over real sockets, with functions served in the test process. */
export const integrationProject = defineProject({
  test: {
    name: 'integration',
    include: ['test/integration/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});

/** Functions that hang, die or restart, clients that vanish, a gateway told to stop. */
export const faultProject = defineProject({
  test: {
    name: 'fault',
    include: ['test/fault/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});

/** Whole programs as a user runs them: `npm start`, the packed package, wrangler dev. */
export const e2eProject = defineProject({
  test: {
    name: 'e2e',
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
