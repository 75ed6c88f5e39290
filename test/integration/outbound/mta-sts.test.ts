// MTA-STS (RFC 8461) and required TLS in outbound delivery, with real parts: a loopback DNS server
// publishing `_mta-sts` TXT, MX and A records; a real HTTPS policy host on 127.0.0.6 whose
// certificate a test CA signed; receiving MTAs on 127.0.0.2–3 offering STARTTLS with a certificate
// of that CA, with a self-signed one, or no STARTTLS at all.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseDeliveryTls } from '../../../gateway/config/parse-delivery-tls.ts';
import { DnsLookups } from '../../../gateway/net/dns-lookups.ts';
import type { DeliveryRequest } from '../../../gateway/outbound/delivery.ts';
import { DeliveryTlsPolicies } from '../../../gateway/outbound/delivery-tls.ts';
import { MtaStsPolicies } from '../../../gateway/outbound/mta-sts.ts';
import { MxDelivery } from '../../../gateway/outbound/mx-delivery.ts';
import {
  certificateSignedBy,
  newCertificateAuthority,
  type TestCertificate,
} from '../../helpers/certs.ts';
import { type DnsRecord, startDnsServer, type TestDnsServer } from '../../helpers/dns-server.ts';
import {
  closeAllReceivingMtas,
  freePort,
  type MtaScript,
  startReceivingMta,
} from '../../helpers/receiving-mta.ts';

const [MX1, MX2, POLICY_HOST, DEAD] = ['127.0.0.2', '127.0.0.3', '127.0.0.6', '127.0.0.5'] as const;
/** Every domain a test publishes a policy for: the policy host's certificate names them all. */
const POLICY_DOMAINS = [
  'enforce.test',
  'selfsigned.test',
  'plain.test',
  'notlisted.test',
  'testing.test',
  'cached.test',
  'down.test',
  'none.test',
  'oversize.test',
  'slow.test',
] as const;
/** Served as a policy: never answered. */
const HANG = 'hang';

let port: number;
let dns: TestDnsServer;
let authority: TestCertificate;
/** Valid for mx1.test and mx2.test, signed by `authority`. */
let mxCertificate: TestCertificate;
let policyServer: Server;
let policyPort: number;
/** The policy file each policy host serves, by host name. */
const policies = new Map<string, string>();
/** HTTPS requests each policy host received. */
const fetches = new Map<string, number>();
let lines: Record<string, unknown>[];
let delivery: MxDelivery;

/** TTL 0, so that a test that moves a domain to another MX host sees the move at once. */
const mx = (exchange: string, priority = 10): DnsRecord => ({
  type: 'MX',
  exchange,
  priority,
  ttl: 0,
});

beforeAll(async () => {
  port = await freePort([MX1, MX2, DEAD]);
  authority = await newCertificateAuthority();
  mxCertificate = await certificateSignedBy(authority, ['mx1.test', 'mx2.test']);
  const policyCertificate = await certificateSignedBy(
    authority,
    POLICY_DOMAINS.map((domain) => `mta-sts.${domain}`),
  );
  policyServer = createServer(policyCertificate, (request, response) => {
    const host = String(request.headers.host);
    fetches.set(host, (fetches.get(host) ?? 0) + 1);
    const policy = policies.get(host);
    if (policy === HANG) return;
    if (request.url !== '/.well-known/mta-sts.txt' || policy === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain' }).end(policy);
  });
  await new Promise<void>((resolve) => policyServer.listen(0, POLICY_HOST, resolve));
  policyPort = (policyServer.address() as AddressInfo).port;
  dns = await startDnsServer({
    'mx1.test': [{ type: 'A', address: MX1 }],
    'mx2.test': [{ type: 'A', address: MX2 }],
  });
});
afterAll(async () => {
  await dns.close();
  policyServer.closeAllConnections();
  await new Promise((resolve) => policyServer.close(resolve));
});

beforeEach(() => {
  lines = [];
  delivery = newDelivery();
});
afterEach(async () => {
  await delivery.close();
  await closeAllReceivingMtas();
});

/** A delivery over a fresh DNS cache and policy cache, trusting the test CA, logging to `lines`. */
function newDelivery(setting = ''): MxDelivery {
  const lookups = new DnsLookups({ servers: [dns.server], timeoutMs: 1_000 });
  const log = pino(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    }),
  );
  const mtaSts = new MtaStsPolicies({
    resolve: lookups.resolve,
    ca: [authority.cert],
    port: policyPort,
    timeoutMs: 2_000,
    log,
  });
  return new MxDelivery({
    resolve: lookups.resolve,
    hostname: 'out.sender.test',
    port,
    connectTimeoutMs: 2_000,
    tls: new DeliveryTlsPolicies(parseDeliveryTls(setting), mtaSts),
    ca: [authority.cert],
    log,
  });
}

