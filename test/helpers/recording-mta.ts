// A receiving MTA for queue tests that count messages: a real SMTP server (smtp-server) on a
// loopback address that can wait before its 250 to the data (a slow peer, so outbound mail piles
// up queued and in delivery) and records, per message it said 250 to, the Message-ID and the
// EHLO name of the sender (which gateway delivered it). Plain text only (no STARTTLS), to keep
// hundreds of deliveries cheap.
import { SMTPServer } from 'smtp-server';

export interface RecordingMtaOptions {
  /** Wait this long after the data before the 250 (0: answer at once). */
  readonly dataDelayMs?: number;
}

export interface RecordedDelivery {
  /** The Message-ID header's value without the angle brackets; '' when there is none. */
  readonly messageId: string;
  /** The EHLO name the delivering client gave. */
  readonly ehlo: string;
  /** The `by` host of the topmost Received field: who took the message in. */
  readonly receivedBy: string;
  readonly mailFrom: string;
  readonly recipients: readonly string[];
}

export interface RecordingMta {
  readonly address: string;
  readonly port: number;
  /** Every message said 250 to, in order; a message delivered twice is here twice. */
  readonly deliveries: readonly RecordedDelivery[];
  /** Sessions that sent a message's data and are waiting for its reply now. */
  readonly waiting: number;
  /** How many times each Message-ID was delivered. */
  counts(): Map<string, number>;
  close(): Promise<void>;
}

const MESSAGE_ID = /^Message-ID:[ \t]*<([^>\r\n]*)>/im;
/** The first Received field, folded lines included, and its `by` host. */
const RECEIVED_BY = /^Received:(?:[^\r\n]|\r\n[ \t])*?\bby[ \t\r\n]+([^\s;]+)/im;
const running = new Set<RecordingMta>();

/** Closes every MTA this test file started and has not closed; for `afterEach`. */
export async function closeAllRecordingMtas(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.all(all.map((mta) => mta.close()));
}

/** Listens on `address`:`port` (0: a free port). */
export async function startRecordingMta(
  address: string,
  port: number,
  options: RecordingMtaOptions = {},
): Promise<RecordingMta> {
  const deliveries: RecordedDelivery[] = [];
  const delayMs = options.dataDelayMs ?? 0;
  let waiting = 0;
  const server = new SMTPServer({
    name: `mx.${address}`,
    hideSTARTTLS: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.once('end', () => {
        const body = Buffer.concat(chunks).toString('latin1');
        const { mailFrom, rcptTo } = session.envelope;
        const delivery: RecordedDelivery = {
          messageId: MESSAGE_ID.exec(body)?.[1] ?? '',
          ehlo: session.hostNameAppearsAs,
          receivedBy: RECEIVED_BY.exec(body)?.[1] ?? '',
          mailFrom: mailFrom === false ? '' : mailFrom.address,
          recipients: rcptTo.map((r) => r.address),
        };
        waiting++;
        setTimeout(() => {
          waiting--;
          // Counted when the 250 is said: a client that is gone by then retries, a duplicate.
          deliveries.push(delivery);
          callback(null);
        }, delayMs);
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  const bound = (server.server.address() as { port: number }).port;
  const mta: RecordingMta = {
    address,
    port: bound,
    deliveries,
    get waiting() {
      return waiting;
    },
    counts() {
      const counts = new Map<string, number>();
      for (const d of deliveries) counts.set(d.messageId, (counts.get(d.messageId) ?? 0) + 1);
      return counts;
    },
    close() {
      running.delete(mta);
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  running.add(mta);
  return mta;
}
