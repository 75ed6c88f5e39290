// One client connection of the load generator: raw bytes out, whole SMTP replies in (RFC 5321 §4.2).
import { connect, type Socket } from 'node:net';

export interface Reply {
  readonly code: number;
  /** Every line's text after the code and separator, joined with `\n`. */
  readonly text: string;
}

/** A reply we did not expect ends the session; the load generator counts it as a failure. */
export class UnexpectedReply extends Error {}

export class ClientConnection {
  readonly #socket: Socket;
  #pending = '';
  #lines: string[] = [];
  readonly #replies: Reply[] = [];
  #waiter: { resolve: (reply: Reply) => void; reject: (error: Error) => void } | null = null;
  #failure: Error | null = null;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new Error('connection closed')));
  }

  /** Resolves once the TCP connection is established (the banner is read with `expect`). */
  static open(port: number): Promise<ClientConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new ClientConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  write(data: string | Buffer): void {
    this.#socket.write(data);
  }

  /** The next reply, which must have `code`. */
  async expect(code: number, after: string): Promise<Reply> {
    const reply = await this.next();
    if (reply.code !== code)
      throw new UnexpectedReply(`${after}: expected ${code}, got ${reply.code} ${reply.text}`);
    return reply;
  }

  next(): Promise<Reply> {
    const ready = this.#replies.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.#failure !== null) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#pending += chunk.toString('latin1');
    let start = 0;
    for (;;) {
      const end = this.#pending.indexOf('\r\n', start);
      if (end === -1) break;
      const line = this.#pending.slice(start, end);
      start = end + 2;
      this.#lines.push(line.slice(4));
      // "250-" continues a multi-line reply, "250 " ends it.
      if (line.charCodeAt(3) === 0x2d) continue;
      this.#deliver({ code: Number(line.slice(0, 3)), text: this.#lines.join('\n') });
      this.#lines = [];
    }
    this.#pending = this.#pending.slice(start);
  }

  #deliver(reply: Reply): void {
    const waiter = this.#waiter;
    if (waiter === null) {
      this.#replies.push(reply);
      return;
    }
    this.#waiter = null;
    waiter.resolve(reply);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.reject(error);
  }
}
