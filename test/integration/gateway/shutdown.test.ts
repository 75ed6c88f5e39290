// Graceful shutdown over real sockets: transactions finish, idle sessions get 421, nothing is lost.
import { afterEach, describe, expect, it } from 'vitest';
import {
  afterEhlo,
  destroyAllClients,
  inTransaction,
  SmtpClient,
  sendData,
} from '../../helpers/smtp-client.ts';
import { gate, neverAnswers, startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
});

const SHUTTING_DOWN = '421 4.3.2 mx.test shutting down, try again later\r\n';
const ACCEPTED = '250 2.0.0 Message accepted\r\n';

describe('stop()', () => {
  it('lets a message whose data call is running finish with 250, then says 421 4.3.2 and closes', async () => {
    const data = gate<'data'>();
    const gw = await startGateway({ script: { data: data.hook } });
    const busy = await inTransaction(gw.port);
    const idle = await afterEhlo(gw.port);
    expect((await busy.command('DATA')).code).toBe(354);
    await busy.send('Subject: in flight\r\n\r\nbody\r\n.\r\n');
    await gw.waitForCall('data');

    const stopped = gw.stop();
    // The idle session is told at once, while the transaction is still waiting for its answer.
    expect(await idle.readUntilClosed()).toBe(SHUTTING_DOWN);
    data.open({ action: 'accept' });
    expect(await busy.readUntilClosed()).toBe(`${ACCEPTED}${SHUTTING_DOWN}`);
    await stopped;
    expect(gw.gateway.sessionCount).toBe(0);
    expect(gw.messages).toHaveLength(1);
  });

  it('lets a client still sending its message finish it', async () => {
    const gw = await startGateway();
    const client = await inTransaction(gw.port);
    expect((await client.command('DATA')).code).toBe(354);
    await client.send('Subject: half\r\n\r\nfirst half, ');
    const stopped = gw.stop();
    await client.send('second half\r\n.\r\n');
    expect(await client.readUntilClosed()).toBe(`${ACCEPTED}${SHUTTING_DOWN}`);
    await stopped;
    expect(gw.messages[0]!.body.toString()).toBe(
      'Subject: half\r\n\r\nfirst half, second half\r\n',
    );
  });

  it('lets a transaction between commands continue to its end', async () => {
    const gw = await startGateway();
    const client = await inTransaction(gw.port);
    const stopped = gw.stop();
    expect((await client.command('RCPT TO:<second@mx.test>')).code).toBe(250);
    expect(await sendData(client, 'x\r\n').then((r) => r.raw)).toBe(ACCEPTED);
    expect(await client.readUntilClosed()).toBe(SHUTTING_DOWN);
    await stopped;
    expect(gw.messages[0]!.call.envelope.rcptTo).toHaveLength(2);
  });

  it('lets a BDAT transaction finish', async () => {
    const gw = await startGateway();
    const client = await inTransaction(gw.port);
    await client.send('BDAT 4\r\nabcd');
    expect((await client.readReply()).code).toBe(250);
    const stopped = gw.stop();
    await client.send('BDAT 2 LAST\r\nef');
    expect(await client.readUntilClosed()).toBe(`${ACCEPTED}${SHUTTING_DOWN}`);
    await stopped;
    expect(gw.messages[0]!.body.toString()).toBe('abcdef');
  });

  it('tells a session still waiting for its banner 421 4.3.2', async () => {
    const connect = gate<'connect'>();
    const gw = await startGateway({ script: { connect: connect.hook } });
    const client = await SmtpClient.connect(gw.port);
    await gw.waitForCall('connect');
    const stopped = gw.stop();
    expect(await client.readUntilClosed()).toBe(SHUTTING_DOWN);
    await stopped;
  });

  it('refuses new connections once stop() has started', async () => {
    const data = gate<'data'>();
    const gw = await startGateway({ script: { data: data.hook } });
    const busy = await inTransaction(gw.port);
    expect((await busy.command('DATA')).code).toBe(354);
    await busy.send('x\r\n.\r\n');
    await gw.waitForCall('data');
    const stopped = gw.stop();
    // Still draining the busy session, but no longer listening.
    await expect(SmtpClient.connect(gw.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(gw.gateway.listening).toBe(false);
    data.open({ action: 'accept' });
    expect(await busy.readUntilClosed()).toBe(`${ACCEPTED}${SHUTTING_DOWN}`);
    await stopped;
  });

  it('after shutdownGraceMs, answers a data call that never returns with 451, never 250, and closes', async () => {
    const gw = await startGateway({
      shutdownGraceMs: 300,
      functionTimeoutMs: 60_000,
      script: { data: neverAnswers() },
    });
    const client = await inTransaction(gw.port);
    expect((await client.command('DATA')).code).toBe(354);
    await client.send('Subject: stuck\r\n\r\nbody\r\n.\r\n');
    await gw.waitForCall('data');
    await gw.stop();
    expect(await client.readUntilClosed()).toBe(
      `451 4.3.0 Temporary failure, please try again later\r\n${SHUTTING_DOWN}`,
    );
    expect(gw.callsOf('data')[0]!.signal.aborted).toBe(true);
    expect(gw.gateway.sessionCount).toBe(0);
  });

  it('resolves when no session is open, and is idempotent', async () => {
    const gw = await startGateway();
    const first = gw.gateway.stop();
    expect(gw.gateway.stop()).toBe(first);
    await first;
    expect(gw.gateway.listening).toBe(false);
  });
});
