// The repository's own source as text, for tests that keep a rule true by scanning the code.
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root directory. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Source text with comments removed, so a comment that names a thing is not a use of it. */
export function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

// Static imports and re-exports (`import x from '…'`, `export * from '…'`, `import '…'`),
// dynamic `import('…')` and `require('…')`.
const SPECIFIERS = [
  /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
  /\bimport\s*['"]([^'"]+)['"]/g,
  /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
];

/** The module specifiers a source file imports, outside comments. */
export function importsOf(text: string): string[] {
  const source = withoutComments(text);
  return SPECIFIERS.flatMap((re) => [...source.matchAll(re)].map((m) => m[1]!));
}

/** The TypeScript files under `dir` (relative to the root), as root-relative paths, sorted. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
    .map((name) => join(dir, name))
    .sort();
}
