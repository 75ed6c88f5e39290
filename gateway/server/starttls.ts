// Upgrades a live plain-text socket to TLS in place (STARTTLS, RFC 3207) and describes a TLS session.
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { TlsInfo } from '../../functions/sdk/wire.ts';
import type { TlsServerOptions } from './tls-store.ts';

export function tlsInfoOf(socket: TLSSocket): TlsInfo {
  return {
    version: socket.getProtocol() ?? 'unknown',
    cipher: socket.getCipher()?.name ?? 'unknown',
    sni:
      typeof socket.servername === 'string' && socket.servername !== '' ? socket.servername : null,
  };
}

export interface UpgradeEvents {
  readonly secure: (socket: TLSSocket, tls: TlsInfo) => void;
  /** The handshake failed; an error after it (a reset mid-session) is not reported here. */
  readonly handshakeFailed: (error: Error) => void;
}

/**
 * Wraps `plain` in a server-side TLSSocket. The plain socket's own listeners are removed first:
 * from now on every byte it receives belongs to TLS, never to the SMTP reader.
 */
export function upgradeToTls(
  plain: Socket,
  options: TlsServerOptions,
  events: UpgradeEvents,
): TLSSocket {
  for (const event of ['data', 'timeout', 'drain', 'close']) plain.removeAllListeners(event);
  plain.setTimeout(0);
  const secure = new TLSSocket(plain, { isServer: true, ...options });
  let handshaken = false;
  secure.once('secure', () => {
    handshaken = true;
    events.secure(secure, tlsInfoOf(secure));
  });
  secure.once('error', (error) => {
    if (!handshaken) events.handshakeFailed(error);
  });
  return secure;
}