/** Publishes `domain`'s MX hosts and MTA-STS policy (TXT id, policy host, the file). */
function publish(
  domain: string,
  options: { mx: readonly string[]; id: string; mode: string; allowed: readonly string[] },
): void {
  dns.set(
    domain,
    options.mx.map((name, index) => mx(name, 10 * (index + 1))),
  );
  // TTL 0: a test that changes the id sees the change at once.
  dns.set(`_mta-sts.${domain}`, [{ type: 'TXT', data: `v=STSv1; id=${options.id}`, ttl: 0 }]);
  dns.set(`mta-sts.${domain}`, [{ type: 'A', address: POLICY_HOST, ttl: 0 }]);
  policies.set(
    `mta-sts.${domain}`,
    [
      'version: STSv1',
      `mode: ${options.mode}`,
      ...options.allowed.map((name) => `mx: ${name}`),
      'max_age: 86400',
      '',
    ].join('\r\n'),
  );
}

function mta(address: string, script: MtaScript = {}) {
  return startReceivingMta(address, port, script);
}

/** An MTA with a certificate valid for mx1.test and mx2.test, from the trusted test CA. */
function trustedMta(address: string) {
  return mta(address, { certificate: mxCertificate });
}

function message(domain: string): DeliveryRequest {
  const body = Buffer.from(
    `From: a@sender.test\r\nTo: bob@${domain}\r\nSubject: hi\r\n\r\nHi.\r\n`,
  );
  return {
    domain,
    sender: 'a@sender.test',
    recipients: [{ address: `bob@${domain}` }],
    body: [body],
    sizeBytes: body.length,
  };
}

function logged(msg: string) {
  return lines.filter((line) => line.msg === msg);
}

