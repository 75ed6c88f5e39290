// An S3-compatible server (s3rver, from npm) on 127.0.0.1 and a free port, storing in a temporary
// directory, with one bucket. It checks that requests carry a known access key and that presigned
// URLs have not expired, but not the signature bytes themselves (its SigV4 check is unimplemented),
// so the tests that need a refused signature use the gateway's own URLs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

/** s3rver's built-in account. */
export const S3_ACCESS_KEY_ID = 'S3RVER';
export const S3_SECRET_ACCESS_KEY = 'S3RVER';

export interface TestS3Server {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly bucket: string;
  /** Where the server keeps its objects. */
  readonly directory: string;
  stop(): Promise<void>;
}

export async function startS3Server(bucket = 'mxhook-archive'): Promise<TestS3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'mxhook-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    directory,
    async stop() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
