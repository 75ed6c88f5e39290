// Implicit TLS (SMTPS) deadlines: the handshake's own timeout, and the session's idle timeout after it.
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayObserver } from '../../../gateway/index.ts';
import { testCertificate } from '../../helpers/certs.ts';
import { destroyAllClients, greeted } from '../../helpers/smtp-client.ts';
import { startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
});

function handshakeCounter(): GatewayObserver & { ok: number; failed: number } {
  return {
    ok: 0,
    failed: 0,
    tlsHandshake(ok) {
      if (ok) this.ok++;
      else this.failed++;
    },
  };
}

describe('implicit TLS deadlines', () => {
  it('replies 421 4.4.2 at the idle timeout after the handshake, as on a plain listener', async () => {
    const observer = handshakeCounter();
    const gw = await startGateway({ implicitTls: true, idleTimeoutMs: 300, observer });
    const { cert } = await testCertificate();
    const client = await greeted(gw.tlsPort!, { tls: { ca: cert, servername: 'localhost' } });
    expect(await client.readUntilClosed()).toBe('421 4.4.2 Idle timeout, closing connection\r\n');
    expect(observer).toMatchObject({ ok: 1, failed: 0 });
  });

  it('closes a connection that never starts the handshake, counting a failed handshake', async () => {
    const observer = handshakeCounter();
    const gw = await startGateway({ implicitTls: true, idleTimeoutMs: 300, observer });
    const socket = connect({ host: '127.0.0.1', port: gw.tlsPort! });
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(observer).toMatchObject({ ok: 0, failed: 1 });
  });
});
