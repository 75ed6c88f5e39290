// The gateway's DNS resolver against a real DNS server on loopback (test/helpers/dns-server.ts).
import { TCPClient } from 'dns2';
import { afterEach, describe, expect, it } from 'vitest';
import { DnsResolver } from '../../../gateway/net/dns-resolver.ts';
import { closeAllDnsServers, startDnsServer } from '../../helpers/dns-server.ts';

afterEach(closeAllDnsServers);

describe('DnsResolver', () => {
  it('returns A and AAAA addresses with the smallest TTL, from the configured server', async () => {
    const dns = await startDnsServer({
      'relay.test': [
        { type: 'A', address: '127.0.0.7', ttl: 300 },
        { type: 'AAAA', address: '2001:db8::7', ttl: 60 },
      ],
    });
    const resolver = new DnsResolver({ servers: [dns.server] });
    expect(await resolver.addresses('Relay.Test')).toEqual({
      addresses: ['127.0.0.7', '2001:db8::7'],
      ttlSeconds: 60,
    });
    expect(dns.queries).toEqual(
      expect.arrayContaining(['relay.test A udp', 'relay.test AAAA udp']),
    );
  });

  it('answers no addresses for a name that does not exist or has no A or AAAA records', async () => {
    const dns = await startDnsServer({ 'empty.test': [] });
    const resolver = new DnsResolver({ servers: [dns.server] });
    expect(await resolver.addresses('missing.test')).toEqual({ addresses: [], ttlSeconds: null });
    expect(await resolver.addresses('empty.test')).toEqual({ addresses: [], ttlSeconds: null });
  });

  it('sees a changed record on the next query (it keeps no cache of its own)', async () => {
    const dns = await startDnsServer({
      'relay.test': [{ type: 'A', address: '127.0.0.7', ttl: 1 }],
    });
    const resolver = new DnsResolver({ servers: [dns.server] });
    expect((await resolver.addresses('relay.test')).addresses).toEqual(['127.0.0.7']);
    dns.set('relay.test', [{ type: 'A', address: '127.0.0.8', ttl: 5 }]);
    expect(await resolver.addresses('relay.test')).toEqual({
      addresses: ['127.0.0.8'],
      ttlSeconds: 5,
    });
  });

  it('rejects with the DNS error code when the server fails', async () => {
    const dns = await startDnsServer({
      'relay.test': [{ type: 'A', address: '127.0.0.7', ttl: 1 }],
    });
    dns.fail('relay.test', true);
    const resolver = new DnsResolver({ servers: [dns.server], timeoutMs: 200, tries: 1 });
    await expect(resolver.addresses('relay.test')).rejects.toMatchObject({ code: 'ESERVFAIL' });
  });

  it('refuses a server it could not use', () => {
    expect(() => new DnsResolver({ servers: ['not-an-address'] })).toThrow();
  });
});

describe('the test DNS server', () => {
  it('answers over TCP on the same port as UDP, with the TTLs it was given', async () => {
    const dns = await startDnsServer({
      'relay.test': [{ type: 'A', address: '127.0.0.7', ttl: 42 }],
    });
    const answer = await TCPClient({ dns: '127.0.0.1', port: dns.port })('relay.test', 'A');
    expect(answer.answers).toMatchObject([{ address: '127.0.0.7', ttl: 42 }]);
    expect(dns.queries).toEqual(['relay.test A tcp']);
  });
});
