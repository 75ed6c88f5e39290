// The 220 greeting's text after the hostname (MXHOOK_BANNER), read off a real socket.
import { afterEach, describe, expect, it } from 'vitest';
import { closeAllFunctionServers, startFunctionServer } from '../../helpers/function-server.ts';
import { destroyAllClients, SmtpClient } from '../../helpers/smtp-client.ts';
import { startBridge, stopAllBridges } from '../../helpers/start-bridge.ts';
import { startGateway, stopAllGateways, TEST_HOSTNAME } from '../../helpers/start-gateway.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
  await stopAllBridges();
  await closeAllFunctionServers();
});

async function greeting(port: number): Promise<string> {
  return (await (await SmtpClient.connect(port)).readReply()).raw;
}

describe('the greeting banner', () => {
  it('is "ESMTP mxhook" after the hostname by default', async () => {
    const gw = await startGateway();
    expect(await greeting(gw.port)).toBe(`220 ${TEST_HOSTNAME} ESMTP mxhook\r\n`);
  });

  it('is the configured text (option banner)', async () => {
    const gw = await startGateway({ banner: 'ESMTP Postfix (Debian/GNU)' });
    expect(await greeting(gw.port)).toBe(`220 ${TEST_HOSTNAME} ESMTP Postfix (Debian/GNU)\r\n`);
  });

  it('comes from MXHOOK_BANNER under mxhook serve', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({
      functionUrl: fn.url,
      env: { MXHOOK_BANNER: 'ESMTP ready' },
    });
    expect(await greeting(bridge.port)).toBe('220 mx.test ESMTP ready\r\n');
  });

  it('refuses a banner that would break the line', async () => {
    await expect(startGateway({ banner: 'ESMTP\r\n250 forged' })).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
    });
  });
});
