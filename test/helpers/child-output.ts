// The text a spawned process has written so far, for tests that read it while it runs.
import type { ChildProcess } from 'node:child_process';

/** Collects `child`'s stdout and stderr (spawned with both piped) as UTF-8 text. */
export function collectOutput(child: ChildProcess): {
  readonly stdout: () => string;
  readonly stderr: () => string;
} {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
  });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  return { stdout: () => stdout, stderr: () => stderr };
}
