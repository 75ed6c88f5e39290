// The vitest project whose tests run inside workerd, the Workers runtime, with simulated KV.
import { readFileSync } from 'node:fs';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineProject } from 'vitest/config';
import { outbound } from './outbound.ts';

// The Worker's own compatibility date, so these tests see the runtime it is deployed on.
const compatibilityDate =
  /^compatibility_date\s*=\s*"([^"]+)"/m.exec(
    readFileSync(new URL('../../wrangler.toml', import.meta.url), 'utf8'),
  )?.[1] ?? '2026-08-01';

export const workersProject = defineProject({
  plugins: [
    cloudflareTest({
      miniflare: {
        compatibilityDate,
        kvNamespaces: ['MESSAGES', 'SEEN'],
        outboundService: outbound,
      },
    }),
  ],
  test: {
    name: 'workers',
    include: ['test/workers/**/*.test.ts'],
    testTimeout: 30_000,
  },
});
