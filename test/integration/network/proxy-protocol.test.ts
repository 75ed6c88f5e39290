// PROXY protocol v1 and v2 over real sockets: the real client address behind a trusted load balancer.
import { connect as netConnect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseCidrList } from '../../../gateway/net/cidr.ts';
import type { RefusalReason } from '../../../gateway/server/observer.ts';
import { type TestCertificate, testCertificate } from '../../helpers/certs.ts';
import {
  ACCEPT,
  closeAllFunctionServers,
  startFunctionServer,
} from '../../helpers/function-server.ts';
import {
  PROXY_V1_UNKNOWN,
  proxyV1,
  proxyV2,
  proxyV2Local,
  v2Header,
} from '../../helpers/proxy-header.ts';
import { destroyAllClients, SmtpClient, sendData, transaction } from '../../helpers/smtp-client.ts';
import { startBridge, stopAllBridges } from '../../helpers/start-bridge.ts';
import {
  gate,
  type StartOptions,
  startGateway,
  stopAllGateways,
} from '../../helpers/start-gateway.ts';
import { WAIT_MS } from '../../helpers/wait.ts';

let certificate: TestCertificate;
beforeAll(async () => {
  certificate = await testCertificate();
});

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
  await stopAllBridges();
  await closeAllFunctionServers();
});

/** The load balancer is 127.0.0.1; 127.0.0.2 is any other client. */
const TRUSTED = parseCidrList('127.0.0.1');
const UNTRUSTED_CLIENT = '127.0.0.2';
const CLIENT = {
  source: '192.0.2.7',
  sourcePort: 40_001,
  destination: '198.51.100.25',
  destinationPort: 25,
};

async function proxiedGateway(options: StartOptions = {}) {
  const refusals: RefusalReason[] = [];
  const gw = await startGateway({
    trustedProxies: TRUSTED,
    proxyHeaderTimeoutMs: 400,
    observer: { refused: (reason) => refusals.push(reason) },
    ...options,
  });
  return { gw, refusals };
}

/** Connected (as the load balancer), header sent, banner read. */
async function throughProxy(port: number, header: Buffer): Promise<SmtpClient> {
  const client = await SmtpClient.connect(port);
  await client.send(header);
  expect((await client.readReply()).code).toBe(220);
  return client;
}

async function sendOneMessage(client: SmtpClient): Promise<void> {
  expect((await client.command('EHLO client.test')).code).toBe(250);
  await transaction(client, 'a@client.test', ['b@mx.test']);
  expect((await sendData(client, 'Subject: proxied\r\n\r\nhello\r\n')).code).toBe(250);
}

