// Keeps functions/ runnable on Workers, Deno and Bun: nothing in it imports gateway/ or a Node
// built-in. The gateway imports the SDK, never the other way (docs/architecture.md, "Invariants").
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, ROOT, sourceFiles } from '../../helpers/source-text.ts';

const NODE_BUILTINS = new Set(builtinModules);

/** What in `file`'s imports breaks the boundary: a path into gateway/, or a Node built-in. */
function crossings(file: string, text: string): string[] {
  return importsOf(text).filter((spec) =>
    spec.startsWith('.')
      ? relative(ROOT, resolve(dirname(join(ROOT, file)), spec)).startsWith('gateway/')
      : spec.startsWith('node:') || NODE_BUILTINS.has(spec.split('/')[0]!),
  );
}

describe('the functions/ boundary', () => {
  const files = [...sourceFiles('functions/sdk'), ...sourceFiles('functions/worker')];

  it('scans the SDK and the example Worker', () => {
    expect(files).toContain('functions/sdk/verify.ts');
    expect(files).toContain('functions/worker/app.ts');
  });

  it.each(files)('%s imports nothing from gateway/ and no Node built-in', (file) => {
    expect(crossings(file, readFileSync(join(ROOT, file), 'utf8'))).toEqual([]);
  });

  it('the scanner catches each kind of crossing', () => {
    const file = 'functions/sdk/example.ts';
    expect(crossings(file, "import { x } from '../../gateway/errors.ts';")).toEqual([
      '../../gateway/errors.ts',
    ]);
    expect(crossings(file, "import { Buffer } from 'node:buffer';")).toEqual(['node:buffer']);
    expect(crossings(file, "import { createHash } from 'crypto';")).toEqual(['crypto']);
    expect(crossings(file, "import { Hono } from 'hono';\nimport { a } from './wire.ts';")).toEqual(
      [],
    );
  });
});