describe('MTA-STS enforce', () => {
  it('delivers over TLS verified for the MX host, and records it', async () => {
    publish('enforce.test', { mx: ['mx1.test'], id: 'a1', mode: 'enforce', allowed: ['mx1.test'] });
    const host = await trustedMta(MX1);
    const report = await delivery.deliver(message('enforce.test'));
    expect(report.results[0]).toMatchObject({ kind: 'delivered' });
    expect(report.tlsPolicy).toBe('mta-sts enforce');
    expect(report.tls).toEqual({
      version: expect.stringMatching(/^TLSv1\.[23]$/),
      cipher: expect.any(String),
      authorized: true,
      verifyError: null,
      verified: true,
    });
    expect(host.messages[0]?.secure).toBe(true);
    expect(logged('outbound delivery attempt')).toEqual([
      expect.objectContaining({
        host: 'mx1.test',
        tlsPolicy: 'mta-sts enforce',
        tls: expect.objectContaining({ authorized: true, verified: true }),
      }),
    ]);
  });

  it('defers rather than deliver to a host whose certificate is not valid, sending no MAIL', async () => {
    publish('selfsigned.test', {
      mx: ['mx1.test'],
      id: 'a1',
      mode: 'enforce',
      allowed: ['mx1.test'],
    });
    const host = await mta(MX1);
    const report = await delivery.deliver(message('selfsigned.test'));
    expect(report.results[0]).toEqual({
      address: 'bob@selfsigned.test',
      kind: 'deferred',
      reply: expect.stringMatching(
        /^451 4\.7\.5 MTA-STS policy requires verified TLS: mx1\.test\[127\.0\.0\.2\] certificate not valid \(DEPTH_ZERO_SELF_SIGNED_CERT\)$/,
      ),
    });
    expect(host.connections).toBe(1);
    expect(host.mailCommands).toBe(0);
    expect(host.messages).toEqual([]);
  });

  it('defers rather than deliver in clear to a host without STARTTLS', async () => {
    publish('plain.test', { mx: ['mx1.test'], id: 'a1', mode: 'enforce', allowed: ['mx1.test'] });
    const host = await mta(MX1, { starttls: 'none' });
    const report = await delivery.deliver(message('plain.test'));
    expect(report.results[0]).toMatchObject({
      kind: 'deferred',
      reply: expect.stringMatching(
        /^451 4\.7\.5 MTA-STS policy requires verified TLS: mx1\.test\[127\.0\.0\.2\] no STARTTLS \(not offered\)$/,
      ),
    });
    expect(host.mailCommands).toBe(0);
    expect(host.messages).toEqual([]);
  });

  it('skips an MX host the policy does not list, for the next that it does', async () => {
    publish('notlisted.test', {
      mx: ['mx1.test', 'mx2.test'],
      id: 'a1',
      mode: 'enforce',
      allowed: ['mx2.test'],
    });
    const [first, second] = [await trustedMta(MX1), await trustedMta(MX2)];
    const report = await delivery.deliver(message('notlisted.test'));
    expect(report).toMatchObject({ host: 'mx2.test', results: [{ kind: 'delivered' }] });
    expect(first.connections).toBe(0);
    expect(second.messages).toHaveLength(1);
    expect(logged('MX host not in the MTA-STS policy: skipped')).toEqual([
      expect.objectContaining({ domain: 'notlisted.test', host: 'mx1.test' }),
    ]);
  });
});

describe('MTA-STS testing', () => {
  it('delivers over an unverifiable certificate, logging what enforce would have refused', async () => {
    publish('testing.test', { mx: ['mx1.test'], id: 'a1', mode: 'testing', allowed: ['mx1.test'] });
    const host = await mta(MX1);
    const report = await delivery.deliver(message('testing.test'));
    expect(report).toMatchObject({
      results: [{ kind: 'delivered' }],
      tlsPolicy: 'mta-sts testing',
      tls: { authorized: false, verified: false, verifyError: 'DEPTH_ZERO_SELF_SIGNED_CERT' },
    });
    expect(host.messages[0]?.secure).toBe(true);
    expect(logged('MTA-STS testing: enforce would have refused this host')).toEqual([
      expect.objectContaining({
        level: 40,
        domain: 'testing.test',
        host: 'mx1.test',
        resultType: 'certificate-not-trusted',
      }),
    ]);
  });
});