describe('PROXY protocol from a trusted proxy', () => {
  it('takes the client address from a v1 header: hooks, proxied and the Received header', async () => {
    const { gw } = await proxiedGateway();
    const client = await throughProxy(gw.port, proxyV1(CLIENT));
    await sendOneMessage(client);

    const { session } = gw.callsOf('connect')[0]!;
    expect(session.client).toEqual({ address: '192.0.2.7', port: 40_001 });
    expect(session.server).toMatchObject({ address: '198.51.100.25', port: 25 });
    expect(session.proxied).toBe(true);
    expect(gw.messages[0]!.call.session.proxied).toBe(true);
    expect(gw.messages[0]!.received).toMatch(/^Received: from client\.test \(\[192\.0\.2\.7\]\)/);
  });

  it('takes the client address from a v2 header with TLVs', async () => {
    const { gw } = await proxiedGateway();
    // PP2_TYPE_AUTHORITY (0x02) "mx.example", as HAProxy sends with send-proxy-v2.
    const tlv = Buffer.concat([Buffer.from([0x02, 0x00, 0x0a]), Buffer.from('mx.example')]);
    const client = await throughProxy(gw.port, proxyV2(CLIENT, tlv));
    await sendOneMessage(client);
    expect(gw.messages[0]!.call.session.client).toEqual({ address: '192.0.2.7', port: 40_001 });
    expect(gw.messages[0]!.call.session.proxied).toBe(true);
    expect(gw.messages[0]!.received).toContain('[192.0.2.7]');
  });

  it('takes an IPv6 client address from a v2 header', async () => {
    const { gw } = await proxiedGateway();
    const header = proxyV2({
      source: '2001:db8::7',
      sourcePort: 50_000,
      destination: '2001:db8::25',
      destinationPort: 25,
    });
    const client = await throughProxy(gw.port, header);
    await sendOneMessage(client);
    expect(gw.messages[0]!.call.session.client).toEqual({ address: '2001:db8::7', port: 50_000 });
    expect(gw.messages[0]!.received).toContain('2001:db8::7]');
  });

  it('reads a header that arrives one byte at a time', async () => {
    const { gw } = await proxiedGateway();
    const client = await SmtpClient.connect(gw.port);
    for (const byte of proxyV2(CLIENT)) {
      await client.send(Buffer.from([byte]));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect((await client.readReply()).code).toBe(220);
    expect(gw.callsOf('connect')[0]!.session.client.address).toBe('192.0.2.7');
  });

  it('hands bytes after the header in the same packet to the session', async () => {
    // The client's EHLO comes before the banner here, so the session refuses an early talker:
    // proof that the bytes behind the header reached it, in order.
    const slow = gate<'connect'>();
    const { gw, refusals } = await proxiedGateway({ script: { connect: slow.hook } });
    const client = await SmtpClient.connect(gw.port);
    await client.send(Buffer.concat([proxyV1(CLIENT), Buffer.from('EHLO x\r\n')]));
    expect(await client.readUntilClosed()).toBe(
      '554 5.5.1 Protocol error: client sent data before the greeting\r\n',
    );
    expect(refusals).toEqual(['early-talker']);
    slow.open(undefined);
  });

  it.each([
    ['v2 LOCAL', proxyV2Local()],
    ['v1 UNKNOWN', PROXY_V1_UNKNOWN],
  ])('keeps the socket address for a %s header (a health check)', async (_name, header) => {
    const { gw } = await proxiedGateway();
    const client = await throughProxy(gw.port, header);
    expect((await client.command('QUIT')).code).toBe(221);
    const { session } = gw.callsOf('connect')[0]!;
    expect(session.client.address).toBe('127.0.0.1');
    expect(session.proxied).toBe(false);
  });

  it.each([
    ['a v1 header with a bad address', Buffer.from('PROXY TCP4 999.0.0.1 10.0.0.1 1 25\r\n')],
    ['a v1 header without CRLF', Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`)],
    ['a v2 header of version 3', v2Header(0x31, 0x11, Buffer.alloc(12))],
    ['a v2 UDP header', v2Header(0x21, 0x12, Buffer.alloc(12))],
    ['SMTP instead of a header', Buffer.from('EHLO client.test\r\n')],
  ])('closes without a reply on %s', async (_name, bytes) => {
    const { gw, refusals } = await proxiedGateway();
    const client = await SmtpClient.connect(gw.port);
    await client.send(bytes);
    await client.expectClosed();
    expect(refusals).toEqual(['proxy-header']);
    expect(gw.calls).toHaveLength(0);
  });

  it('closes without a reply when the header does not come within the deadline', async () => {
    const { gw, refusals } = await proxiedGateway({ proxyHeaderTimeoutMs: 300 });
    const started = performance.now();
    const client = await SmtpClient.connect(gw.port);
    await client.expectClosed();
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(refusals).toEqual(['proxy-header']);
    expect(gw.calls).toHaveLength(0);
  });

  it('counts nothing when a health check connects and closes', async () => {
    const { gw, refusals } = await proxiedGateway();
    const client = await SmtpClient.connect(gw.port);
    client.end();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(refusals).toEqual([]);
    expect(gw.gateway.sessionCount).toBe(0);
  });
});

describe('a PROXY header from an untrusted address', () => {
  it('is refused before the banner, without a reply and not as an early talker', async () => {
    const slow = gate<'connect'>();
    const { gw, refusals } = await proxiedGateway({ script: { connect: slow.hook } });
    const client = await SmtpClient.connect(gw.port, { localAddress: UNTRUSTED_CLIENT });
    await gw.waitForCall('connect');
    await client.send(proxyV1(CLIENT));
    await client.expectClosed();
    expect(refusals).toEqual(['proxy-header']);
    slow.open(undefined);
  });

  it('is refused after the banner too, without a reply', async () => {
    const { gw, refusals } = await proxiedGateway();
    const client = await SmtpClient.connect(gw.port, { localAddress: UNTRUSTED_CLIENT });
    expect((await client.readReply()).code).toBe(220);
    await client.send(proxyV2(CLIENT));
    await client.expectClosed();
    expect(refusals).toEqual(['proxy-header']);
    expect(gw.callsOf('helo')).toHaveLength(0);
    expect(gw.callsOf('connect')[0]!.session.client.address).toBe(UNTRUSTED_CLIENT);
  });

  it('is recognised when its signature arrives split over several packets', async () => {
    const { gw, refusals } = await proxiedGateway({ trustedProxies: null });
    const client = await SmtpClient.connect(gw.port);
    expect((await client.readReply()).code).toBe(220);
    const header = proxyV2(CLIENT);
    await client.send(header.subarray(0, 2)); // "\r\n": an empty line if it were let through
    await new Promise((resolve) => setTimeout(resolve, 50));
    await client.send(header.subarray(2));
    await client.expectClosed();
    expect(refusals).toEqual(['proxy-header']);
  });

  it('does not let an early talker slip through by starting like a header', async () => {
    // "\r\n" could begin the v2 signature, so it is held until the next bytes tell; it still
    // came before the banner, and that is what is refused once they show it is no header.
    const slow = gate<'connect'>();
    const { gw, refusals } = await proxiedGateway({ script: { connect: slow.hook } });
    const client = await SmtpClient.connect(gw.port, { localAddress: UNTRUSTED_CLIENT });
    await gw.waitForCall('connect');
    await client.send('\r\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    slow.open(undefined);
    expect((await client.readReply()).code).toBe(220);
    await client.send('EHLO x\r\n');
    expect(await client.readUntilClosed()).toBe(
      '554 5.5.1 Protocol error: client sent data before the greeting\r\n',
    );
    expect(refusals).toEqual(['early-talker']);
  });

  it('is a second header from a trusted proxy, refused the same way', async () => {
    const { gw, refusals } = await proxiedGateway();
    const client = await throughProxy(gw.port, proxyV1(CLIENT));
    await client.send(proxyV1({ ...CLIENT, source: '203.0.113.9' }));
    await client.expectClosed();
    expect(refusals).toEqual(['proxy-header']);
  });

  it('does not affect a client that sends SMTP', async () => {
    const { gw } = await proxiedGateway();
    const client = await SmtpClient.connect(gw.port, { localAddress: UNTRUSTED_CLIENT });
    expect((await client.readReply()).code).toBe(220);
    await sendOneMessage(client);
    expect(gw.messages[0]!.call.session.proxied).toBe(false);
    expect(gw.messages[0]!.call.session.client.address).toBe(UNTRUSTED_CLIENT);
  });
});

describe('PROXY protocol on an implicit-TLS listener', () => {
  const tlsOptions = () => ({ servername: 'localhost', ca: certificate.cert });

  it('reads the header first, then does the TLS handshake', async () => {
    const { gw } = await proxiedGateway({ implicitTls: true });
    const client = await SmtpClient.connect(gw.tlsPort!);
    await client.send(proxyV2(CLIENT));
    const secure = await client.startTls(tlsOptions());
    expect(secure.authorized).toBe(true);
    expect((await client.readReply()).code).toBe(220);
    await sendOneMessage(client);
    const { session } = gw.messages[0]!.call;
    expect(session.client.address).toBe('192.0.2.7');
    expect(session.proxied).toBe(true);
    expect(session.tls?.sni).toBe('localhost');
  });

  it('passes a ClientHello sent in the same packet as the header to the handshake', async () => {
    const { gw } = await proxiedGateway({ implicitTls: true });
    const raw = netConnect({ host: '127.0.0.1', port: gw.tlsPort! });
    await new Promise((resolve) => raw.once('connect', resolve));
    const secure = tlsConnect({ ...tlsOptions(), socket: prefixFirstWrite(raw, proxyV1(CLIENT)) });
    try {
      expect(await readLine(secure)).toMatch(/^220 /);
      secure.write('QUIT\r\n');
      expect(await readLine(secure)).toMatch(/^221 /);
    } finally {
      secure.destroy();
      raw.destroy();
    }
    expect(gw.callsOf('connect')[0]!.session.client.address).toBe('192.0.2.7');
  });
});

describe('PROXY protocol through mxhook serve', () => {
  it('sends the function the real client address with proxied true (MXHOOK_TRUSTED_PROXIES)', async () => {
    const fn = await startFunctionServer();
    fn.answer('data', ACCEPT);
    const bridge = await startBridge({
      functionUrl: fn.url,
      env: { MXHOOK_TRUSTED_PROXIES: '127.0.0.0/8' },
    });
    const client = await throughProxy(bridge.port, proxyV1(CLIENT));
    await sendOneMessage(client);
    const { body } = await fn.waitForRequest('data');
    expect(body.session.client).toEqual({ address: '192.0.2.7', port: 40_001 });
    expect(body.session.proxied).toBe(true);
    const raw = Buffer.from(body.message.raw ?? '', 'base64').toString('latin1');
    expect(raw).toMatch(
      /^Return-Path: <a@client\.test>\r\nReceived: from client\.test \(\[192\.0\.2\.7\]\)/,
    );
  });
});

/**
 * A stream over `socket` whose first write goes out together with `prefix`, in one packet: how
 * a load balancer may coalesce its header with the client's first bytes.
 */
function prefixFirstWrite(socket: Socket, prefix: Buffer): Duplex {
  let first = true;
  const duplex = new Duplex({
    write(chunk: Buffer, _encoding, callback) {
      const out = first ? Buffer.concat([prefix, chunk]) : chunk;
      first = false;
      socket.write(out, callback);
    },
    read() {
      socket.resume();
    },
    final(callback) {
      socket.end();
      callback();
    },
  });
  socket.on('data', (data) => {
    if (!duplex.push(data)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('error', (error) => duplex.destroy(error));
  return duplex;
}

function readLine(socket: TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no line within ${WAIT_MS} ms`)), WAIT_MS);
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      if (!text.includes('\r\n')) return;
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(text);
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}
