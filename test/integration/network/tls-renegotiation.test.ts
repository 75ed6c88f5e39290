// Client-initiated TLS 1.2 renegotiation is refused on STARTTLS and implicit-TLS sessions alike.
import type { TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type TestCertificate, testCertificate } from '../../helpers/certs.ts';
import { afterEhlo, destroyAllClients, greeted } from '../../helpers/smtp-client.ts';
import { startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';

let certificate: TestCertificate;
beforeAll(async () => {
  certificate = await testCertificate();
});

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
});

// Renegotiation exists only up to TLS 1.2 (TLS 1.3 has no such handshake).
const tls12 = () => ({
  servername: 'localhost',
  ca: certificate.cert,
  maxVersion: 'TLSv1.2' as const,
});

/** What renegotiating yields: null when the new handshake completed, else the error's code. */
function renegotiate(socket: TLSSocket): Promise<string | null> {
  return new Promise((resolve) => {
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    const started = socket.renegotiate({ rejectUnauthorized: false }, (error) =>
      resolve(error ? ((error as NodeJS.ErrnoException).code ?? error.message) : null),
    );
    if (!started) resolve('not started');
  });
}

describe('TLS renegotiation', () => {
  it('is refused over STARTTLS (ERR_SSL_NO_RENEGOTIATION) and the gateway keeps serving', async () => {
    const gw = await startGateway({ tls: true });
    const client = await afterEhlo(gw.port);
    expect((await client.command('STARTTLS')).code).toBe(220);
    const secure = await client.startTls(tls12());
    expect(secure.getProtocol()).toBe('TLSv1.2');
    expect((await client.command('EHLO client.test')).code).toBe(250);

    expect(await renegotiate(secure)).toBe('ERR_SSL_NO_RENEGOTIATION');

    const next = await afterEhlo(gw.port);
    expect((await next.command('NOOP')).raw).toBe('250 2.0.0 OK\r\n');
  });

  it('is refused over implicit TLS (ERR_SSL_NO_RENEGOTIATION) and the gateway keeps serving', async () => {
    const gw = await startGateway({ implicitTls: true });
    const client = await greeted(gw.tlsPort!, { tls: tls12() });
    const secure = client.socket as TLSSocket;
    expect(secure.getProtocol()).toBe('TLSv1.2');
    expect((await client.command('EHLO client.test')).code).toBe(250);

    expect(await renegotiate(secure)).toBe('ERR_SSL_NO_RENEGOTIATION');

    const next = await greeted(gw.tlsPort!, { tls: tls12() });
    expect((await next.command('NOOP')).raw).toBe('250 2.0.0 OK\r\n');
  });
});
