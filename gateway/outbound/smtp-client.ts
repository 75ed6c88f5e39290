// One outbound SMTP session over a connected socket: the greeting, EHLO (HELO where EHLO is
// refused), STARTTLS, then transactions and QUIT. The bytes are smtp-wire.ts's; this file does the
// I/O and the order of the replies.
//
// Written here rather than taken from nodemailer's client, which delivery used before: draining a
// queue of 1 KiB messages, that client was 31 % of the event loop's time (a stream per message
// for the dot-stuffing, a write per command, three round trips per message after an RSET of its
// own), and it has no CHUNKING, sends its DSN parameters per transaction rather than per
// recipient, and keeps what the server announced and which recipients it accepted to itself.
//
// - PIPELINING (RFC 2920): MAIL, every RCPT and DATA go in one write, and the message in the next;
//   where CHUNKING (RFC 3030) is offered, BDAT LAST carries the message once the RCPT replies
//   came. Without PIPELINING, every command waits for its reply.
// - STARTTLS (RFC 3207): bytes that came after its 220 in clear end the session (they would be
//   read as the server's replies inside TLS), and EHLO is said again over TLS.
// - Time: the greeting, EHLO and STARTTLS share `setupTimeoutMs`; after that, `inactivityTimeoutMs`
//   of silence while a reply is owed ends the session (RFC 5321 §4.5.3.2).
import type { Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import {
  type Extensions,
  extensionsOf,
  MalformedReply,
  NO_EXTENSIONS,
  type Reply,
  ReplyReader,
  replyText,
  wireBytes,
} from './smtp-wire.ts';

export interface SmtpClientOptions {
  /** Our name, for EHLO. */
  readonly name: string;
  /** The server's name, for SNI and the certificate check. */
  readonly servername: string;
  /** STARTTLS or no session: not offered, refused or failed all end it. */
  readonly requireTls: boolean;
  /** A certificate that does not verify ends the handshake (and the session). */
  readonly rejectUnauthorized: boolean;
  /** The CAs a certificate must chain to; default: Node's. */
  readonly ca?: readonly string[];
  readonly setupTimeoutMs: number;
  readonly inactivityTimeoutMs: number;
}

export type SmtpErrorCode =
  /** The connection was lost or reset. */
  | 'ECONNECTION'
  | 'ETIMEDOUT'
  /** STARTTLS was needed and not offered, refused, or its handshake failed. */
  | 'ETLS'
  /** The server said something no SMTP server says. */
  | 'EPROTOCOL'
  /** A reply that ends the session: 421, or a greeting or EHLO refused. */
  | 'EREPLY';

export class SmtpError extends Error {
  readonly code: SmtpErrorCode;
  /** What was under way: `greeting`, `EHLO`, `STARTTLS`, `MAIL`, `RCPT`, `DATA`, `BDAT`… */
  readonly command: string;
  /** The server's reply, as one line, when one caused it. */
  readonly response?: string;
  /** Why the certificate failed verification (`DEPTH_ZERO_SELF_SIGNED_CERT`), when it did. */
  readonly certificateError?: string;

  constructor(
    code: SmtpErrorCode,
    command: string,
    message: string,
    extra: { response?: string; certificateError?: string; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.code = code;
    this.command = command;
    if (extra.response !== undefined) this.response = extra.response;
    if (extra.certificateError !== undefined) this.certificateError = extra.certificateError;
  }
}

/** One transaction: the envelope as command lines (smtp-wire.ts), and the message. */
export interface Transaction {
  readonly mail: string;
  readonly recipients: readonly string[];
  readonly body: readonly Buffer[];
}

/** The replies to a transaction: `data` is null when no recipient was accepted. */
export interface TransactionReplies {
  readonly mail: Reply;
  readonly recipients: readonly Reply[];
  readonly data: Reply | null;
}

interface Waiter {
  readonly command: string;
  readonly resolve: (reply: Reply) => void;
  readonly reject: (error: SmtpError) => void;
}

const QUIT_LINE = 'QUIT\r\n';

export class SmtpClient {
  readonly #options: SmtpClientOptions;
  #socket: Socket | TLSSocket;
  #tls: TLSSocket | null = null;
  #reader = new ReplyReader();
  #extensions: Extensions = NO_EXTENSIONS;
  /** Replies that came with nobody waiting (a 421 before the server closes). */
  readonly #unclaimed: Reply[] = [];
  readonly #waiters: Waiter[] = [];
  #failure: SmtpError | null = null;
  #transactions = 0;
  readonly #onData = (chunk: Buffer) => this.#received(chunk);
  readonly #onEnd = () =>
    this.#fail(new SmtpError('ECONNECTION', this.#current(), 'Connection closed by the server'));
  readonly #onError = (error: Error) =>
    this.#fail(new SmtpError('ECONNECTION', this.#current(), error.message, { cause: error }));

  private constructor(socket: Socket, options: SmtpClientOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#listen(socket);
  }

  /** A session ready for transactions, or the SmtpError that stopped it (the socket destroyed). */
  static async start(socket: Socket, options: SmtpClientOptions): Promise<SmtpClient> {
    const client = new SmtpClient(socket, options);
    const timer = setTimeout(
      () =>
        client.#fail(
          new SmtpError(
            'ETIMEDOUT',
            client.#current(),
            `session not set up in ${options.setupTimeoutMs} ms`,
          ),
        ),
      options.setupTimeoutMs,
    );
    try {
      await client.#setUp();
    } catch (error) {
      client.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    client.#socket.setTimeout(options.inactivityTimeoutMs, () => {
      if (client.#waiters.length > 0) {
        client.#fail(
          new SmtpError(
            'ETIMEDOUT',
            client.#current(),
            `no reply in ${options.inactivityTimeoutMs} ms`,
          ),
        );
      }
    });
    return client;
  }

  get extensions(): Extensions {
    return this.#extensions;
  }

  /** The TLS socket once STARTTLS succeeded; null in clear. */
  get tls(): TLSSocket | null {
    return this.#tls;
  }

  /** Whether the session is over: closed, lost, or failed. */
  get destroyed(): boolean {
    return this.#failure !== null || this.#socket.destroyed;
  }

  /**
   * MAIL, RCPT and the message. Rejects with SmtpError when the session fails (lost, timed out,
   * 421): what the replies so far said is then moot.
   *
   * Every transaction but the first starts with RSET: the last may have left the server's open
   * (every recipient refused, DATA refused), and a session that waited in a pool may have been
   * closed by the server meanwhile; its RSET failing (`command` RSET) says that no command of
   * this transaction reached the server.
   */
  async send(transaction: Transaction): Promise<TransactionReplies> {
    const { keywords } = this.#extensions;
    const pipelining = keywords.has('PIPELINING');
    const chunking = keywords.has('CHUNKING');
    const reset = this.#transactions++ > 0;
    const commands: [string, string][] = [
      ...(reset ? ([['RSET', 'RSET\r\n']] as [string, string][]) : []),
      ['MAIL', transaction.mail],
      ...transaction.recipients.map((line): [string, string] => ['RCPT', line]),
      // DATA ends a pipelined group (RFC 2920 §3.1); BDAT waits for the RCPT replies, so that a
      // message no recipient takes is never sent.
      ...(chunking ? [] : ([['DATA', 'DATA\r\n']] as [string, string][])),
    ];
    const replies = pipelining ? await this.#pipelined(commands) : await this.#lockStep(commands);
    replies.forEach((reply, index) => {
      this.#closing(reply, commands[index]?.[0] as string);
    });
    const offset = reset ? 1 : 0;
    if (reset) this.#expect(replies[0], 'RSET', 250);
    const mail = replies[offset];
    if (mail === undefined) throw this.#fail(this.#protocolError('MAIL', 'no reply'));
    const recipients = replies.slice(offset + 1, offset + 1 + transaction.recipients.length);
    const data = replies[offset + 1 + transaction.recipients.length];
    const accepted = mail.code < 300 && recipients.some((reply) => reply.code < 300);
    if (!accepted || (data !== undefined && data.code !== 354)) {
      // A server that invites the message with nobody to take it has lost track: so have we.
      if (data?.code === 354)
        throw this.#fail(this.#protocolError('DATA', '354 with no recipient'));
      return { mail, recipients, data: accepted ? (data ?? null) : null };
    }
    const final = chunking
      ? await this.#bdat(transaction.body)
      : await this.#data(transaction.body);
    this.#closing(final, chunking ? 'BDAT' : 'DATA');
    return { mail, recipients, data: final };
  }

  /** QUIT, then the server's close; the socket is destroyed after `timeoutMs` regardless. */
  quit(timeoutMs: number): Promise<void> {
    if (this.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.close(), timeoutMs);
      this.#socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.#socket.write(QUIT_LINE);
      this.#socket.end();
    });
  }

  /** Ends the session at once. */
  close(): void {
    this.#fail(new SmtpError('ECONNECTION', this.#current(), 'Session closed'));
  }

  async #setUp(): Promise<void> {
    const greeting = await this.#next('greeting');
    if (greeting.code !== 220) throw this.#refused('greeting', greeting);
    await this.#hello();
    const { requireTls, servername, rejectUnauthorized, ca } = this.#options;
    if (!this.#extensions.keywords.has('STARTTLS')) {
      if (requireTls) throw new SmtpError('ETLS', 'STARTTLS', 'STARTTLS not offered');
      return;
    }
    this.#socket.write('STARTTLS\r\n');
    const answer = await this.#next('STARTTLS');
    if (answer.code === 421) throw this.#refused('STARTTLS', answer);
    if (answer.code !== 220) {
      // Opportunistic: a host that refuses is used in clear, as if it had not offered it.
      if (requireTls) {
        throw new SmtpError('ETLS', 'STARTTLS', 'STARTTLS refused', {
          response: replyText(answer),
        });
      }
      return;
    }
    if (this.#reader.pending || this.#unclaimed.length > 0) {
      throw this.#protocolError('STARTTLS', 'data in clear after the 220 to STARTTLS');
    }
    this.#tls = await this.#handshake(servername, rejectUnauthorized, ca);
    await this.#hello();
  }

  /** EHLO, or HELO where the server does not know EHLO. */
  async #hello(): Promise<void> {
    this.#socket.write(`EHLO ${this.#options.name}\r\n`);
    const ehlo = await this.#next('EHLO');
    if (ehlo.code === 250) {
      this.#extensions = extensionsOf(ehlo);
      return;
    }
    if (ehlo.code === 421 || ehlo.code < 500) throw this.#refused('EHLO', ehlo);
    this.#socket.write(`HELO ${this.#options.name}\r\n`);
    const helo = await this.#next('HELO');
    if (helo.code !== 250) throw this.#refused('HELO', helo);
    this.#extensions = NO_EXTENSIONS;
  }

  /** The TLS handshake over the connected socket; a failure is ETLS, with the certificate's. */
  #handshake(
    servername: string,
    rejectUnauthorized: boolean,
    ca: readonly string[] | undefined,
  ): Promise<TLSSocket> {
    const plain = this.#socket;
    this.#unlisten(plain);
    // The plain socket's own errors reach the TLS socket; this keeps them from being unheard.
    plain.on('error', () => {});
    this.#reader = new ReplyReader();
    return new Promise((resolve, reject) => {
      const secure = connectTls({
        socket: plain,
        servername,
        rejectUnauthorized,
        ...(ca === undefined ? {} : { ca: [...ca] }),
      });
      this.#socket = secure;
      const failed = (error: Error) => {
        secure.removeListener('close', closed);
        secure.on('error', () => {}); // anything after the failure: the socket is done
        // Node names the certificate's failure (a string, despite its type) before it ends a
        // handshake over it.
        const reason: unknown = secure.authorizationError;
        const failure = new SmtpError('ETLS', 'STARTTLS', error.message, {
          cause: error,
          ...(typeof reason === 'string' ? { certificateError: reason } : {}),
        });
        reject(this.#fail(failure));
      };
      const closed = () => failed(new Error('Connection closed during the TLS handshake'));
      secure.once('error', failed);
      secure.once('close', closed);
      secure.once('secureConnect', () => {
        secure.removeListener('error', failed);
        secure.removeListener('close', closed);
        this.#listen(secure);
        resolve(secure);
      });
    });
  }

  #listen(socket: Socket): void {
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
    socket.on('error', this.#onError);
  }

  #unlisten(socket: Socket): void {
    socket.removeListener('data', this.#onData);
    socket.removeListener('end', this.#onEnd);
    socket.removeListener('close', this.#onEnd);
    socket.removeListener('error', this.#onError);
  }

  #received(chunk: Buffer): void {
    let replies: Reply[];
    try {
      replies = this.#reader.push(chunk);
    } catch (error) {
      if (!(error instanceof MalformedReply)) throw error;
      this.#fail(this.#protocolError(this.#current(), error.message));
      return;
    }
    for (const reply of replies) {
      const waiter = this.#waiters.shift();
      if (waiter === undefined) this.#unclaimed.push(reply);
      else waiter.resolve(reply);
    }
  }

  /** The next reply, for `command`. */
  #next(command: string): Promise<Reply> {
    const unclaimed = this.#unclaimed.shift();
    if (unclaimed !== undefined) return Promise.resolve(unclaimed);
    if (this.#failure !== null) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => this.#waiters.push({ command, resolve, reject }));
  }

  /** Every command in one write; the replies in order, up to a 421 (the server is closing). */
  async #pipelined(commands: readonly [string, string][]): Promise<Reply[]> {
    const pending = commands.map(([command]) => this.#next(command));
    // After a failure every one rejects: those not awaited must not go unheard.
    for (const reply of pending) reply.catch(() => {});
    this.#socket.write(commands.map(([, line]) => line).join(''));
    const replies: Reply[] = [];
    for (const reply of pending) {
      replies.push(await reply);
      if (replies.at(-1)?.code === 421) break;
    }
    return replies;
  }

  /** One command at a time: no RCPT after a refused MAIL, no DATA unless a RCPT was taken. */
  async #lockStep(commands: readonly [string, string][]): Promise<Reply[]> {
    const replies: Reply[] = [];
    let mailTaken = false;
    let recipientTaken = false;
    for (const [command, line] of commands) {
      if (command === 'RCPT' && !mailTaken) break;
      if (command === 'DATA' && !recipientTaken) break;
      this.#socket.write(line);
      const reply = await this.#next(command);
      replies.push(reply);
      if (reply.code === 421) break;
      if (command === 'MAIL') mailTaken = reply.code < 300;
      if (command === 'RCPT' && reply.code < 300) recipientTaken = true;
    }
    return replies;
  }

  async #data(body: readonly Buffer[]): Promise<Reply> {
    this.#write(wireBytes(body, true));
    return this.#next('DATA');
  }

  async #bdat(body: readonly Buffer[]): Promise<Reply> {
    const bytes = wireBytes(body, false);
    let size = 0;
    for (const piece of bytes) size += piece.length;
    this.#write([Buffer.from(`BDAT ${size} LAST\r\n`), ...bytes]);
    return this.#next('BDAT');
  }

  #write(pieces: readonly Buffer[]): void {
    this.#socket.cork();
    for (const piece of pieces) this.#socket.write(piece);
    this.#socket.uncork();
  }

  #expect(reply: Reply | undefined, command: string, code: number): void {
    if (reply === undefined) throw this.#fail(this.#protocolError(command, 'no reply'));
    if (reply.code !== code) throw this.#fail(this.#refused(command, reply));
  }

  /** A 421 (RFC 5321 §3.8): the server is closing the session, whatever command it answered. */
  #closing(reply: Reply, command: string): void {
    if (reply.code === 421) throw this.#fail(this.#refused(command, reply));
  }

  #refused(command: string, reply: Reply): SmtpError {
    const response = replyText(reply);
    return new SmtpError('EREPLY', command, `${command}: ${response}`, { response });
  }

  #protocolError(command: string, detail: string): SmtpError {
    return new SmtpError('EPROTOCOL', command, `protocol error: ${detail}`);
  }

  /**
   * Ends the session: every waiting reply rejects with the first failure, which this returns
   * (a timeout that destroyed the socket stays the reason, not the close that followed).
   */
  #fail(failure: SmtpError): SmtpError {
    this.#failure ??= failure;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#failure);
    this.#socket.destroy();
    return this.#failure;
  }

  #current(): string {
    return this.#waiters[0]?.command ?? 'idle';
  }
}
