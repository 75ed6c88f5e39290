// A short, secret-free description of why a file could not be used, for one-line config errors.

/** `ENOENT`, `EACCES`, … when the error has a code, otherwise its message. */
export function errorCode(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.message : String(error);
}
