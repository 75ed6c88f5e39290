// 1,000 sessions open at once, each with one transaction; and a flood of connections past maxConnections.
import { afterEach, describe, expect, it } from 'vitest';
import { parseCidrList } from '../../../gateway/net/cidr.ts';
import { proxyV1 } from '../../helpers/proxy-header.ts';
import {
  destroyAllClients,
  greeted,
  inTransaction,
  SmtpClient,
  type SmtpReply,
  sendData,
} from '../../helpers/smtp-client.ts';
import { startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';
import { waitUntil } from '../../helpers/wait.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
});

const SESSIONS = 1_000;
/** Connections opened at a time, so the listen backlog is not what is being tested. */
const OPEN_BATCH = 100;
const TOO_MANY = '421 4.7.0 Too many connections, try again later\r\n';
const TOO_MANY_FROM_ADDRESS =
  '421 4.7.0 Too many connections from your address, try again later\r\n';

/** A connection from the trusted proxy (127.0.0.1) on behalf of `source`; its first reply. */
async function viaProxy(port: number, source: string): Promise<SmtpClient> {
  const client = await SmtpClient.connect(port);
  await client.send(
    proxyV1({ source, sourcePort: 40_000, destination: '198.51.100.25', destinationPort: 25 }),
  );
  return client;
}

/** Runs `task` for 0..count-1, at most `batch` at a time. */
async function inBatches<T>(
  count: number,
  batch: number,
  task: (n: number) => Promise<T>,
): Promise<T[]> {
  const out: T[] = [];
  for (let start = 0; start < count; start += batch) {
    const size = Math.min(batch, count - start);
    out.push(...(await Promise.all(Array.from({ length: size }, (_, i) => task(start + i)))));
  }
  return out;
}

describe(`${SESSIONS} concurrent sessions`, () => {
  it('are all open at once, each completes EHLO and one transaction, and all are gone afterwards', async () => {
    const gw = await startGateway({ maxConnections: SESSIONS });
    const clients = await inBatches(SESSIONS, OPEN_BATCH, () => greeted(gw.port));
    expect(gw.gateway.sessionCount).toBe(SESSIONS);

    const finals = await Promise.all(
      clients.map(async (client, n): Promise<SmtpReply> => {
        if ((await client.command(`EHLO c${n}.client.test`)).code !== 250)
          throw new Error(`session ${n}: EHLO refused`);
        // RFC 2920: MAIL, RCPT and DATA pipelined in one group, DATA last.
        await client.send(`MAIL FROM:<s${n}@client.test>\r\nRCPT TO:<r${n}@mx.test>\r\nDATA\r\n`);
        const group = await client.readReplies(3);
        if (group[2]!.code !== 354) throw new Error(`session ${n}: ${group.map((r) => r.raw)}`);
        await client.send(`Subject: ${n}\r\n\r\nmessage ${n}\r\n.\r\nQUIT\r\n`);
        const final = await client.readReply();
        await client.readUntilClosed();
        return final;
      }),
    );
    expect(finals.filter((r) => r.raw === '250 2.0.0 Message accepted\r\n')).toHaveLength(SESSIONS);
    expect(new Set(gw.messages.map((m) => m.body.toString())).size).toBe(SESSIONS);
    await waitUntil(() => gw.gateway.sessionCount === 0, 'every session to end');
    expect(gw.gateway.bytesInFlight).toBe(0);
  });
});

describe('a flood of connections past maxConnections', () => {
  it('refuses each extra one with 421 4.7.0 and closes it, keeps the admitted ones, then recovers', async () => {
    const gw = await startGateway({ maxConnections: 20 });
    const admitted = await Promise.all(Array.from({ length: 20 }, () => greeted(gw.port)));
    const flood = await inBatches(300, OPEN_BATCH, async () => {
      const client = await SmtpClient.connect(gw.port);
      return client.readUntilClosed();
    });
    expect(flood.filter((text) => text === TOO_MANY)).toHaveLength(300);
    // Refused connections never became sessions, nor reached the connect hook.
    expect(gw.gateway.sessionCount).toBe(20);
    expect(gw.callsOf('connect')).toHaveLength(20);
    for (const client of admitted) expect((await client.command('NOOP')).code).toBe(250);

    for (const client of admitted) client.end();
    await waitUntil(() => gw.gateway.sessionCount === 0, 'the admitted sessions to end');
    const after = await inTransaction(gw.port);
    expect((await sendData(after, 'Subject: after the flood\r\n\r\nok\r\n')).code).toBe(250);
  });
});

describe('a flood from one address', () => {
  // Loopback clients are exempt from the per-address cap (docs/architecture.md); a client behind a
  // trusted proxy on 127.0.0.1 never is, so the cap is exercised without leaving 127.0.0.1.
  it('admits maxConnectionsPerIp of them, refuses the rest with 421 4.7.0, and serves other addresses', async () => {
    const gw = await startGateway({
      trustedProxies: parseCidrList('127.0.0.1'),
      maxConnectionsPerIp: 5,
      maxConnectionsPerIpPerMinute: 0,
    });
    const flood = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const client = await viaProxy(gw.port, '192.0.2.66');
        const first = await client.readReply().catch(() => null);
        return { client, first: first?.raw ?? 'closed' };
      }),
    );
    const admitted = flood.filter((f) => f.first.startsWith('220 '));
    expect(admitted).toHaveLength(5);
    expect(flood.filter((f) => f.first === TOO_MANY_FROM_ADDRESS)).toHaveLength(95);
    const other = await viaProxy(gw.port, '192.0.2.67');
    expect((await other.readReply()).code).toBe(220);
    expect((await other.command('EHLO other.client.test')).code).toBe(250);
    for (const { client } of admitted) client.end();
    await waitUntil(() => gw.gateway.sessionCount === 1, 'the flood sessions to end');
    expect((await (await viaProxy(gw.port, '192.0.2.66')).readReply()).code).toBe(220);
  });
});
