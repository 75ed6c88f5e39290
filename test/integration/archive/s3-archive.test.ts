// The S3 engine against an S3-compatible server started here (s3rver, from npm): the Archive contract.
import { afterAll, beforeAll } from 'vitest';
import { S3Archive } from '../../../gateway/archive/s3-archive.ts';
import {
  S3_ACCESS_KEY_ID,
  S3_SECRET_ACCESS_KEY,
  startS3Server,
  type TestS3Server,
} from '../../helpers/s3-server.ts';
import { archiveConformance } from './conformance.ts';

let server: TestS3Server;
let prefixes = 0;

beforeAll(async () => {
  server = await startS3Server();
});

afterAll(async () => {
  await server?.stop();
});

// Each test gets a prefix of its own in the one bucket: an empty archive.
archiveConformance('s3', async () => ({
  archive: new S3Archive({
    bucket: server.bucket,
    prefix: `test-${++prefixes}/`,
    endpoint: server.endpoint,
    region: 'us-east-1',
    accessKeyId: S3_ACCESS_KEY_ID,
    secretAccessKey: S3_SECRET_ACCESS_KEY,
  }),
  close: async () => {},
}));
