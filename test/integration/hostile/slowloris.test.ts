// Slowloris: a client that trickles bytes must not hold a session open for longer than its deadline.
import { afterEach, describe, expect, it } from 'vitest';
import {
  afterEhlo,
  destroyAllClients,
  greeted,
  inTransaction,
  SmtpClient,
} from '../../helpers/smtp-client.ts';
import { startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';
import { waitUntil } from '../../helpers/wait.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
});

const TIMED_OUT = '421 4.4.2 Idle timeout, closing connection\r\n';
const DATA_TIMED_OUT = '421 4.4.2 Timeout waiting for message data, closing connection\r\n';
/**
 * The timeouts under test (the defaults are 300 s and 600 s). A byte every 100 ms against a
 * 500 ms deadline is the proportion of the classic one byte per second against minutes.
 */
const IDLE_MS = 500;
const DATA_MS = 500;
/** How long the trickle would go on if nothing stopped it: many deadlines. */
const TRICKLE_LIMIT_MS = 6_000;

/**
 * Writes `text` one byte every `everyMs` until the text runs out, the server closes, or
 * TRICKLE_LIMIT_MS pass; returns how long the server let it go on, in ms.
 */
async function trickle(client: SmtpClient, text: string, everyMs: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < text.length; i++) {
    if (client.closed || performance.now() - started > TRICKLE_LIMIT_MS) break;
    await client.send(text[i]!).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  await client.readUntilClosed(TRICKLE_LIMIT_MS).catch(() => '');
  return performance.now() - started;
}

describe('a client trickling one byte at a time (slowloris)', () => {
  it('is closed with 421 4.4.2 when a command line is not complete within idleTimeoutMs', async () => {
    const gw = await startGateway({ idleTimeoutMs: IDLE_MS, dataTimeoutMs: DATA_MS });
    const client = await afterEhlo(gw.port);
    // One byte per 100 ms resets any inactivity timer; 60 bytes would take 6 s.
    const pending = trickle(client, `NOOP ${'x'.repeat(55)}`, 100);
    const replies = await client.readUntilClosed(TRICKLE_LIMIT_MS);
    const heldMs = await pending;
    expect(replies).toBe(TIMED_OUT);
    expect(heldMs).toBeLessThan(IDLE_MS * 4);
    await waitUntil(() => gw.gateway.sessionCount === 0, 'the session to end');
  });

  it('is closed when it trickles its first command after the banner', async () => {
    const gw = await startGateway({ idleTimeoutMs: IDLE_MS, dataTimeoutMs: DATA_MS });
    const client = await greeted(gw.port);
    const pending = trickle(client, `EHLO ${'a'.repeat(55)}.test\r\n`, 100);
    expect(await client.readUntilClosed(TRICKLE_LIMIT_MS)).toBe(TIMED_OUT);
    expect(await pending).toBeLessThan(IDLE_MS * 4);
    expect(gw.callsOf('helo')).toHaveLength(0);
  });

  it('is closed with 421 4.4.2 when DATA trickles slower than the minimum rate, without a data call', async () => {
    const gw = await startGateway({ idleTimeoutMs: IDLE_MS, dataTimeoutMs: DATA_MS });
    const client = await inTransaction(gw.port);
    expect((await client.command('DATA')).code).toBe(354);
    const pending = trickle(client, `Subject: slow\r\n\r\n${'y'.repeat(200)}\r\n.\r\n`, 50);
    const replies = await client.readUntilClosed(TRICKLE_LIMIT_MS);
    const heldMs = await pending;
    expect(replies).toBe(DATA_TIMED_OUT);
    expect(heldMs).toBeLessThan(DATA_MS * 4);
    expect(gw.messages).toHaveLength(0);
    await waitUntil(() => gw.gateway.sessionCount === 0, 'the session to end');
    expect(gw.gateway.bytesInFlight).toBe(0);
  });

  it('is closed when a BDAT chunk trickles', async () => {
    const gw = await startGateway({ idleTimeoutMs: IDLE_MS, dataTimeoutMs: DATA_MS });
    const client = await inTransaction(gw.port);
    await client.send('BDAT 200 LAST\r\n');
    const pending = trickle(client, 'z'.repeat(200), 50);
    expect(await client.readUntilClosed(TRICKLE_LIMIT_MS)).toBe(DATA_TIMED_OUT);
    expect(await pending).toBeLessThan(DATA_MS * 4);
    expect(gw.messages).toHaveLength(0);
  });

  it('does not cut off a slow but steady sender whose message takes several dataTimeoutMs', async () => {
    const gw = await startGateway({ idleTimeoutMs: IDLE_MS, dataTimeoutMs: DATA_MS });
    const client = await inTransaction(gw.port);
    expect((await client.command('DATA')).code).toBe(354);
    // 1 KiB every 100 ms (10 KiB/s) for 1.5 s: three times the data timeout, far above the minimum rate.
    await client.send('Subject: steady\r\n\r\n');
    for (let i = 0; i < 15; i++) {
      await client.send(`${'s'.repeat(1022)}\r\n`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await client.send('.\r\n');
    expect((await client.readReply()).raw).toBe('250 2.0.0 Message accepted\r\n');
    expect(gw.messages).toHaveLength(1);
  });

  it('keeps a session whose complete commands each arrive within idleTimeoutMs', async () => {
    // The deadline is per command, not per session: an active client is not cut off.
    const gw = await startGateway({ idleTimeoutMs: IDLE_MS, dataTimeoutMs: DATA_MS });
    const client = await afterEhlo(gw.port);
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS * 0.4));
      expect((await client.command('NOOP')).code).toBe(250);
    }
  });

  it('is cut off when it trickles a TLS handshake on the implicit-TLS listener', async () => {
    const gw = await startGateway({ implicitTls: true, idleTimeoutMs: IDLE_MS });
    const client = await SmtpClient.connect(gw.tlsPort!);
    // A TLS record header announcing a 16 KiB handshake record, then its body a byte at a time:
    // the TLS library waits for the whole record, so only a deadline can end this.
    await client.send(Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00]));
    const heldMs = await trickle(client, 'c'.repeat(200), 100);
    expect(heldMs).toBeLessThan(IDLE_MS * 4);
  });

  it('is cut off when it trickles its TLS handshake after STARTTLS', async () => {
    const gw = await startGateway({ tls: true, idleTimeoutMs: IDLE_MS });
    const client = await afterEhlo(gw.port);
    expect((await client.command('STARTTLS')).code).toBe(220);
    await client.send(Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00]));
    const heldMs = await trickle(client, 'c'.repeat(200), 100);
    // The deadline ends the session; its 421 cannot get through a handshake that never finishes,
    // so the socket goes when the gateway stops waiting for the close (2 s linger).
    expect(heldMs).toBeLessThan(IDLE_MS * 4 + 2_000);
    await waitUntil(() => gw.gateway.sessionCount === 0, 'the session to end');
  });

  it('is closed when it never answers the AUTH LOGIN prompt', async () => {
    const gw = await startGateway({ idleTimeoutMs: IDLE_MS, auth: { allowInsecure: true } });
    const client = await afterEhlo(gw.port);
    expect((await client.command('AUTH LOGIN')).raw).toBe('334 VXNlcm5hbWU6\r\n');
    const pending = trickle(client, 'dXNlcm5hbWU='.repeat(5), 100);
    expect(await client.readUntilClosed(TRICKLE_LIMIT_MS)).toBe(TIMED_OUT);
    expect(await pending).toBeLessThan(IDLE_MS * 4);
  });
});
