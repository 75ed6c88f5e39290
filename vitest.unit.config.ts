// The unit layer alone (`npm run test:unit`): it imports nothing of the Workers project, so
// neither wrangler nor workerd is loaded and the run takes seconds.
import { defineConfig } from 'vitest/config';
import { unitProject } from './test/projects.ts';

export default defineConfig({ test: { projects: [unitProject] } });
