// A raw-socket SMTP client for tests: exact bytes out, whole replies in, over TCP or TLS, with
// layered helpers (docs/architecture.md, "Tests use real parts").
import { connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { dotStuff } from './dot-stuff.ts';
import { WAIT_MS } from './wait.ts';

export interface SmtpReply {
  readonly code: number;
  /** The text of each line, without the code and separator. */
  readonly lines: readonly string[];
  /** The lines' text joined with `\n`. */
  readonly text: string;
  /** The reply exactly as received, CRLFs included. */
  readonly raw: string;
}

export interface ConnectOptions {
  /** Implicit TLS (SMTPS): TLS options for `tls.connect`. */
  readonly tls?: ConnectionOptions;
  /** Connect from this local address, e.g. 127.0.0.2 to be another client (all of 127/8 is loopback). */
  readonly localAddress?: string;
}

const REPLY_LINE = /^(\d{3})([ -])(.*)$/;
const CRLF = Buffer.from('\r\n');
const open = new Set<SmtpClient>();

/** Destroys every client this test file opened and has not closed; for `afterEach`. */
export function destroyAllClients(): void {
  for (const client of open) client.destroy();
  open.clear();
}

export class SmtpClient {
  #socket: Socket;
  #detach: () => void = () => {};
  #buffer: Buffer = Buffer.alloc(0);
  #ended = false;
  #error: Error | null = null;
  readonly #waiters = new Set<() => void>();

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.#attach(socket);
    open.add(this);
  }

  /** Opens a connection to 127.0.0.1:`port` without reading anything. */
  static async connect(port: number, options: ConnectOptions = {}): Promise<SmtpClient> {
    const from = options.localAddress === undefined ? {} : { localAddress: options.localAddress };
    const socket = options.tls
      ? tlsConnect({ host: '127.0.0.1', port, ...from, ...options.tls })
      : netConnect({ host: '127.0.0.1', port, ...from });
    const client = new SmtpClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once(options.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  get socket(): Socket {
    return this.#socket;
  }

  /** Whether the server has closed its side (or the socket is gone). */
  get closed(): boolean {
    return this.#ended;
  }

  /** Writes bytes as they are; resolves once they are handed to the kernel. */
  send(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#socket.write(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Sends one command line (CRLF added) and reads its reply. */
  async command(line: string): Promise<SmtpReply> {
    await this.send(`${line}\r\n`);
    return this.readReply();
  }

  /** Reads exactly one complete (possibly multi-line) reply. */
  readReply(timeoutMs = WAIT_MS): Promise<SmtpReply> {
    return this.#waitFor(() => this.#takeReply(), 'a reply', timeoutMs);
  }

  async readReplies(count: number, timeoutMs = WAIT_MS): Promise<SmtpReply[]> {
    const out: SmtpReply[] = [];
    for (let i = 0; i < count; i++) out.push(await this.readReply(timeoutMs));
    return out;
  }

  /** Everything the server sends until it closes the connection. */
  async readUntilClosed(timeoutMs = WAIT_MS): Promise<string> {
    await this.#waitFor(() => (this.#ended ? true : undefined), 'the server to close', timeoutMs);
    const rest = this.#buffer.toString('latin1');
    this.#buffer = Buffer.alloc(0);
    return rest;
  }

  /** Fails unless the server closes the connection without sending anything more. */
  async expectClosed(timeoutMs = WAIT_MS): Promise<void> {
    const rest = await this.readUntilClosed(timeoutMs);
    if (rest !== '')
      throw new Error(`expected the connection to close, but got ${JSON.stringify(rest)}`);
  }

  /** STARTTLS on the same socket, after the server's 220 (RFC 3207 §4). */
  async startTls(options: ConnectionOptions = {}): Promise<TLSSocket> {
    if (this.#buffer.length > 0) {
      throw new Error(
        `unread bytes before TLS: ${JSON.stringify(this.#buffer.toString('latin1'))}`,
      );
    }
    this.#detach();
    const secure = tlsConnect({ ...options, socket: this.#socket });
    this.#socket = secure;
    this.#attach(secure);
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    return secure;
  }

  pauseReading(): void {
    this.#socket.pause();
  }

  resumeReading(): void {
    this.#socket.resume();
  }

  /** Closes our side politely (FIN). */
  end(): void {
    this.#socket.end();
  }

  destroy(): void {
    open.delete(this);
    this.#socket.destroy();
  }

  #attach(socket: Socket): void {
    const onData = (chunk: Buffer): void => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake();
    };
    const onEnd = (): void => {
      this.#ended = true;
      this.#wake();
    };
    const onError = (error: Error): void => {
      this.#error ??= error;
      this.#wake();
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
    this.#detach = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
    };
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  #waitFor<T>(take: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        this.#waiters.delete(check);
        clearTimeout(timer);
      };
      const check = (): void => {
        let value: T | undefined;
        try {
          value = take();
        } catch (error) {
          finish();
          reject(error);
          return;
        }
        if (value !== undefined) {
          finish();
          resolve(value);
        } else if (this.#ended || this.#error !== null) {
          finish();
          const why = this.#error ? `socket error ${this.#error.message}` : 'connection closed';
          reject(new Error(`${why} while waiting for ${what}; unread: ${this.#pending()}`));
        }
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no ${what} within ${timeoutMs} ms; unread: ${this.#pending()}`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  #pending(): string {
    return JSON.stringify(this.#buffer.toString('latin1').slice(0, 500));
  }

  /** Removes and returns one complete reply from the buffer, or undefined if none is complete yet. */
  #takeReply(): SmtpReply | undefined {
    const lines: string[] = [];
    let code = 0;
    let offset = 0;
    for (;;) {
      const end = this.#buffer.indexOf(CRLF, offset);
      if (end === -1) return undefined;
      const line = this.#buffer.toString('latin1', offset, end);
      const match = REPLY_LINE.exec(line);
      // RFC 5321 §4.2: textstring is HT and printable US-ASCII; anything else is a server bug.
      if (match === null || !/^[\t\x20-\x7e]*$/.test(match[3]!)) {
        throw new Error(`not an SMTP reply line: ${JSON.stringify(line)}`);
      }
      const lineCode = Number(match[1]);
      if (lines.length > 0 && lineCode !== code) {
        throw new Error(`reply code changed mid-reply: ${JSON.stringify(line)}`);
      }
      code = lineCode;
      lines.push(match[3]!);
      offset = end + 2;
      if (match[2] === ' ') break;
    }
    const raw = this.#buffer.toString('latin1', 0, offset);
    this.#buffer = this.#buffer.subarray(offset);
    return { code, lines, text: lines.join('\n'), raw };
  }
}

function expectCode(reply: SmtpReply, code: number, after: string): SmtpReply {
  if (reply.code !== code) {
    throw new Error(`expected ${code} after ${after}, got ${JSON.stringify(reply.raw)}`);
  }
  return reply;
}

/** Connected and past the 220 banner. */
export async function greeted(port: number, options: ConnectOptions = {}): Promise<SmtpClient> {
  const client = await SmtpClient.connect(port, options);
  expectCode(await client.readReply(), 220, 'connecting');
  return client;
}

/** Greeted with EHLO (250). */
export async function afterEhlo(
  port: number,
  options: ConnectOptions & { readonly name?: string } = {},
): Promise<SmtpClient> {
  const client = await greeted(port, options);
  expectCode(await client.command(`EHLO ${options.name ?? 'client.test'}`), 250, 'EHLO');
  return client;
}

/** MAIL FROM and every RCPT TO accepted: the next command can be DATA or BDAT. */
export async function inTransaction(
  port: number,
  options: ConnectOptions & {
    readonly name?: string;
    readonly from?: string;
    readonly to?: readonly string[];
  } = {},
): Promise<SmtpClient> {
  const client = await afterEhlo(port, options);
  await transaction(client, options.from ?? 'sender@client.test', options.to ?? ['rcpt@mx.test']);
  return client;
}

/** MAIL FROM and RCPT TO on an open session, each expected to get 250. */
export async function transaction(
  client: SmtpClient,
  from: string,
  to: readonly string[],
): Promise<void> {
  expectCode(await client.command(`MAIL FROM:<${from}>`), 250, 'MAIL');
  for (const rcpt of to) expectCode(await client.command(`RCPT TO:<${rcpt}>`), 250, 'RCPT');
}

/**
 * DATA, then `message` dot-stuffed with its terminator (bare LFs are sent as CRLF, so use `send`
 * for hostile bytes); returns the final reply.
 */
export async function sendData(client: SmtpClient, message: string | Buffer): Promise<SmtpReply> {
  expectCode(await client.command('DATA'), 354, 'DATA');
  await client.send(dotStuff(Buffer.from(message)));
  return client.readReply();
}
