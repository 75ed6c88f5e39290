// Admission before the banner over real sockets: allow/deny lists, the per-address rate and concurrency caps.
import { afterEach, describe, expect, it } from 'vitest';
import { parseCidrList } from '../../../gateway/net/cidr.ts';
import type { RefusalReason } from '../../../gateway/server/observer.ts';
import { closeAllFunctionServers, startFunctionServer } from '../../helpers/function-server.ts';
import { proxyV1 } from '../../helpers/proxy-header.ts';
import { destroyAllClients, greeted, SmtpClient } from '../../helpers/smtp-client.ts';
import { startBridge, stopAllBridges } from '../../helpers/start-bridge.ts';
import { type StartOptions, startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';
import { waitUntil } from '../../helpers/wait.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
  await stopAllBridges();
  await closeAllFunctionServers();
});

const ACCESS_DENIED = '554 5.7.1 Access denied\r\n';
const TOO_MANY = '421 4.7.0 Too many connections from your address, try again later\r\n';
const TOO_FAST =
  '421 4.7.0 Too many new connections from your address, slow down and try again later\r\n';

async function gatewayWith(options: StartOptions) {
  const refusals: RefusalReason[] = [];
  const gw = await startGateway({
    observer: { refused: (reason) => refusals.push(reason) },
    ...options,
  });
  return { gw, refusals };
}

/** What the gateway sends before closing, for a client connecting from `localAddress`. */
async function refusalFor(port: number, localAddress?: string): Promise<string> {
  const client = await SmtpClient.connect(port, localAddress ? { localAddress } : {});
  return client.readUntilClosed();
}

/** A connection from the trusted proxy (127.0.0.1) on behalf of `source`. */
async function viaProxy(port: number, source: string): Promise<SmtpClient> {
  const client = await SmtpClient.connect(port);
  await client.send(
    proxyV1({ source, sourcePort: 40_000, destination: '198.51.100.25', destinationPort: 25 }),
  );
  return client;
}

async function greetedViaProxy(port: number, source: string): Promise<SmtpClient> {
  const client = await viaProxy(port, source);
  expect((await client.readReply()).code).toBe(220);
  return client;
}

describe('allow and deny lists', () => {
  it('answers a denied client 554 5.7.1 instead of the banner and closes (RFC 5321 §3.1)', async () => {
    const { gw, refusals } = await gatewayWith({ denyNetworks: parseCidrList('127.0.0.3') });
    expect(await refusalFor(gw.port, '127.0.0.3')).toBe(ACCESS_DENIED);
    expect(refusals).toEqual(['access-denied']);
    expect(gw.callsOf('connect')).toHaveLength(0);
    await greeted(gw.port, { localAddress: '127.0.0.2' });
  });

  it('serves only the allowed networks when an allow list is given', async () => {
    const { gw } = await gatewayWith({ allowNetworks: parseCidrList('127.0.0.2/32') });
    await greeted(gw.port, { localAddress: '127.0.0.2' });
    expect(await refusalFor(gw.port, '127.0.0.1')).toBe(ACCESS_DENIED);
  });

  it('lets deny win over allow', async () => {
    const { gw } = await gatewayWith({
      allowNetworks: parseCidrList('127.0.0.0/8'),
      denyNetworks: parseCidrList('127.0.0.3'),
    });
    expect(await refusalFor(gw.port, '127.0.0.3')).toBe(ACCESS_DENIED);
    await greeted(gw.port, { localAddress: '127.0.0.2' });
  });

  it('allows everyone with an empty allow list', async () => {
    const { gw } = await gatewayWith({ allowNetworks: parseCidrList('') });
    await greeted(gw.port, { localAddress: '127.0.0.4' });
  });

  it('checks the client behind a trusted proxy, not the proxy', async () => {
    const { gw } = await gatewayWith({
      trustedProxies: parseCidrList('127.0.0.1'),
      denyNetworks: parseCidrList('192.0.2.0/24, 127.0.0.1'),
    });
    const denied = await viaProxy(gw.port, '192.0.2.7');
    expect(await denied.readUntilClosed()).toBe(ACCESS_DENIED);
    // The proxy's own address is on the list too, but the client it speaks for is not.
    await greetedViaProxy(gw.port, '198.51.100.1');
  });

  it('closes a denied client on an implicit-TLS listener without clear text', async () => {
    const { gw, refusals } = await gatewayWith({
      implicitTls: true,
      denyNetworks: parseCidrList('127.0.0.3'),
    });
    expect(await refusalFor(gw.tlsPort!, '127.0.0.3')).toBe('');
    expect(refusals).toEqual(['access-denied']);
  });

  it('reads the lists from MXHOOK_ALLOW_NETWORKS and MXHOOK_DENY_NETWORKS', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({
      functionUrl: fn.url,
      env: { MXHOOK_ALLOW_NETWORKS: '127.0.0.0/8', MXHOOK_DENY_NETWORKS: '127.0.0.3' },
    });
    expect(await refusalFor(bridge.port, '127.0.0.3')).toBe(ACCESS_DENIED);
    await greeted(bridge.port, { localAddress: '127.0.0.2' });
  });
});

