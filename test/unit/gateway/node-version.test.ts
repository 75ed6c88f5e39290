// The `mxhook` command's Node.js version check, and package.json "engines" stating the same version.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nodeVersionProblem, REQUIRED_NODE_RANGE } from '../../../gateway/node-version.ts';

const packageJson = JSON.parse(
  readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
) as { engines: { node: string } };

describe('nodeVersionProblem', () => {
  it.each(['22.19.0', '22.20.1', '24.9.0', '25.0.0'])('accepts Node.js %s', (version) => {
    expect(nodeVersionProblem(version)).toBeUndefined();
  });

  it.each(['20.20.2', '22.18.0', '22.17.1', '18.0.0'])(
    'refuses Node.js %s in one line',
    (version) => {
      expect(nodeVersionProblem(version)).toBe(
        `Node.js 22.19 or newer is required (this is Node.js ${version})`,
      );
    },
  );

  it('checks the version package.json "engines" states', () => {
    expect(packageJson.engines.node).toBe(REQUIRED_NODE_RANGE);
  });
});