describe('the policy cache', () => {
  it('fetches once while the TXT id stays, and again when it changes', async () => {
    publish('cached.test', { mx: ['mx1.test'], id: 'one', mode: 'enforce', allowed: ['mx1.test'] });
    await trustedMta(MX1);
    for (let i = 0; i < 2; i++) {
      expect((await delivery.deliver(message('cached.test'))).results[0]?.kind).toBe('delivered');
    }
    expect(fetches.get('mta-sts.cached.test')).toBe(1);

    dns.set('_mta-sts.cached.test', [{ type: 'TXT', data: 'v=STSv1; id=two', ttl: 0 }]);
    policies.set(
      'mta-sts.cached.test',
      'version: STSv1\r\nmode: testing\r\nmx: mx1.test\r\nmax_age: 600\r\n',
    );
    const report = await delivery.deliver(message('cached.test'));
    expect(report.tlsPolicy).toBe('mta-sts testing');
    expect(fetches.get('mta-sts.cached.test')).toBe(2);
  });

  it('goes on applying a cached policy while the policy host is down', async () => {
    publish('down.test', { mx: ['mx1.test'], id: 'one', mode: 'enforce', allowed: ['mx1.test'] });
    await trustedMta(MX1);
    expect((await delivery.deliver(message('down.test'))).results[0]?.kind).toBe('delivered');

    // A new id and a new MX host, but the policy host answers nowhere: the cached policy, which
    // does not list mx2.test, still holds.
    dns.set('_mta-sts.down.test', [{ type: 'TXT', data: 'v=STSv1; id=two', ttl: 0 }]);
    dns.set('mta-sts.down.test', [{ type: 'A', address: DEAD, ttl: 0 }]);
    dns.set('down.test', [mx('mx2.test')]);
    const unlisted = await trustedMta(MX2);
    const report = await delivery.deliver(message('down.test'));
    expect(report).toMatchObject({
      tlsPolicy: 'mta-sts enforce',
      results: [
        {
          kind: 'deferred',
          reply: '451 4.7.5 MTA-STS policy of down.test lists none of its MX hosts (mx2.test)',
        },
      ],
    });
    expect(unlisted.connections).toBe(0);
    expect(logged('MTA-STS policy fetch failed')).toEqual([
      expect.objectContaining({
        domain: 'down.test',
        resultType: 'sts-policy-fetch-error',
        cachedPolicy: 'enforce',
      }),
    ]);
    expect(fetches.get('mta-sts.down.test')).toBe(1);
  });

  it('ignores a policy in mode none', async () => {
    publish('none.test', { mx: ['mx1.test'], id: 'a1', mode: 'none', allowed: [] });
    const host = await mta(MX1);
    const report = await delivery.deliver(message('none.test'));
    expect(report).toMatchObject({ results: [{ kind: 'delivered' }], tlsPolicy: 'opportunistic' });
    expect(host.messages).toHaveLength(1);
    expect(fetches.get('mta-sts.none.test')).toBe(1);
  });

  it('gives up on a policy over 64 KiB, or one not served in time, and delivers as before', async () => {
    publish('oversize.test', {
      mx: ['mx1.test'],
      id: 'a1',
      mode: 'enforce',
      allowed: ['mx1.test'],
    });
    policies.set(
      'mta-sts.oversize.test',
      `${policies.get('mta-sts.oversize.test')}${'#'.repeat(65_536)}`,
    );
    publish('slow.test', { mx: ['mx1.test'], id: 'a1', mode: 'enforce', allowed: ['mx1.test'] });
    policies.set('mta-sts.slow.test', HANG);
    const host = await mta(MX1);
    for (const domain of ['oversize.test', 'slow.test']) {
      const report = await delivery.deliver(message(domain));
      expect(report).toMatchObject({
        results: [{ kind: 'delivered' }],
        tlsPolicy: 'opportunistic',
      });
    }
    expect(host.messages).toHaveLength(2);
    expect(logged('MTA-STS policy fetch failed')).toEqual([
      expect.objectContaining({
        domain: 'oversize.test',
        reason: 'https://mta-sts.oversize.test/.well-known/mta-sts.txt: larger than 65536 bytes',
      }),
      expect.objectContaining({
        domain: 'slow.test',
        reason: 'https://mta-sts.slow.test/.well-known/mta-sts.txt: no answer in 2000 ms',
      }),
    ]);
  });

  it('delivers opportunistically, fetching nothing, to a domain without an _mta-sts record', async () => {
    dns.set('nopolicy.test', [mx('mx1.test')]);
    const host = await mta(MX1);
    const report = await delivery.deliver(message('nopolicy.test'));
    expect(report).toMatchObject({
      results: [{ kind: 'delivered' }],
      tlsPolicy: 'opportunistic',
      tls: { authorized: false, verified: false },
    });
    expect(host.messages[0]?.secure).toBe(true);
    expect(fetches.get('mta-sts.nopolicy.test')).toBeUndefined();
  });
});

