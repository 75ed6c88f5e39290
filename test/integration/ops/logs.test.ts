// The gateway's own log lines over real sessions: JSON, a session id on each, every step's
// decision at info, and never a secret, a password or a message body (docs/architecture.md,
// "Logging lives in the shell").
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dotStuff } from '../../helpers/dot-stuff.ts';
import {
  closeAllFunctionServers,
  type FunctionServer,
  startFunctionServer,
} from '../../helpers/function-server.ts';
import { destroyAllClients } from '../../helpers/smtp-client.ts';
import { newSecret } from '../../helpers/start-bridge.ts';
import { allSessionsClosed, CountingSession, startOpsStack } from './ops-stack.ts';

afterEach(async () => {
  destroyAllClients();
  await closeAllFunctionServers();
});

type LogLine = Record<string, unknown> & { level: number; msg: string };

const SECRET = newSecret();
const USERNAME = 'alice@client.test';
const PASSWORD = `pw-${newSecret().slice(0, 16)}`;
const PLAIN = Buffer.from(`\0${USERNAME}\0${PASSWORD}`).toString('base64');
const LOGIN_USER = Buffer.from(USERNAME).toString('base64');
const LOGIN_PASSWORD = Buffer.from(PASSWORD).toString('base64');
const BODY_MARKER = `body-${newSecret().slice(0, 12)}`;
const MESSAGE_ID = `<${newSecret().slice(0, 12)}@client.test>`;
const MESSAGE = `From: <a@client.test>\r\nMessage-ID: ${MESSAGE_ID}\r\nSubject: private\r\n\r\n${BODY_MARKER}\r\n`;
/** Lines about the process, not about one session. */
const PROCESS_MESSAGES = new Set(['listening', 'mxhook ready', 'shutting down', 'stopped']);

/** An AUTH exchange whatever the gateway's AUTH support: PLAIN with an initial response, then LOGIN. */
async function tryAuth(session: CountingSession): Promise<void> {
  await session.command(`AUTH PLAIN ${PLAIN}`);
  const login = await session.command('AUTH LOGIN');
  if (login.code === 334) {
    const user = await session.command(LOGIN_USER);
    if (user.code === 334) await session.command(LOGIN_PASSWORD);
  } else {
    // Without AUTH LOGIN the credentials arrive as command lines: they must not be logged either.
    await session.command(LOGIN_USER);
    await session.command(LOGIN_PASSWORD);
  }
}

