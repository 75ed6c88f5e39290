// Builds the dist/ of the package in the current directory (npm runs `prepack` there): the
// repository's `mxhook` (gateway and SDK) or functions/' `@mxhook/functions` (the SDK alone).
// JavaScript and declarations, as that package's tsconfig.build.json says, so that the package
// runs from node_modules, where Node refuses to strip types.
//
// tsc rewrites the sources' `.ts` import specifiers to `.js` in the JavaScript it emits but, as of
// TypeScript 5.9, not in the declarations. TypeScript 5.9 consumers resolve those anyway; older
// compilers and other tools that read declarations need not, so the declarations are rewritten
// here, after tsc, to name the .js files as the JavaScript does.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const DIST = join(process.cwd(), 'dist');
/** A relative specifier ending in `.ts` in `from '…'`, `import '…'` or `import('…')`. */
const RELATIVE_TS_SPECIFIER = /((?:\bfrom|\bimport\s*\(?)\s*)(['"])(\.\.?\/[^'"]*?)\.ts\2/g;

// Stale output of a deleted source must not end up in the tarball.
rmSync(DIST, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
  stdio: 'inherit',
});
for (const name of readdirSync(DIST, { recursive: true, encoding: 'utf8' })) {
  if (!name.endsWith('.d.ts')) continue;
  const path = join(DIST, name);
  writeFileSync(path, readFileSync(path, 'utf8').replace(RELATIVE_TS_SPECIFIER, '$1$2$3.js$2'));
}