describe('MXHOOK_DELIVERY_TLS without a policy', () => {
  it('verify: defers at a self-signed certificate, delivers at a trusted one', async () => {
    const strict = newDelivery('verify.test:verify');
    try {
      dns.set('verify.test', [mx('mx1.test')]);
      const impostor = await mta(MX1);
      const refused = await strict.deliver(message('verify.test'));
      expect(refused.results[0]).toMatchObject({
        kind: 'deferred',
        reply: expect.stringMatching(
          /^451 4\.7\.5 MXHOOK_DELIVERY_TLS requires verified TLS: mx1\.test\[127\.0\.0\.2\] certificate not valid/,
        ),
      });
      expect(refused.tlsPolicy).toBe('setting verify');
      expect(impostor.mailCommands).toBe(0);

      dns.set('verify.test', [mx('mx2.test')]);
      const host = await trustedMta(MX2);
      const report = await strict.deliver(message('verify.test'));
      expect(report).toMatchObject({
        results: [{ kind: 'delivered' }],
        tls: { authorized: true, verified: true },
      });
      expect(host.messages).toHaveLength(1);
    } finally {
      await strict.close();
    }
  });

  it('encrypt: delivers over an unverified certificate, defers where there is no STARTTLS', async () => {
    const encrypting = newDelivery('encrypt.test:encrypt,encrypt2.test:encrypt,*:opportunistic');
    try {
      dns.set('encrypt.test', [mx('mx1.test')]);
      const host = await mta(MX1);
      const report = await encrypting.deliver(message('encrypt.test'));
      expect(report).toMatchObject({
        results: [{ kind: 'delivered' }],
        tlsPolicy: 'setting encrypt',
        tls: { authorized: false, verified: false },
      });
      expect(host.messages[0]?.secure).toBe(true);

      dns.set('encrypt2.test', [mx('mx2.test')]);
      const plain = await mta(MX2, { starttls: 'none' });
      const refused = await encrypting.deliver(message('encrypt2.test'));
      expect(refused.results[0]).toMatchObject({
        kind: 'deferred',
        reply: expect.stringMatching(
          /^451 4\.7\.5 MXHOOK_DELIVERY_TLS requires TLS: .* no STARTTLS/,
        ),
      });
      expect(plain.mailCommands).toBe(0);
    } finally {
      await encrypting.close();
    }
  });
});

describe('connection reuse', () => {
  it('never reuses an unverified session for a domain that requires verified TLS', async () => {
    const mixed = newDelivery('strict.test:verify');
    try {
      dns.set('loose.test', [mx('mx1.test')]);
      dns.set('strict.test', [mx('mx1.test')]);
      const host = await mta(MX1);
      expect((await mixed.deliver(message('loose.test'))).results[0]?.kind).toBe('delivered');
      // The session to mx1.test is idle now, over an unverified certificate.
      const report = await mixed.deliver(message('strict.test'));
      expect(report.results[0]).toMatchObject({ kind: 'deferred' });
      expect(host.mailCommands).toBe(1);
      expect(host.connections).toBe(2);
    } finally {
      await mixed.close();
    }
  });

  it('reuses a verified session for a domain that requires less', async () => {
    const mixed = newDelivery('strict.test:verify');
    try {
      dns.set('loose.test', [mx('mx1.test')]);
      dns.set('strict.test', [mx('mx1.test')]);
      const host = await trustedMta(MX1);
      expect((await mixed.deliver(message('strict.test'))).results[0]?.kind).toBe('delivered');
      const report = await mixed.deliver(message('loose.test'));
      expect(report.results[0]?.kind).toBe('delivered');
      expect(host.connections).toBe(1);
      expect(host.messages).toHaveLength(2);
    } finally {
      await mixed.close();
    }
  });
});
