// End to end: when the Worker cannot store a message, the sender gets a temporary failure, never 250.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { sendFailure } from './helpers/mail.ts';
import { startTestWorker, type TestWorker } from './helpers/worker.ts';

// The production Worker, deployed by a config that forgot the MESSAGES namespace.
const BROKEN_CONFIG = fileURLToPath(new URL('./broken-storage.wrangler.toml', import.meta.url));

let worker: TestWorker;
let gateway: TestGateway;

beforeAll(async () => {
  worker = await startTestWorker({ config: BROKEN_CONFIG });
  gateway = await startTestGateway(`${worker.url}mxhook/`, worker.secret);
}, 90_000);

afterAll(async () => {
  await gateway?.stop();
  await worker?.stop();
}, 30_000);

describe('storage failure', () => {
  it('answers DATA with 451 4.3.0, so the sending MTA keeps the message and retries', async () => {
    const failure = await sendFailure(gateway.port, {
      to: 'bob@inbox.test',
      subject: 'cannot be stored',
      text: 'x',
    });
    expect(failure.code).toBe('EMESSAGE');
    expect(failure.responseCode).toBe(451);
    expect(failure.response).toBe('451 4.3.0 Could not store the message; try again later');
  });

  it('answers the inbox API with 503 naming the missing binding', async () => {
    const response = await fetch(new URL('api/messages', worker.url));
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      error:
        'storage unavailable: the MESSAGES binding is missing: add the KV namespace to wrangler.toml',
    });
  });
});
