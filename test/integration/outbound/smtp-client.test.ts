// The outbound SMTP client against servers that do exactly what a test says, byte for byte, over
// real sockets (a raw one per test, and mxhook's own server for CHUNKING end to end): what goes in
// one write and what waits for a reply, BDAT, HELO, STARTTLS's traps, floods, silence and 421.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DnsLookups } from '../../../gateway/net/dns-lookups.ts';
import { MxDelivery } from '../../../gateway/outbound/mx-delivery.ts';
import {
  SmtpClient,
  type SmtpClientOptions,
  SmtpError,
} from '../../../gateway/outbound/smtp-client.ts';
import { mailCommand, rcptCommand } from '../../../gateway/outbound/smtp-wire.ts';
import { mxHost, startDnsServer } from '../../helpers/dns-server.ts';
import { startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';

/** One connection to a scripted server: lines and bytes as the client sent them. */
class Peer {
  readonly socket: Socket;
  #buffer = Buffer.alloc(0);
  #wake: (() => void) | null = null;
  #ended = false;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#wake?.();
    });
    socket.on('error', () => {});
  }

  /** What the client sent that no `line` or `bytes` took yet. */
  get unread(): string {
    return this.#buffer.toString('latin1');
  }

  get ended(): boolean {
    return this.#ended;
  }

  async line(): Promise<string> {
    for (;;) {
      const end = this.#buffer.indexOf('\r\n');
      if (end !== -1) {
        const line = this.#buffer.toString('latin1', 0, end);
        this.#buffer = this.#buffer.subarray(end + 2);
        return line;
      }
      await this.#more();
    }
  }

  async bytes(count: number): Promise<Buffer> {
    while (this.#buffer.length < count) await this.#more();
    const taken = this.#buffer.subarray(0, count);
    this.#buffer = this.#buffer.subarray(count);
    return taken;
  }

  /** The lines up to DATA's end marker, as sent (still dot-stuffed). */
  async data(): Promise<string> {
    const lines: string[] = [];
    for (let line = await this.line(); line !== '.'; line = await this.line()) lines.push(line);
    return `${lines.join('\r\n')}\r\n`;
  }

  send(text: string): void {
    this.socket.write(text);
  }

  /** Waits a moment: anything the client sends meanwhile is in `unread` after. */
  settle(ms = 50): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  #more(): Promise<void> {
    if (this.#ended) return Promise.reject(new Error('the client closed the connection'));
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = null;
        resolve();
      };
    });
  }
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))),
  );
  await stopAllGateways();
});

