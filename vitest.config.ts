// Test runner configuration: unit, integration (real sockets) and end-to-end suites under test/ run
// in Node; test/workers/ runs inside workerd, the Workers runtime (see test/workers/project.ts).
import { configDefaults, defineConfig } from 'vitest/config';
import { workersProject } from './test/workers/project.ts';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/workers/**'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          pool: 'forks',
        },
      },
      workersProject,
    ],
  },
});
