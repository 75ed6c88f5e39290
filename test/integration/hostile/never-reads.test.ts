// A client that writes and never reads the replies: the gateway's write buffer stays bounded, others are served.
import { afterEach, describe, expect, it } from 'vitest';
import { formatReply } from '../../../gateway/smtp/reply.ts';
import { HAS_PROC_NET_TCP, tcpQueues } from '../../helpers/faults/tcp-queues.ts';
import {
  afterEhlo,
  destroyAllClients,
  inTransaction,
  type SmtpClient,
  sendData,
} from '../../helpers/smtp-client.ts';
import { startGateway, stopAllGateways, type TestGateway } from '../../helpers/start-gateway.ts';
import { waitUntil } from '../../helpers/wait.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
});

/**
 * Replies the gateway may hold in its own memory for one client that reads nothing: its write
 * high-water mark (64 KiB) plus the replies to one batch of input; far below what a flood asks for.
 */
const QUEUED_LIMIT_BYTES = 256 * 1024;

interface Counted {
  readonly gw: TestGateway;
  /** Bytes of replies the gateway produced, and bytes it read from clients. */
  readonly totals: { replyBytes: number; receivedBytes: number; dataCalls: number };
}

/** A 4 KiB answer to each message, so a few hundred unread transactions fill the kernel's buffers. */
const LONG_ACCEPT = {
  code: 250,
  enhanced: '2.0.0',
  message: Array.from({ length: 10 }, (_, i) => `accepted, line ${i} ${'.'.repeat(380)}`),
};

async function countingGateway(): Promise<Counted> {
  const totals = { replyBytes: 0, receivedBytes: 0, dataCalls: 0 };
  const gw = await startGateway({
    // Floods of HELP here are about back-pressure, not the junk-command limit.
    maxJunkCommands: 1_000_000,
    observer: {
      reply: (_step, reply) => {
        totals.replyBytes += formatReply(reply).length;
      },
      bytesReceived: (count) => {
        totals.receivedBytes += count;
      },
    },
    script: {
      data: () => {
        totals.dataCalls += 1;
        return LONG_ACCEPT;
      },
    },
  });
  return { gw, totals };
}

/** There is no event for "stopped reading": waits until `read()` holds still for 30 polls (about 300 ms). */
async function untilSteady(read: () => number, what: string): Promise<number> {
  let last = -1;
  let steady = 0;
  await waitUntil(() => {
    const now = read();
    steady = now === last ? steady + 1 : 0;
    last = now;
    return steady >= 30;
  }, what);
  return last;
}

/**
 * Reply bytes (made since the client paused) still in the gateway's memory: all it made, minus
 * what sits anywhere else on the way — the gateway's kernel send queue, the client's kernel
 * receive queue, and the client's own stream buffer (a paused Node socket still reads up to its
 * high-water mark).
 */
function queuedInGateway(client: SmtpClient, gatewayPort: number, replyBytes: number): number {
  const local = client.socket.localPort!;
  const clientSide = tcpQueues(local, gatewayPort);
  const gatewaySide = tcpQueues(gatewayPort, local);
  if (clientSide === null || gatewaySide === null)
    throw new Error('connection not in /proc/net/tcp');
  return (
    replyBytes -
    gatewaySide.sendQueueBytes -
    clientSide.receiveQueueBytes -
    client.socket.readableLength
  );
}

describe('a client that never reads its replies', () => {
  it.skipIf(!HAS_PROC_NET_TCP)(
    'makes the gateway stop reading: 256 KiB of HELP (20x larger replies) leave at most 256 KiB queued in the gateway',
    async () => {
      const { gw, totals } = await countingGateway();
      const flooder = await afterEhlo(gw.port);
      flooder.pauseReading();
      const before = { replies: totals.replyBytes, received: totals.receivedBytes };
      // Each 6-byte HELP asks for a 2-line reply of about 130 bytes: 5.6 MB of replies in all.
      const flood = 'HELP\r\n'.repeat(43_690);
      void flooder.send(flood).catch(() => {});
      const read = await untilSteady(
        () => totals.receivedBytes - before.received,
        'the gateway to stop reading from the flooder',
      );
      expect(read).toBeLessThan(flood.length);
      const queued = queuedInGateway(flooder, gw.port, totals.replyBytes - before.replies);
      expect(queued).toBeLessThan(QUEUED_LIMIT_BYTES);

      // Meanwhile the gateway serves others normally.
      const other = await inTransaction(gw.port);
      expect((await sendData(other, 'Subject: meanwhile\r\n\r\nserved\r\n')).code).toBe(250);
      flooder.destroy();
      await waitUntil(() => gw.gateway.sessionCount === 1, 'the flooder session to end');
    },
  );

  it.skipIf(!HAS_PROC_NET_TCP)(
    'stops taking pipelined transactions (and making data calls) once its replies back up',
    async () => {
      const { gw, totals } = await countingGateway();
      const flooder = await afterEhlo(gw.port);
      flooder.pauseReading();
      const repliesBefore = totals.replyBytes;
      const one =
        'MAIL FROM:<f@client.test>\r\nRCPT TO:<r@mx.test>\r\nDATA\r\nSubject: flood\r\n\r\nx\r\n.\r\n';
      // 4,000 transactions ask for 16 MB of replies: more than the kernel holds for one connection.
      const transactions = 4_000;
      void flooder.send(one.repeat(transactions)).catch(() => {});
      const calls = await untilSteady(() => totals.dataCalls, 'the data calls to stop');
      expect(calls).toBeLessThan(transactions);
      const queued = queuedInGateway(flooder, gw.port, totals.replyBytes - repliesBefore);
      expect(queued).toBeLessThan(QUEUED_LIMIT_BYTES);

      const other = await inTransaction(gw.port);
      expect((await sendData(other, 'Subject: meanwhile\r\n\r\nserved\r\n')).code).toBe(250);
      flooder.destroy();
      await waitUntil(() => gw.gateway.sessionCount === 1, 'the flooder session to end');
      expect(gw.gateway.bytesInFlight).toBe(0);
    },
  );

  it('is closed at its command deadline when it stops reading for longer than idleTimeoutMs', async () => {
    // A client that reads nothing makes no progress: the session must not be held forever.
    const gw = await startGateway({ idleTimeoutMs: 500 });
    const flooder = await afterEhlo(gw.port);
    flooder.pauseReading();
    void flooder.send('HELP\r\n'.repeat(43_690)).catch(() => {});
    await waitUntil(() => gw.gateway.sessionCount === 0, 'the stalled session to be closed', 5_000);
  });
});
