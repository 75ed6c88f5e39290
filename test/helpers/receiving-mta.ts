// A receiving MTA on a loopback address, for tests of outbound delivery: a real SMTP server
// (smtp-server) that a test scripts to accept, refuse a recipient now and take it later, fail
// MAIL or the data, drop the connection mid-data, offer STARTTLS or not (or offer it with a
// handshake that fails), or announce a small SIZE; it records what it received. Several share a
// port on 127.0.0.2, .3, .4…, as MX hosts share port 25, so the delivery under test needs one port.
import { createServer } from 'node:net';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import { type TestCertificate, testCertificate } from './certs.ts';

/** A reply as the server says it: `451 4.2.0 Try again later`. */
type Reply = string;

export interface MtaScript {
  /** Said instead of the 220 greeting (`421 4.3.2 Too busy`), ending the session. */
  readonly greeting?: Reply;
  /** Said to MAIL instead of 250. */
  readonly mail?: Reply;
  /** Per recipient, the replies its RCPTs get in turn, the last repeating; null: 250. */
  readonly rcpt?: Readonly<Record<string, readonly (Reply | null)[]>>;
  /** Said after the data instead of 250; `drop`: the connection is cut as the data arrives. */
  readonly data?: Reply | 'drop';
  /**
   * Offered with a self-signed certificate (the default), not offered (and refused if asked for),
   * or failing its handshake.
   */
  readonly starttls?: 'offer' | 'none' | 'broken';
  /** The certificate STARTTLS presents instead of the self-signed one (e.g. one a test CA signed). */
  readonly certificate?: TestCertificate;
  /** Announced and enforced. */
  readonly size?: number;
  /** Extensions left out of the EHLO reply. */
  readonly hide?: readonly ('DSN' | '8BITMIME' | 'SMTPUTF8' | 'PIPELINING')[];
}

type Params = Readonly<Record<string, string | true>>;

export interface ReceivedMessage {
  readonly mailFrom: string;
  /** MAIL parameters as given: `SIZE`, `BODY`, `RET`, `ENVID`, `SMTPUTF8`… */
  readonly mailParams: Params;
  /** The recipients accepted, with their RCPT parameters (`NOTIFY`, `ORCPT`). */
  readonly recipients: readonly { readonly address: string; readonly params: Params }[];
  readonly body: Buffer;
  /** Whether it came over TLS. */
  readonly secure: boolean;
  /** The connection it came over: 1 for the first this MTA accepted. */
  readonly connection: number;
  /** performance.now() when its data ended, for throughput measured at the receiver. */
  readonly at: number;
}

export interface ReceivingMta {
  readonly address: string;
  readonly port: number;
  readonly messages: readonly ReceivedMessage[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** MAIL commands received so far, answered as scripted or not. */
  readonly mailCommands: number;
  close(): Promise<void>;
}

const running = new Set<ReceivingMta>();

/** Closes every MTA this test file started and has not closed; for `afterEach`. */
export async function closeAllReceivingMtas(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.all(all.map((mta) => mta.close()));
}

/** A port free on every one of `addresses` right now, for MTAs started on all of them. */
export async function freePort(addresses: readonly string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await listenOnce(addresses[0] ?? '127.0.0.1', 0);
    const others = await Promise.allSettled(addresses.slice(1).map((at) => listenOnce(at, port)));
    if (others.every((result) => result.status === 'fulfilled')) return port;
  }
  throw new Error(`no port is free on all of ${addresses.join(', ')}`);
}

export async function startReceivingMta(
  address: string,
  port: number,
  script: MtaScript = {},
): Promise<ReceivingMta> {
  const certificate = script.certificate ?? (await testCertificate());
  const hidden = new Set(script.hide ?? []);
  const messages: ReceivedMessage[] = [];
  const connectionOf = new Map<string, number>();
  const rcptSeen = new Map<string, number>();
  let connections = 0;
  let mailCommands = 0;
  const server: SMTPServer = new SMTPServer({
    name: `mx.${address}`,
    key: certificate.key,
    cert: certificate.cert,
    // Node's client refuses anything below TLS 1.2: a TLS 1.0 server fails every handshake.
    ...(script.starttls === 'broken' ? { minVersion: 'TLSv1', maxVersion: 'TLSv1' } : {}),
    hideSTARTTLS: script.starttls === 'none',
    size: script.size ?? 0,
    hideDSN: hidden.has('DSN'),
    hide8BITMIME: hidden.has('8BITMIME'),
    hideSMTPUTF8: hidden.has('SMTPUTF8'),
    hidePIPELINING: hidden.has('PIPELINING'),
    // Scripted replies carry their own enhanced codes, as real servers' do.
    hideENHANCEDSTATUSCODES: true,
    disabledCommands: script.starttls === 'none' ? ['AUTH', 'STARTTLS'] : ['AUTH'],
    disableReverseLookup: true,
    logger: false,
    onConnect(session, callback) {
      connections++;
      connectionOf.set(session.id, connections);
      callback(script.greeting === undefined ? null : replyError(script.greeting));
    },
    onMailFrom(_address, _session, callback) {
      mailCommands++;
      callback(script.mail === undefined ? null : replyError(script.mail));
    },
    onRcptTo(recipient, _session, callback) {
      const key = recipient.address.toLowerCase();
      const seen = rcptSeen.get(key) ?? 0;
      rcptSeen.set(key, seen + 1);
      const replies = script.rcpt?.[key] ?? [];
      const reply = replies[Math.min(seen, replies.length - 1)] ?? null;
      callback(reply === null ? null : replyError(reply));
    },
    onData(stream, session, callback) {
      if (script.data === 'drop') {
        stream.once('data', () => socketOf(server, session)?.destroy());
        stream.resume();
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.once('end', () => {
        if (script.data !== undefined) return callback(replyError(script.data));
        messages.push(received(session, Buffer.concat(chunks), connectionOf.get(session.id) ?? 0));
        callback(null);
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  const mta: ReceivingMta = {
    address,
    port,
    messages,
    get connections() {
      return connections;
    },
    get mailCommands() {
      return mailCommands;
    },
    close() {
      running.delete(mta);
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  running.add(mta);
  return mta;
}

/** The error that makes smtp-server say `reply`. */
function replyError(reply: Reply): Error {
  const match = /^(\d{3}) (.*)$/s.exec(reply);
  if (match === null) throw new Error(`not a reply: ${JSON.stringify(reply)}`);
  return Object.assign(new Error(match[2]), { responseCode: Number(match[1]) });
}

function received(session: SMTPServerSession, body: Buffer, connection: number): ReceivedMessage {
  const { mailFrom, rcptTo } = session.envelope;
  return {
    mailFrom: mailFrom === false ? '' : mailFrom.address,
    mailParams: paramsOf(mailFrom),
    recipients: rcptTo.map((recipient) => ({
      address: recipient.address,
      params: paramsOf(recipient),
    })),
    body,
    secure: session.secure === true,
    connection,
    at: performance.now(),
  };
}

function paramsOf(address: SMTPServerAddress | false): Params {
  return address === false || address.args === false ? {} : { ...address.args };
}

/** The socket of `session`, to cut it. */
function socketOf(server: SMTPServer, session: SMTPServerSession) {
  return [...server.connections].find((connection) => connection.session.id === session.id)
    ?._socket;
}

function listenOnce(address: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(port, address, () => {
      const { port: bound } = probe.address() as { port: number };
      probe.close(() => resolve(bound));
    });
  });
}
