// The peer: the SMTP-to-webhook bridge a user would otherwise write by hand with nodemailer's
// smtp-server and an undici Pool — the same JSON envelope as mxhook (raw message in base64), signed
// with HMAC-SHA256. Written the way a competent user would, not to be slow: one Pool with
// keep-alive, the message collected as Buffers and concatenated once, one JSON.stringify.
import { createHmac, randomUUID } from 'node:crypto';
import { Resolver } from 'node:dns';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress, type SMTPServerOptions } from 'smtp-server';
import { Pool } from 'undici';
import { BENCH_HOSTNAME, PEER_SIGNATURE_HEADER } from './constants.ts';

export interface PeerOptions {
  readonly functionUrl: string;
  readonly secret: string;
  /** smtp-server's default is to look up the client's name before the banner. */
  readonly reverseLookup: boolean;
  readonly maxMessageBytes: number;
}

export interface RunningPeer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startPeer(options: PeerOptions): Promise<RunningPeer> {
  const base = new URL(options.functionUrl);
  const pool = new Pool(base.origin, { connections: 128 });
  const audience = new URL('data', base).href;
  const path = new URL(audience).pathname;

  const server = new SMTPServer({
    name: BENCH_HOSTNAME,
    authOptional: true,
    disableReverseLookup: !options.reverseLookup,
    // The lookup itself stays the library's default code path; only the DNS servers are pinned to
    // loopback so the benchmark sends nothing off this machine (127.0.0.1 resolves from /etc/hosts).
    resolver: loopbackResolver(),
    size: options.maxMessageBytes,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (stream.sizeExceeded) return callback(); // smtp-server answers 552 itself
        const raw = Buffer.concat(chunks);
        const body = JSON.stringify({
          v: 1,
          id: randomUUID(),
          step: 'data',
          timestamp: Math.floor(Date.now() / 1000),
          audience,
          session: {
            id: session.id,
            client: {
              address: session.remoteAddress,
              port: session.remotePort,
              hostname: session.clientHostname,
            },
            server: {
              address: session.localAddress,
              port: session.localPort,
              hostname: BENCH_HOSTNAME,
            },
            helo: session.hostNameAppearsAs,
            tls: null,
            auth: null,
            proxied: false,
          },
          envelope: {
            mailFrom: session.envelope.mailFrom ? pathOf(session.envelope.mailFrom) : null,
            rcptTo: session.envelope.rcptTo.map(pathOf),
          },
          message: { size: raw.length, raw: raw.toString('base64') },
        });
        const signature = `sha256=${createHmac('sha256', options.secret).update(body).digest('hex')}`;
        post(pool, path, body, signature).then(
          (answer) =>
            answer.action === 'accept'
              ? callback(null, 'Message accepted')
              : callback(smtpError(550, answer.message ?? 'Rejected')),
          () => callback(smtpError(451, 'Temporary failure, please try again later')),
        );
      });
    },
  } as SMTPServerOptions & { resolver: Resolver });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.close();
    },
  };
}

async function post(
  pool: Pool,
  path: string,
  body: string,
  signature: string,
): Promise<{ action?: string; message?: string }> {
  const response = await pool.request({
    path,
    method: 'POST',
    headers: { 'content-type': 'application/json', [PEER_SIGNATURE_HEADER]: signature },
    body,
  });
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new Error(`function answered HTTP ${response.statusCode}`);
  }
  return (await response.body.json()) as { action?: string; message?: string };
}

function pathOf(address: SMTPServerAddress): { address: string; params: object } {
  return { address: address.address, params: address.args || {} };
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

function loopbackResolver(): Resolver {
  const resolver = new Resolver({ timeout: 1_000, tries: 1 });
  resolver.setServers(['127.0.0.1']);
  return resolver;
}
