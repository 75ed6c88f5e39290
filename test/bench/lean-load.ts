// A lean load generator for sessions that send many messages without pipelining, as Postfix's
// smtp-source does: one write per command, and the next command only after its reply. No promise,
// string or array per reply — a small state machine per connection over pre-encoded commands — so
// the generator's own CPU per message stays well below the targets' (the bench prints it).
import { connect, type Socket } from 'node:net';
import { MAIL_FROM, RCPT_TO } from './constants.ts';
import { type LoadResult, LoadRun, type LoadSpec } from './load-generator.ts';

const EHLO = Buffer.from('EHLO load.client.bench.test\r\n');
const MAIL = Buffer.from(`MAIL FROM:<${MAIL_FROM}>\r\n`);
const RCPT = Buffer.from(`RCPT TO:<${RCPT_TO}>\r\n`);
const DATA = Buffer.from('DATA\r\n');
const QUIT = Buffer.from('QUIT\r\n');
const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const ZERO = 0x30;

/** What a session waits for (the reply to what it sent last). */
const BANNER = 0;
const EHLO_SENT = 1;
const MAIL_SENT = 2;
const RCPT_SENT = 3;
const DATA_SENT = 4;
const MESSAGE_SENT = 5;
const QUIT_SENT = 6;
/** The reply code that lets the session go on, by what it waits for. */
const EXPECTED = [220, 250, 250, 250, 354, 250, 221];
const STEP_NAMES = ['banner', 'EHLO', 'MAIL', 'RCPT', 'DATA', 'end of data', 'QUIT'];

/**
 * The last reply in `bytes` if they end with a complete one (a final line `NNN ` … CRLF), else -1.
 * Without pipelining one reply at most is outstanding, so a read holds its end or not yet.
 */
function finalReplyCode(bytes: Buffer): number {
  const end = bytes.length;
  if (end < 6 || bytes[end - 2] !== CR || bytes[end - 1] !== LF) return -1;
  const start = bytes.lastIndexOf(LF, end - 3) + 1;
  if (end - start < 6 || bytes[start + 3] !== SPACE) return -1; // `NNN-`: more lines to come
  return (
    (bytes[start]! - ZERO) * 100 + (bytes[start + 1]! - ZERO) * 10 + (bytes[start + 2]! - ZERO)
  );
}

/** Runs `spec` as sessions of up to `perSession` messages, each command sent after the previous reply. */
export function runLeanLoad(spec: LoadSpec): Promise<LoadResult> {
  const run = new LoadRun(spec);
  const { transactionMs, dataReplyMs } = run;
  const open = new Set<Socket>();
  const wire = spec.message.wire;
  let workersLeft = spec.concurrency;
  let finish!: (result: LoadResult) => void;
  const done = new Promise<LoadResult>((resolve) => {
    finish = resolve;
  });

  /** One worker: a session after another while messages remain. */
  function nextSession(): void {
    if (!run.claim()) {
      workersLeft -= 1;
      if (workersLeft === 0) end();
      return;
    }
    const connectedAt = performance.now();
    const socket = connect({ host: '127.0.0.1', port: spec.port, noDelay: true });
    open.add(socket);
    let step = BANNER;
    let sent = 0;
    let inFlight = true; // the claimed message is not yet answered
    let transactionStart = connectedAt;
    let dataStart = 0;
    let partial: Buffer | null = null;
    let finished = false;

    const close = (why: string | null): void => {
      if (finished) return;
      finished = true;
      if (why !== null && inFlight) run.fail(why);
      open.delete(socket);
      socket.destroy();
      nextSession();
    };

    socket.on('data', (chunk: Buffer) => {
      const bytes: Buffer = partial === null ? chunk : Buffer.concat([partial, chunk]);
      const code = finalReplyCode(bytes);
      if (code === -1) {
        partial = bytes;
        return;
      }
      partial = null;
      if (code !== EXPECTED[step]) {
        const got = bytes.toString('latin1').trim();
        close(`${STEP_NAMES[step]}: expected ${EXPECTED[step]}, got ${got}`);
        return;
      }
      switch (step) {
        case BANNER:
          step = EHLO_SENT;
          socket.write(EHLO);
          return;
        case EHLO_SENT:
          step = MAIL_SENT;
          socket.write(MAIL);
          return;
        case MAIL_SENT:
          step = RCPT_SENT;
          socket.write(RCPT);
          return;
        case RCPT_SENT:
          step = DATA_SENT;
          socket.write(DATA);
          return;
        case DATA_SENT:
          step = MESSAGE_SENT;
          dataStart = performance.now();
          socket.write(wire);
          return;
        case MESSAGE_SENT: {
          const now = performance.now();
          inFlight = false;
          run.accepted += 1;
          transactionMs.push(now - transactionStart);
          dataReplyMs.push(now - dataStart);
          sent += 1;
          if (sent < spec.perSession && run.claim()) {
            inFlight = true;
            transactionStart = now;
            step = MAIL_SENT;
            socket.write(MAIL);
          } else {
            step = QUIT_SENT;
            socket.write(QUIT);
          }
          return;
        }
        default: // QUIT_SENT
          close(null);
      }
    });
    socket.on('error', (error) => close(error.message));
    socket.on('close', () => close('connection closed'));
  }

  const hardLimit = setTimeout(() => {
    run.aborted = true;
    for (const socket of open) socket.destroy();
  }, spec.hardLimitMs);

  function end(): void {
    clearTimeout(hardLimit);
    finish(run.result());
  }

  for (let i = 0; i < spec.concurrency; i++) nextSession();
  return done;
}
