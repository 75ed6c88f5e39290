// Keeps the `mxhook` command's standard error for what an operator must read: node:sqlite, which
// the embedded outbound queue uses, prints an ExperimentalWarning the first time it is loaded
// (Node 22.13 to 24 at least), on every `mxhook serve` with a queue directory and every
// `mxhook queue …`. That one warning is dropped; every other warning, experimental ones included,
// is still printed. `--disable-warning=ExperimentalWarning` would hide them all, and a flag cannot
// be set for the installed command anyway.

/** The start of node:sqlite's warning text, as Node 22 and 24 word it. */
const SQLITE_WARNING = 'SQLite is an experimental feature';

/** The filters installed, so a second call does not wrap the first. */
const installed = new WeakSet<object>();

/**
 * Drops node:sqlite's ExperimentalWarning from this process. Call it before the embedded queue is
 * first loaded; calling it again does nothing more.
 */
export function silenceSqliteWarning(): void {
  const emitWarning = process.emitWarning;
  if (installed.has(emitWarning)) return;
  // Node's own modules call the public process.emitWarning, so wrapping it sees their warnings.
  const filtered = function emitWarningExceptSqlite(
    this: NodeJS.Process,
    warning: string | Error,
    ...rest: unknown[]
  ): void {
    if (isSqliteWarning(warning, rest[0])) return;
    Reflect.apply(emitWarning, this, [warning, ...rest]);
  } as NodeJS.Process['emitWarning'];
  installed.add(filtered);
  process.emitWarning = filtered;
}

/** `emitWarning(warning, type)` or `emitWarning(warning, { type })`, or an Error named by type. */
function isSqliteWarning(warning: string | Error, typeOrOptions: unknown): boolean {
  const text = typeof warning === 'string' ? warning : warning.message;
  if (!text.startsWith(SQLITE_WARNING)) return false;
  if (typeof typeOrOptions === 'string') return typeOrOptions === 'ExperimentalWarning';
  if (typeof typeOrOptions === 'object' && typeOrOptions !== null)
    return (typeOrOptions as { type?: unknown }).type === 'ExperimentalWarning';
  return typeof warning !== 'string' && warning.name === 'ExperimentalWarning';
}
