// MXHOOK_MAX_RECIPIENTS under `mxhook serve`: the recipient past the limit gets 452 4.5.3
// (RFC 5321 §4.5.3.1.10) from the gateway, and the function is never asked about it.
import { afterEach, describe, expect, it } from 'vitest';
import { startFunctionServer } from '../../helpers/function-server.ts';
import { inTransaction } from '../../helpers/smtp-client.ts';
import { startBridge } from '../../helpers/start-bridge.ts';
import { cleanUp } from './steps.ts';

afterEach(cleanUp);

describe('MXHOOK_MAX_RECIPIENTS', () => {
  it('answers 452 4.5.3 to the recipient past the limit without calling the function', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url, env: { MXHOOK_MAX_RECIPIENTS: '2' } });
    const client = await inTransaction(bridge.port, { to: ['r1@mx.test', 'r2@mx.test'] });
    expect((await client.command('RCPT TO:<r3@mx.test>')).raw).toBe(
      '452 4.5.3 Too many recipients\r\n',
    );
    // A later command's answer proves the refused RCPT is behind us.
    expect((await client.command('NOOP')).code).toBe(250);
    expect(fn.requestsFor('rcpt').map((request) => request.body.rcpt.address)).toEqual([
      'r1@mx.test',
      'r2@mx.test',
    ]);
  });
});