/** A server on 127.0.0.1 running `script` for every connection; its port and the outcomes. */
async function scripted(script: (peer: Peer) => Promise<void>) {
  const outcomes: Promise<void>[] = [];
  const server = createServer((socket) => {
    const outcome = script(new Peer(socket));
    // Seen by the tests that wait for `scripts()`; a script cut short by the client's close is not
    // a failure of tests that do not.
    outcome.catch(() => {});
    outcomes.push(outcome);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { port, scripts: () => Promise.all(outcomes), connections: () => outcomes.length };
}

/** Greets, and answers EHLO with `extensions`. */
async function greet(peer: Peer, extensions: readonly string[]): Promise<string> {
  peer.send('220 raw.test ESMTP\r\n');
  const ehlo = await peer.line();
  peer.send(
    ['raw.test', ...extensions]
      .map((line, i, all) => `250${i < all.length - 1 ? '-' : ' '}${line}\r\n`)
      .join(''),
  );
  return ehlo;
}

const OPTIONS: SmtpClientOptions = {
  name: 'out.test',
  servername: 'raw.test',
  requireTls: false,
  rejectUnauthorized: false,
  setupTimeoutMs: 2_000,
  inactivityTimeoutMs: 2_000,
};

async function start(port: number, options: Partial<SmtpClientOptions> = {}) {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise((resolve) => socket.once('connect', resolve));
  return SmtpClient.start(socket, { ...OPTIONS, ...options });
}

const BODY = Buffer.from('Subject: x\r\n\r\n.dot\r\nend\r\n');

function transaction(recipients: readonly string[]) {
  return {
    mail: mailCommand('a@out.test', {}),
    recipients: recipients.map((address) => rcptCommand(address, {})),
    body: [BODY],
  };
}

describe('commands and replies', () => {
  it('sends MAIL, every RCPT and DATA before any reply where PIPELINING is offered', async () => {
    let stuffed = '';
    const server = await scripted(async (peer) => {
      await greet(peer, ['PIPELINING']);
      // Nothing is answered until all four commands are here: a client that waited would hang.
      const lines = [await peer.line(), await peer.line(), await peer.line(), await peer.line()];
      expect(lines).toEqual([
        'MAIL FROM:<a@out.test>',
        'RCPT TO:<ok@raw.test>',
        'RCPT TO:<no@raw.test>',
        'DATA',
      ]);
      peer.send('250 ok\r\n250 ok\r\n550 5.1.1 no such user\r\n354 go\r\n');
      stuffed = await peer.data();
      peer.send('250 2.0.0 queued\r\n');
    });
    const client = await start(server.port);
    const replies = await client.send(transaction(['ok@raw.test', 'no@raw.test']));
    expect(replies.recipients.map((reply) => reply.code)).toEqual([250, 550]);
    expect(replies.data).toEqual({ code: 250, lines: ['2.0.0 queued'] });
    await server.scripts();
    expect(stuffed).toBe('Subject: x\r\n\r\n..dot\r\nend\r\n');
    client.close();
  });

  it('waits for each reply where PIPELINING is not offered', async () => {
    const early: string[] = [];
    const server = await scripted(async (peer) => {
      await greet(peer, []);
      for (const reply of ['250 ok', '250 ok', '354 go']) {
        await peer.line();
        await peer.settle();
        early.push(peer.unread);
        peer.send(`${reply}\r\n`);
      }
      await peer.data();
      peer.send('250 queued\r\n');
    });
    const client = await start(server.port);
    const replies = await client.send(transaction(['ok@raw.test']));
    expect(replies.data?.code).toBe(250);
    expect(early).toEqual(['', '', '']);
    client.close();
  });

  it('sends the message unstuffed with BDAT LAST where CHUNKING is offered, after the RCPT replies', async () => {
    let chunk = '';
    let waited = '';
    const server = await scripted(async (peer) => {
      await greet(peer, ['PIPELINING', 'CHUNKING']);
      await peer.line();
      await peer.line();
      await peer.settle();
      waited = peer.unread;
      peer.send('250 ok\r\n250 ok\r\n');
      const command = await peer.line();
      expect(command).toBe(`BDAT ${BODY.length} LAST`);
      chunk = (await peer.bytes(BODY.length)).toString('latin1');
      peer.send('250 2.0.0 queued\r\n');
    });
    const client = await start(server.port);
    const replies = await client.send(transaction(['ok@raw.test']));
    expect(replies.data?.code).toBe(250);
    expect(waited).toBe('');
    expect(chunk).toBe(BODY.toString('latin1'));
    client.close();
  });

  it('sends no message when every recipient is refused; the next transaction starts with RSET', async () => {
    const next: string[] = [];
    const server = await scripted(async (peer) => {
      await greet(peer, ['PIPELINING']);
      for (let i = 0; i < 3; i++) await peer.line();
      peer.send('250 ok\r\n451 4.2.0 greylisted\r\n554 5.5.1 no valid recipients\r\n');
      for (let i = 0; i < 4; i++) next.push(await peer.line());
      peer.send('250 reset\r\n250 ok\r\n250 ok\r\n354 go\r\n');
      await peer.data();
      peer.send('250 queued\r\n');
    });
    const client = await start(server.port);
    const refused = await client.send(transaction(['grey@raw.test']));
    expect(refused.recipients).toEqual([{ code: 451, lines: ['4.2.0 greylisted'] }]);
    expect(refused.data).toBeNull();
    const taken = await client.send(transaction(['ok@raw.test']));
    expect(next).toEqual(['RSET', 'MAIL FROM:<a@out.test>', 'RCPT TO:<ok@raw.test>', 'DATA']);
    expect(taken.data?.code).toBe(250);
    client.close();
  });

  it('falls back to HELO where EHLO is not known, and then uses no extension', async () => {
    const said: string[] = [];
    const server = await scripted(async (peer) => {
      peer.send('220 old.test\r\n');
      said.push(await peer.line());
      peer.send('502 5.5.1 what?\r\n');
      said.push(await peer.line());
      peer.send('250 old.test\r\n');
    });
    const client = await start(server.port);
    await server.scripts();
    expect(said).toEqual(['EHLO out.test', 'HELO out.test']);
    expect(client.extensions.keywords.size).toBe(0);
    client.close();
  });

  it('ends the session on a 421, whatever it answers, with the host’s reply', async () => {
    const server = await scripted(async (peer) => {
      await greet(peer, ['PIPELINING']);
      await peer.line();
      peer.send('421 4.3.2 shutting down\r\n');
      peer.socket.end();
    });
    const client = await start(server.port);
    const failure = await client.send(transaction(['a@raw.test'])).catch((error) => error);
    expect(failure).toBeInstanceOf(SmtpError);
    expect(failure).toMatchObject({
      code: 'EREPLY',
      command: 'MAIL',
      response: '421 4.3.2 shutting down',
    });
    expect(client.destroyed).toBe(true);
  });
});

describe('what a server may not do', () => {
  it('ends the session when bytes follow the 220 to STARTTLS in clear (no handshake)', async () => {
    let afterStarttls = 'not reached';
    const server = await scripted(async (peer) => {
      await greet(peer, ['STARTTLS']);
      await peer.line();
      peer.send('220 go ahead\r\n250 injected\r\n');
      await peer.settle(200);
      afterStarttls = peer.unread;
    });
    const failure = await start(server.port).catch((error) => error);
    expect(failure).toMatchObject({ code: 'EPROTOCOL', command: 'STARTTLS' });
    await server.scripts();
    expect(afterStarttls).toBe('');
  });

  it('ends the session on a reply of more than 64 KiB', async () => {
    const server = await scripted(async (peer) => {
      peer.send(`220-${'x'.repeat(70_000)}`);
      await peer.settle(200);
    });
    const failure = await start(server.port).catch((error) => error);
    expect(failure).toMatchObject({ code: 'EPROTOCOL', command: 'greeting' });
  });

  it('gives up on a server that never greets, after the setup time', async () => {
    const server = await scripted(async (peer) => {
      await peer.settle(1_000);
    });
    const failure = await start(server.port, { setupTimeoutMs: 200 }).catch((error) => error);
    expect(failure).toMatchObject({ code: 'ETIMEDOUT', command: 'greeting' });
  });

  it('gives up on a transaction the server stops answering, after the inactivity time', async () => {
    const server = await scripted(async (peer) => {
      await greet(peer, ['PIPELINING']);
      await peer.settle(1_000);
    });
    const client = await start(server.port, { inactivityTimeoutMs: 200 });
    const failure = await client.send(transaction(['a@raw.test'])).catch((error) => error);
    expect(failure).toMatchObject({ code: 'ETIMEDOUT', command: 'MAIL' });
  });
});

describe('STARTTLS refused', () => {
  it('goes on in clear when TLS is opportunistic; fails with the reply when it is required', async () => {
    const server = await scripted(async (peer) => {
      await greet(peer, ['STARTTLS']);
      await peer.line();
      peer.send('454 4.7.0 TLS not available\r\n');
      await peer.line().catch(() => '');
    });
    const clear = await start(server.port);
    expect(clear.tls).toBeNull();
    clear.close();
    const failure = await start(server.port, { requireTls: true }).catch((error) => error);
    expect(failure).toMatchObject({
      code: 'ETLS',
      command: 'STARTTLS',
      response: '454 4.7.0 TLS not available',
    });
  });
});

describe('sessions taken from the pool', () => {
  it('opens a new session when the idle one was closed by the host as it was taken up', async () => {
    const dns = await startDnsServer(mxHost('stale.test', '127.0.0.1'));
    let delivered = 0;
    const server = await scripted(async (peer) => {
      await greet(peer, ['PIPELINING']);
      for (;;) {
        const first = await peer.line().catch(() => null);
        // A host that had just timed the idle session out: the RSET finds it gone.
        if (first === null || !first.startsWith('MAIL')) {
          peer.socket.destroy();
          return;
        }
        await peer.line();
        await peer.line();
        peer.send('250 ok\r\n250 ok\r\n354 go\r\n');
        await peer.data();
        delivered++;
        peer.send('250 queued\r\n');
      }
    });
    const lookups = new DnsLookups({ servers: [dns.server], timeoutMs: 1_000 });
    const delivery = new MxDelivery({
      resolve: lookups.resolve,
      hostname: 'out.test',
      port: server.port,
    });
    try {
      for (const local of ['a', 'b']) {
        const body = Buffer.from('Subject: x\r\n\r\nHello.\r\n');
        const report = await delivery.deliver({
          domain: 'stale.test',
          sender: 'a@out.test',
          recipients: [{ address: `${local}@stale.test` }],
          body: [body],
          sizeBytes: body.length,
        });
        expect(report.results[0]?.kind).toBe('delivered');
      }
      expect(delivered).toBe(2);
      expect(server.connections()).toBe(2);
    } finally {
      await delivery.close();
      await dns.close();
    }
  });
});

describe('CHUNKING end to end', () => {
  it('delivers with BDAT to mxhook’s own server, byte for byte', async () => {
    const receiver = await startGateway();
    const dns = await startDnsServer(mxHost('chunks.test', '127.0.0.1'));
    const lookups = new DnsLookups({ servers: [dns.server], timeoutMs: 1_000 });
    const delivery = new MxDelivery({
      resolve: lookups.resolve,
      hostname: 'out.test',
      port: receiver.port,
    });
    const body = Buffer.from(
      `Subject: chunks\r\n\r\n.a line with a period first\r\n${'x'.repeat(100_000)}\r\n.\r\n`,
    );
    try {
      const report = await delivery.deliver({
        domain: 'chunks.test',
        sender: 'a@out.test',
        recipients: [{ address: 'b@chunks.test' }, { address: 'c@chunks.test' }],
        body: [body],
        sizeBytes: body.length,
      });
      expect(report.results.map((result) => result.kind)).toEqual(['delivered', 'delivered']);
      expect(receiver.messages).toHaveLength(1);
      expect(receiver.messages[0]?.body.equals(body)).toBe(true);
    } finally {
      await delivery.close();
      await dns.close();
    }
  });
});
