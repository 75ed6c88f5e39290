// Clients that leave: half-close (FIN) after their last commands, reset, or vanish mid-message.
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { afterEhlo, destroyAllClients, greeted, inTransaction } from '../../helpers/smtp-client.ts';
import { gate, startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';
import { waitUntil } from '../../helpers/wait.ts';

const rude: Socket[] = [];

afterEach(async () => {
  for (const socket of rude.splice(0)) socket.destroy();
  destroyAllClients();
  await stopAllGateways();
});

/** A client that never closes its side, even after the server's FIN; collects what it receives. */
async function rudeClient(port: number): Promise<{ socket: Socket; received: () => string }> {
  const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  rude.push(socket);
  let text = '';
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
  });
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  return { socket, received: () => text };
}

/**
 * Resolves once the gateway has closed its end: a write to a socket it still holds (half-open)
 * is taken silently, a write to one it destroyed is answered with a reset.
 */
function gatewayLetGo(socket: Socket): Promise<void> {
  return waitUntil(() => {
    if (!socket.destroyed) socket.write('NOOP\r\n');
    return socket.destroyed;
  }, 'the gateway to close a socket its client keeps open');
}

describe('a client that closes its side (FIN)', () => {
  it('gets the reply to a QUIT sent together with its FIN', async () => {
    const gw = await startGateway();
    const client = await afterEhlo(gw.port);
    await client.send('NOOP\r\nQUIT\r\n');
    client.end();
    expect(await client.readUntilClosed()).toBe(
      '250 2.0.0 OK\r\n221 2.0.0 mx.test closing connection\r\n',
    );
  });

  it('is closed at once when it closes while idle', async () => {
    const gw = await startGateway();
    const client = await afterEhlo(gw.port);
    client.end();
    await client.expectClosed();
    await waitUntil(() => gw.gateway.sessionCount === 0, 'the session to end');
  });

  it('gets no reply to a message it did not finish', async () => {
    const gw = await startGateway();
    const client = await inTransaction(gw.port);
    expect((await client.command('DATA')).code).toBe(354);
    await client.send('Subject: cut\r\n\r\nno end marker\r\n');
    client.end();
    await client.expectClosed();
    expect(gw.messages).toHaveLength(0);
    await waitUntil(() => gw.gateway.sessionCount === 0, 'the session to end');
    expect(gw.gateway.bytesInFlight).toBe(0);
  });

  it('counts as gone: the running hook is cancelled and the session freed', async () => {
    // Whether the client still reads cannot be told from a FIN; the gateway treats it as a
    // disconnect, so the reply to a pipelined message followed by FIN is not waited for.
    const data = gate<'data'>();
    const gw = await startGateway({ script: { data: data.hook } });
    const client = await inTransaction(gw.port);
    expect((await client.command('DATA')).code).toBe(354);
    await client.send('Subject: last words\r\n\r\nbody\r\n.\r\nQUIT\r\n');
    const call = await gw.waitForCall('data');
    client.end();
    await waitUntil(() => call.signal.aborted, 'the data call to be aborted');
    await waitUntil(() => gw.gateway.sessionCount === 0, 'the session to end');
    data.open({ action: 'accept' });
    expect(gw.gateway.bytesInFlight).toBe(0);
  });
});

describe('a client that goes away', () => {
  it('cancels the running hook when the connection is reset', async () => {
    const rcpt = gate<'rcpt'>();
    const gw = await startGateway({ script: { rcpt: rcpt.hook } });
    const client = await afterEhlo(gw.port);
    await client.command('MAIL FROM:<a@client.test>');
    await client.send('RCPT TO:<b@mx.test>\r\n');
    const call = await gw.waitForCall('rcpt');
    client.socket.resetAndDestroy();
    await waitUntil(() => call.signal.aborted, 'the hook call to be aborted');
    await waitUntil(() => gw.gateway.sessionCount === 0, 'the session to end');
  });

  it('releases the message bytes held for a session that vanishes inside DATA', async () => {
    const gw = await startGateway();
    const client = await inTransaction(gw.port);
    expect((await client.command('DATA')).code).toBe(354);
    await client.send('x'.repeat(100_000));
    await waitUntil(() => gw.gateway.bytesInFlight > 0, 'the gateway to hold the bytes');
    client.destroy();
    await waitUntil(() => gw.gateway.sessionCount === 0, 'the session to end');
    expect(gw.gateway.bytesInFlight).toBe(0);
    expect(gw.messages).toHaveLength(0);
  });
});

describe('a client that never closes its side', () => {
  it('is let go of after QUIT', async () => {
    const gw = await startGateway();
    const { socket, received } = await rudeClient(gw.port);
    await waitUntil(() => received().startsWith('220 '), 'the banner');
    socket.write('QUIT\r\n');
    await gatewayLetGo(socket);
    expect(received()).toBe('220 mx.test ESMTP mxhook\r\n221 2.0.0 mx.test closing connection\r\n');
    expect(gw.gateway.sessionCount).toBe(0);
  });

  it('is let go of after a refusal over maxConnections', async () => {
    const gw = await startGateway({ maxConnections: 1 });
    await greeted(gw.port);
    const { socket, received } = await rudeClient(gw.port);
    await gatewayLetGo(socket);
    expect(received()).toBe('421 4.7.0 Too many connections, try again later\r\n');
  });
});