describe('connection rate per address', () => {
  it('answers 421 4.7.0 past the rate and closes, per client address', async () => {
    const { gw, refusals } = await gatewayWith({
      trustedProxies: parseCidrList('127.0.0.1'),
      maxConnectionsPerIpPerMinute: 3,
    });
    for (let i = 0; i < 3; i++) {
      const client = await greetedViaProxy(gw.port, '192.0.2.10');
      expect((await client.command('QUIT')).code).toBe(221);
    }
    const fourth = await viaProxy(gw.port, '192.0.2.10');
    expect(await fourth.readUntilClosed()).toBe(TOO_FAST);
    expect(refusals).toEqual(['connection-rate-per-ip']);
    // Another client is not affected.
    await greetedViaProxy(gw.port, '192.0.2.11');
  });

  it('exempts direct loopback clients (local relays, test suites)', async () => {
    const { gw } = await gatewayWith({ maxConnectionsPerIpPerMinute: 2 });
    for (let i = 0; i < 5; i++) {
      const client = await greeted(gw.port, { localAddress: '127.0.0.2' });
      expect((await client.command('QUIT')).code).toBe(221);
    }
  });

  it('never exempts a proxied client, even one with a loopback source address', async () => {
    const { gw } = await gatewayWith({
      trustedProxies: parseCidrList('127.0.0.1'),
      maxConnectionsPerIpPerMinute: 1,
    });
    const first = await greetedViaProxy(gw.port, '127.0.0.9');
    expect((await first.command('QUIT')).code).toBe(221);
    expect(await (await viaProxy(gw.port, '127.0.0.9')).readUntilClosed()).toBe(TOO_FAST);
  });

  it('reads the rate from MXHOOK_MAX_CONNECTION_RATE_PER_IP', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({
      functionUrl: fn.url,
      env: { MXHOOK_TRUSTED_PROXIES: '127.0.0.1', MXHOOK_MAX_CONNECTION_RATE_PER_IP: '1' },
    });
    const first = await greetedViaProxy(bridge.port, '192.0.2.12');
    expect((await first.command('QUIT')).code).toBe(221);
    expect(await (await viaProxy(bridge.port, '192.0.2.12')).readUntilClosed()).toBe(TOO_FAST);
  });
});

describe('concurrent sessions per address', () => {
  it('caps sessions from a proxied address with 421 4.7.0 and frees the slot on close', async () => {
    const { gw, refusals } = await gatewayWith({
      trustedProxies: parseCidrList('127.0.0.1'),
      maxConnectionsPerIp: 2,
    });
    const first = await greetedViaProxy(gw.port, '192.0.2.20');
    await greetedViaProxy(gw.port, '192.0.2.20');
    expect(await (await viaProxy(gw.port, '192.0.2.20')).readUntilClosed()).toBe(TOO_MANY);
    expect(refusals).toEqual(['max-connections-per-ip']);
    // All of them came through the same proxy, but only the real client is capped.
    await greetedViaProxy(gw.port, '192.0.2.21');

    expect((await first.command('QUIT')).code).toBe(221);
    await waitUntil(() => gw.gateway.sessionCount === 2, 'the session to end');
    await greetedViaProxy(gw.port, '192.0.2.20');
  });

  it('counts implicit-TLS connections from the start of the handshake', async () => {
    const { gw, refusals } = await gatewayWith({
      implicitTls: true,
      trustedProxies: parseCidrList('127.0.0.1'),
      maxConnectionsPerIp: 1,
    });
    // The first never starts its handshake, yet holds the address's only slot. Nothing shows
    // when its header has been read, so give the gateway a moment before the second arrives.
    await viaProxy(gw.tlsPort!, '192.0.2.30');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const second = await viaProxy(gw.tlsPort!, '192.0.2.30');
    expect(await second.readUntilClosed()).toBe('');
    expect(refusals).toEqual(['max-connections-per-ip']);
  });
});
