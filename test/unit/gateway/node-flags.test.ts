// `npm run serve` starts Node with the flags the gateway ships with (test/e2e/npm-start.test.ts
// checks `npm start`, infra/manifests.test.ts the Docker image and the systemd unit).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GATEWAY_NODE_FLAGS } from '../../../gateway/node-flags.ts';

const root = new URL('../../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');
const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;

describe('GATEWAY_NODE_FLAGS', () => {
  it('are what npm run serve starts node with', () => {
    expect(scripts.serve).toBe(
      ['node', ...GATEWAY_NODE_FLAGS, 'gateway/cli.ts', 'serve'].join(' '),
    );
  });
});
