// XCLIENT over real sockets: the client a trusted proxy names is admitted, limited and locked out as itself.
import { afterEach, describe, expect, it } from 'vitest';
import { parseCidrList } from '../../../gateway/net/cidr.ts';
import { PROXY_V1_UNKNOWN } from '../../helpers/proxy-header.ts';
import { destroyAllClients, SmtpClient } from '../../helpers/smtp-client.ts';
import { type StartOptions, startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
});

const GREETING = '220 mx.test ESMTP mxhook\r\n';
const LOCKED_OUT = '421 4.7.0 Too many failed authentication attempts, try again later\r\n';
const BAD_PLAIN = `AUTH PLAIN ${Buffer.from('\0joe\0wrong').toString('base64')}`;

/** A gateway that trusts 127.0.0.1 as a proxy (PROXY protocol and XCLIENT). */
function proxiedGateway(options: StartOptions = {}) {
  return startGateway({ trustedProxies: parseCidrList('127.0.0.1'), ...options });
}

/** The proxy's own session (PROXY UNKNOWN), after EHLO, with `XCLIENT <attributes>` sent. */
async function xclient(port: number, attributes: string): Promise<SmtpClient> {
  const client = await SmtpClient.connect(port);
  await client.send(PROXY_V1_UNKNOWN);
  expect((await client.readReply()).raw).toBe(GREETING);
  expect((await client.command('EHLO proxy.test')).code).toBe(250);
  await client.send(`XCLIENT ${attributes}\r\n`);
  return client;
}

describe('XCLIENT admission', () => {
  it('refuses a new address on the deny list with 554 5.7.1 and closes, before any connect call for it', async () => {
    const gw = await proxiedGateway({ denyNetworks: parseCidrList('203.0.113.0/24') });
    const client = await xclient(gw.port, 'ADDR=203.0.113.9 PORT=4000');
    expect(await client.readUntilClosed()).toBe('554 5.7.1 Access denied\r\n');
    expect(gw.callsOf('connect').map((c) => c.session.client.address)).toEqual(['127.0.0.1']);
  });

  it('counts the new address against the per-address limit, and frees its slot at close', async () => {
    const gw = await proxiedGateway({ maxConnectionsPerIp: 1 });
    const first = await xclient(gw.port, 'ADDR=192.0.2.7');
    expect((await first.readReply()).raw).toBe(GREETING);
    const second = await xclient(gw.port, 'ADDR=192.0.2.7');
    expect(await second.readUntilClosed()).toBe(
      '421 4.7.0 Too many connections from your address, try again later\r\n',
    );
    const other = await xclient(gw.port, 'ADDR=192.0.2.8');
    expect((await other.readReply()).raw).toBe(GREETING);
    await first.command('QUIT');
    await first.expectClosed();
    const again = await xclient(gw.port, 'ADDR=192.0.2.7');
    expect((await again.readReply()).raw).toBe(GREETING);
  });

  it('keys the AUTH lockout on the new address, not on the proxy', async () => {
    const gw = await proxiedGateway({ auth: { allowInsecure: true } });
    /** A session as `address`, greeted with EHLO; returns the reply to one failed AUTH. */
    const failOnce = async (client: SmtpClient): Promise<string> => {
      expect((await client.readReply()).raw).toBe(GREETING);
      expect((await client.command('EHLO real.test')).code).toBe(250);
      return (await client.command(BAD_PLAIN)).raw;
    };
    // Ten failures from 192.0.2.7 (three per session at most) lock that address out.
    let failures = 0;
    for (let session = 0; session < 4 && failures < 10; session++) {
      const client = await xclient(gw.port, 'ADDR=192.0.2.7');
      expect(await failOnce(client)).toMatch(/^535 /);
      failures++;
      for (let n = 1; n < 3 && failures < 10; n++, failures++)
        expect((await client.command(BAD_PLAIN)).code).not.toBe(250);
      client.destroy();
    }
    expect(failures).toBe(10);
    expect(await failOnce(await xclient(gw.port, 'ADDR=192.0.2.7'))).toBe(LOCKED_OUT);
    // Another client behind the same proxy is not locked out.
    expect(await failOnce(await xclient(gw.port, 'ADDR=192.0.2.8'))).toMatch(/^535 /);
  });
});

describe('XCLIENT values', () => {
  it.each([
    ['ADDR=:::', 'ADDR'],
    ['ADDR=300.1.1.1', 'ADDR'],
    ['PORT=70000', 'PORT'],
    ['NAME=evil.example+0D+0AX-Injected:+20yes', 'NAME'],
    ['HELO=x+1B[2J', 'HELO'],
    ['LOGIN=joe+00root', 'LOGIN'],
  ])('refuses %s with 501 5.5.4 and keeps the proxy session', async (attributes, name) => {
    const gw = await proxiedGateway();
    const client = await xclient(gw.port, attributes);
    expect((await client.readReply()).raw).toBe(
      `501 5.5.4 Syntax error: XCLIENT ${name} value is not valid\r\n`,
    );
    expect((await client.command('NOOP')).code).toBe(250);
    expect(gw.callsOf('connect')).toHaveLength(1);
  });
});
