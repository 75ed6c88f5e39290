// @mxhook/functions (functions/package.json) is published beside mxhook from the same sources, so
// its version and its dependencies' versions follow the repository's package.json. Its
// dependencies are ranges from the tested version up: a function that uses Hono itself then shares
// one copy with the SDK (two copies would make the SDK's Hono types foreign to the app's).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface Manifest {
  readonly version: string;
  readonly dependencies: Record<string, string>;
}

const read = (path: string): Manifest =>
  JSON.parse(readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8')) as Manifest;
const root = read('package.json');
const sdk = read('functions/package.json');

describe('functions/package.json', () => {
  it('has the version of the mxhook package', () => {
    expect(sdk.version).toBe(root.version);
  });

  it('depends on jose and hono from the versions the repository installs', () => {
    expect(sdk.dependencies).toEqual({
      hono: `^${root.dependencies.hono}`,
      jose: `^${root.dependencies.jose}`,
    });
  });
});
