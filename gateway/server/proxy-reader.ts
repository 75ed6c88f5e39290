// Reads the PROXY protocol header off a new connection from a trusted proxy, before anything else.
import type { Socket } from 'node:net';
import { type ProxyHeader, ProxyHeaderDecoder } from '../net/proxy-protocol.ts';

export type ProxyReadResult =
  | { readonly status: 'done'; readonly header: ProxyHeader }
  /** Not a valid header (the decoder's reason), or no header at all: the peer spoke first. */
  | { readonly status: 'invalid'; readonly reason: string }
  /** The header was not complete within the deadline. */
  | { readonly status: 'timeout' }
  /** The peer went away first: a TCP health check that connects and closes, usually. */
  | { readonly status: 'closed' };

/**
 * Reads from `socket` until the decoder has the whole header, or fails, or `timeoutMs` passes.
 * On `done` the socket is left paused with the bytes after the header put back (`unshift`), so
 * whoever takes the socket next reads the SMTP stream (or the TLS handshake) from its first
 * byte: a session must call `resume()`; a `TLSSocket` wrapped around it reads them itself. On
 * any other result the socket is left as it is for the caller to destroy.
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<ProxyReadResult> {
  const decoder = new ProxyHeaderDecoder();
  return new Promise((resolve) => {
    const finish = (result: ProxyReadResult): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('end', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      const result = decoder.push(chunk);
      if (result.status === 'incomplete') return;
      if (result.status === 'invalid') {
        finish(result);
        return;
      }
      // Pause before the listener goes: a flowing socket with no 'data' listener drops bytes.
      socket.pause();
      if (result.rest.length > 0) socket.unshift(result.rest);
      finish({ status: 'done', header: result.header });
    };
    const onClose = (): void => finish({ status: 'closed' });
    const timer = setTimeout(() => finish({ status: 'timeout' }), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('end', onClose);
  });
}
