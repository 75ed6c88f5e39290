// Starts the example Worker under `wrangler dev` for a test file: free ports, a fresh secret, its own storage.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startWorkerDev, WorkerStartError } from '../../../gateway/dev/wrangler-dev.ts';

export interface TestWorker {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  /** The HS256 secret the Worker verifies with; give the same to the gateway. */
  readonly secret: string;
  /** What wrangler printed once up (requests, console.error of the Worker). */
  readonly output: readonly string[];
  stop(): Promise<void>;
}

/** The vars every e2e Worker gets unless the test overrides them. */
export const TEST_VARS = {
  DOMAINS: 'inbox.test',
  RECIPIENTS: 'postmaster@other.test',
  INBOX_PUBLIC: 'true',
} as const;

const ATTEMPTS = 3;

/**
 * `wrangler dev` on free ports with KV persisted in a temporary directory (removed by `stop`).
 * A port taken between choosing and binding it is retried with new ports.
 */
export async function startTestWorker(
  options: { readonly config?: string; readonly vars?: Readonly<Record<string, string>> } = {},
): Promise<TestWorker> {
  const secret = randomBytes(32).toString('base64url');
  const persistTo = await mkdtemp(join(tmpdir(), 'mxhook-e2e-'));
  const output: string[] = [];
  for (let attempt = 1; ; attempt++) {
    const [port, inspectorPort] = await Promise.all([freePort(), freePort()]);
    try {
      const worker = await startWorkerDev({
        port,
        inspectorPort,
        persistTo,
        ...(options.config === undefined ? {} : { config: options.config }),
        vars: { ...TEST_VARS, MXHOOK_SIGNING_SECRET: secret, ...options.vars },
        onOutput: (line) => output.push(line),
      });
      return {
        url: worker.url,
        secret,
        output,
        async stop() {
          await worker.stop();
          await rm(persistTo, { recursive: true, force: true });
        },
      };
    } catch (error) {
      const portTaken = error instanceof WorkerStartError && /already in use/i.test(error.message);
      if (!portTaken || attempt === ATTEMPTS) {
        await rm(persistTo, { recursive: true, force: true });
        throw error;
      }
    }
  }
}
