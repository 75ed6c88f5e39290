// Test runner configuration: one project per layer of test/. Unit, integration (real sockets),
// fault and end-to-end suites run in Node (test/projects.ts); test/workers/ runs inside workerd,
// the Workers runtime (test/workers/project.ts). `npm run test:unit` uses vitest.unit.config.ts,
// which leaves the Workers project, and so wrangler and workerd, unloaded.
import { defineConfig } from 'vitest/config';
import { e2eProject, faultProject, integrationProject, unitProject } from './test/projects.ts';
import { workersProject } from './test/workers/project.ts';

export default defineConfig({
  test: {
    projects: [unitProject, integrationProject, faultProject, e2eProject, workersProject],
  },
});
