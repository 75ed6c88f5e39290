// Allow and deny lists naming hosts, over real sockets, with the names served by a real DNS server
// on loopback. Clients connect from other loopback addresses (127.0.0.0/8 is all loopback), which
// the names resolve to.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { NETWORKS_OR_HOSTS } from '../../../gateway/config/parse-network.ts';
import type { NetworkList } from '../../../gateway/server/admission.ts';
import { closeAllDnsServers, type DnsRecord, startDnsServer } from '../../helpers/dns-server.ts';
import { destroyAllClients, greeted, SmtpClient } from '../../helpers/smtp-client.ts';
import { type StartOptions, startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';
import { waitUntil } from '../../helpers/wait.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
  await closeAllDnsServers();
});

const ACCESS_DENIED = '554 5.7.1 Access denied\r\n';

/** An access list as MXHOOK_ALLOW_NETWORKS / MXHOOK_DENY_NETWORKS would give it. */
function accessList(text: string): NetworkList {
  return NETWORKS_OR_HOSTS.parse(text, {
    variable: 'MXHOOK_ALLOW_NETWORKS',
    base: '.',
    text: () => '',
  });
}

function a(address: string, ttl = 300): DnsRecord {
  return { type: 'A', address, ttl };
}

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly host?: string;
  readonly addresses?: readonly string[];
  readonly kept?: readonly string[];
}

/** A gateway asking `dnsServer`, whose log lines are kept. */
async function gatewayWith(dnsServer: string, options: StartOptions) {
  const logs: LogLine[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) },
  );
  const gw = await startGateway({ dnsServers: [dnsServer], logger, ...options });
  return { gw, logs };
}

/** What the gateway sends before closing, for a client connecting from `localAddress`. */
async function refusalFor(port: number, localAddress: string): Promise<string> {
  return (await SmtpClient.connect(port, { localAddress })).readUntilClosed();
}

/** Whether a client from `localAddress` gets the banner. */
async function admitted(port: number, localAddress: string): Promise<boolean> {
  const client = await SmtpClient.connect(port, { localAddress });
  const first = await client.readReply();
  client.destroy();
  return first.code === 220;
}

describe('host names in the access lists', () => {
  it('serves the addresses an allowed name resolves to, and nobody else', async () => {
    const dns = await startDnsServer({ 'relay.test': [a('127.0.0.7'), a('127.0.0.17')] });
    const { gw, logs } = await gatewayWith(dns.server, {
      allowNetworks: accessList('relay.test, 127.0.0.20/32'),
    });
    await greeted(gw.port, { localAddress: '127.0.0.7' });
    await greeted(gw.port, { localAddress: '127.0.0.17' });
    await greeted(gw.port, { localAddress: '127.0.0.20' });
    expect(await refusalFor(gw.port, '127.0.0.8')).toBe(ACCESS_DENIED);
    expect(logs).toContainEqual(
      expect.objectContaining({
        msg: 'access list host name resolved',
        host: 'relay.test',
        addresses: ['127.0.0.17', '127.0.0.7'],
      }),
    );
  });

  it('refuses the addresses a denied name resolves to, even when allowed by network', async () => {
    const dns = await startDnsServer({ 'spammer.test': [a('127.0.0.9')] });
    const { gw } = await gatewayWith(dns.server, {
      allowNetworks: accessList('127.0.0.0/8'),
      denyNetworks: accessList('spammer.test'),
    });
    expect(await refusalFor(gw.port, '127.0.0.9')).toBe(ACCESS_DENIED);
    expect(gw.callsOf('connect')).toHaveLength(0);
    await greeted(gw.port, { localAddress: '127.0.0.2' });
  });

  it('picks up a changed record once its TTL has run out, and logs the new addresses', async () => {
    // Long enough for the checks within the TTL to run first on a loaded machine.
    const dns = await startDnsServer({ 'relay.test': [a('127.0.0.7', 3)] });
    const { gw, logs } = await gatewayWith(dns.server, {
      allowNetworks: accessList('relay.test'),
      hostTtlFloorMs: 100,
    });
    await greeted(gw.port, { localAddress: '127.0.0.7' });
    dns.set('relay.test', [a('127.0.0.8', 3)]);
    // Within the TTL the old answer stands.
    expect(await refusalFor(gw.port, '127.0.0.8')).toBe(ACCESS_DENIED);
    await waitUntil(
      () => logs.some((line) => line.addresses?.includes('127.0.0.8') ?? false),
      'the new address to be logged',
    );
    await greeted(gw.port, { localAddress: '127.0.0.8' });
    expect(await refusalFor(gw.port, '127.0.0.7')).toBe(ACCESS_DENIED);
  });

  it('asks again no sooner than the floor, however short the TTL', async () => {
    const dns = await startDnsServer({ 'relay.test': [a('127.0.0.7', 0)] });
    await gatewayWith(dns.server, { allowNetworks: accessList('relay.test'), hostTtlFloorMs: 500 });
    const asked = dns.queries.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(dns.queries.length).toBe(asked);
    await waitUntil(() => dns.queries.length > asked, 'the name to be asked again');
  });

  it('keeps the last good addresses when a re-resolution fails, warns, and retries', async () => {
    const dns = await startDnsServer({ 'relay.test': [a('127.0.0.7', 1)] });
    const { gw, logs } = await gatewayWith(dns.server, {
      allowNetworks: accessList('relay.test'),
      hostTtlFloorMs: 100,
    });
    dns.fail('relay.test', true);
    await waitUntil(
      () => logs.some((line) => line.msg === 'access list host name not resolved'),
      'the failure to be logged',
    );
    expect(logs.find((line) => line.msg === 'access list host name not resolved')).toMatchObject({
      level: 40,
      host: 'relay.test',
      kept: ['127.0.0.7'],
    });
    expect(await admitted(gw.port, '127.0.0.7')).toBe(true);
    dns.fail('relay.test', false);
    dns.set('relay.test', [a('127.0.0.8', 1)]);
    await waitUntil(
      () => logs.some((line) => line.addresses?.includes('127.0.0.8') ?? false),
      'the retry to succeed',
    );
    expect(await admitted(gw.port, '127.0.0.8')).toBe(true);
  });

  it('fails closed for an allowed name that does not resolve at start, until it does', async () => {
    const dns = await startDnsServer({});
    const { gw, logs } = await gatewayWith(dns.server, {
      allowNetworks: accessList('relay.test'),
      hostTtlFloorMs: 100,
    });
    expect(logs).toContainEqual(
      expect.objectContaining({ level: 40, msg: 'access list host name not resolved' }),
    );
    expect(await refusalFor(gw.port, '127.0.0.7')).toBe(ACCESS_DENIED);
    dns.set('relay.test', [a('127.0.0.7')]);
    await waitUntil(() => logs.some((line) => line.addresses !== undefined), 'the name to resolve');
    await greeted(gw.port, { localAddress: '127.0.0.7' });
  });

  it('does not start with a denied name that does not resolve', async () => {
    const dns = await startDnsServer({});
    await expect(
      gatewayWith(dns.server, { denyNetworks: accessList('spammer.test') }),
    ).rejects.toMatchObject({ code: 'ERR_DNS_UNRESOLVED' });
  });
});