describe('log lines', () => {
  let fn: FunctionServer;
  const raw: string[] = [];
  let lines: LogLine[];

  beforeAll(async () => {
    fn = await startFunctionServer();
    const stack = await startOpsStack({
      fn,
      secret: SECRET,
      // AUTH decided by the function: the password travels in the signed call, never to a log.
      env: { MXHOOK_LOG_LEVEL: 'trace', MXHOOK_AUTH: 'function' },
      // The production logger (serve() builds it), writing here instead of stdout.
      logDestination: { write: (line: string) => void raw.push(line) },
    });
    const counter = { bytes: 0 };

    const session = await CountingSession.open(stack.port, counter);
    await session.expectCommand('EHLO client.test', 250);
    await tryAuth(session);
    await session.expectCommand('RSET', 250);
    await session.expectCommand('MAIL FROM:<a@client.test>', 250);
    await session.expectCommand('RCPT TO:<b@mx.test>', 250);
    await session.expectCommand('DATA', 354);
    await session.send(dotStuff(Buffer.from(MESSAGE)));
    session.expect(await session.client.readReply(), 250, 'the message');
    await session.quit();

    // Over TLS too, where a real client would send its credentials.
    // Refused as the SDK refuses a call it cannot verify.
    fn.answerOnce('data', { kind: 'status', status: 401, body: { error: 'ERR_KEY_UNKNOWN' } });
    const secure = await CountingSession.open(stack.port, counter);
    await secure.expectCommand('EHLO client.test', 250);
    await secure.expectCommand('STARTTLS', 220);
    await secure.client.startTls({ ca: stack.certificate.cert, servername: 'localhost' });
    await secure.expectCommand('EHLO client.test', 250);
    await tryAuth(secure);
    await secure.expectCommand('RSET', 250);
    await secure.expectCommand('MAIL FROM:<a@client.test>', 250);
    await secure.expectCommand('RCPT TO:<b@mx.test>', 250);
    await secure.expectCommand('DATA', 354);
    await secure.send(dotStuff(Buffer.from(MESSAGE)));
    secure.expect(await secure.client.readReply(), 451, 'the message the function failed');
    await secure.quit();

    await allSessionsClosed(stack);
    await stack.stop();
    lines = raw.map((line) => JSON.parse(line) as LogLine);
  });

  it('never contain the signing secret, the AUTH password (plain or base64) or the message body', () => {
    // Once the gateway checks AUTH with the function, the password does travel: in the signed call.
    for (const request of fn.requestsFor('auth'))
      expect(request.raw.toString()).toContain(PASSWORD);
    expect(lines.length).toBeGreaterThan(10);
    const all = raw.join('');
    for (const secret of [SECRET, PASSWORD, PLAIN, LOGIN_PASSWORD, BODY_MARKER])
      expect(all, `a log line contains ${secret}`).not.toContain(secret);
    // Nor something that merely embeds them: the secret's base64url would be in a JWK's "k".
    expect(all).not.toContain(Buffer.from(SECRET).toString('base64url'));
  });

  it('say at start-up which key signs, by kid and alg only', () => {
    const ready = lines.find((line) => line.msg === 'mxhook ready');
    expect(ready).toBeDefined();
    expect(Object.keys(ready!).sort()).toEqual(
      [
        'alg',
        'functionUrl',
        'hostname',
        'kid',
        'level',
        'msg',
        'pid',
        'signatureFormat',
        'steps',
        'time',
      ].sort(),
    );
    expect(ready!['alg']).toBe('HS256');
    expect(ready!['signatureFormat']).toBe('jws');
    expect(ready!['functionUrl']).toBe(fn.url);
  });

  it('carry the session id on every line about a session', () => {
    const sessionLines = lines.filter((line) => !PROCESS_MESSAGES.has(line.msg));
    expect(sessionLines.length).toBeGreaterThan(0);
    for (const line of sessionLines) expect(line['session'], line.msg).toMatch(/^[0-9a-f]{16}$/);
    const ids = new Set(sessionLines.map((line) => line['session']));
    expect(ids.size).toBe(2);
    for (const id of ids) {
      const own = sessionLines.filter((line) => line['session'] === id).map((line) => line.msg);
      expect(own[0]).toBe('session opened');
      expect(own.at(-1)).toBe('session closed');
    }
  });

  it('log every step decision: the function answers at info with the call duration, steps accepted without a call at debug', () => {
    const [first, second] = [...new Set(lines.map((line) => line['session']))].filter(Boolean);
    const decisions = (session: unknown) =>
      lines
        .filter(
          (line) =>
            line['session'] === session &&
            typeof line['step'] === 'string' &&
            line['step'] !== 'auth' && // AUTH's own decisions are the AUTH tests' business
            typeof line['code'] === 'number',
        )
        .map((line) => ({
          level: line.level,
          msg: line.msg,
          step: line['step'],
          code: line['code'],
          timed: typeof line['durationMs'] === 'number',
        }));
    const uncalled = (step: string, code: number) => ({
      level: 20,
      msg: 'step accepted without a call',
      step,
      code,
      timed: false,
    });
    const answered = (step: string, code: number) => ({
      level: 30,
      msg: 'function answered',
      step,
      code,
      timed: true,
    });
    expect(decisions(first)).toEqual([
      uncalled('connect', 220),
      uncalled('helo', 250),
      uncalled('mail', 250),
      answered('rcpt', 250),
      answered('data', 250),
    ]);
    expect(decisions(second)).toEqual([
      uncalled('connect', 220),
      uncalled('helo', 250),
      uncalled('helo', 250),
      uncalled('mail', 250),
      answered('rcpt', 250),
      { level: 40, msg: 'function call failed', step: 'data', code: 451, timed: true },
    ]);
    const failure = lines.find((line) => line.msg === 'function call failed');
    // Why the function refused it, taken from its answer (only a code: the rest could echo the call).
    expect(failure!['error']).toEqual({
      code: 'ERR_HOOK_STATUS',
      message: 'function answered HTTP 401 (ERR_KEY_UNKNOWN)',
    });
  });

  it('round call durations to a tenth of a millisecond', () => {
    const timed = lines.filter((line) => typeof line['durationMs'] === 'number');
    expect(timed.length).toBeGreaterThan(0);
    for (const line of timed) expect(String(line['durationMs'])).toMatch(/^\d+(\.\d)?$/);
  });

  it('say who sent what to whom at the end of each transaction: sender, recipients, size, Message-ID', () => {
    const ended = lines.filter((line) => line.msg === 'transaction ended');
    const size = Buffer.byteLength(MESSAGE);
    const transaction = (outcome: string) => ({
      level: 30,
      session: expect.stringMatching(/^[0-9a-f]{16}$/),
      queueId: expect.any(String),
      outcome,
      headers: {},
      mailFrom: 'a@client.test',
      rcptTo: ['b@mx.test'],
      sizeBytes: size,
      messageId: MESSAGE_ID,
    });
    expect(ended).toEqual([
      expect.objectContaining(transaction('accepted')),
      expect.objectContaining(transaction('failed')),
    ]);
  });

  it('report the STARTTLS handshake with its protocol and cipher', () => {
    const started = lines.filter((line) => line.msg === 'tls started');
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({
      level: 30,
      session: expect.stringMatching(/^[0-9a-f]{16}$/),
      tls: { version: expect.stringMatching(/^TLSv1\.[23]$/), cipher: expect.any(String) },
    });
  });

  it('are one JSON object per line, with pino levels', () => {
    for (const line of raw) {
      expect(line.endsWith('\n')).toBe(true);
      expect(line.indexOf('\n')).toBe(line.length - 1);
    }
    for (const line of lines) expect([10, 20, 30, 40, 50, 60]).toContain(line.level);
  });
});
