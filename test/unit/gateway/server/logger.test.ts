// The gateway's logger: JSON lines in which credentials, secrets and keys are always redacted.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { MxhookError } from '../../../../gateway/errors.ts';
import {
  createLogger,
  errorForLog,
  REDACTED,
  redactSecrets,
  TickBatchedOutput,
} from '../../../../gateway/server/logger.ts';

function capture(): {
  lines: Record<string, unknown>[];
  text: () => string;
  write(s: string): void;
} {
  const raw: string[] = [];
  return {
    get lines() {
      return raw.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    text: () => raw.join(''),
    write(line: string) {
      raw.push(line);
    },
  };
}

const SECRET = 'TOP-SECRET-VALUE-7f3a';

describe('createLogger', () => {
  it('redacts passwords, secrets, keys and authorization headers wherever a caller puts them', () => {
    const out = capture();
    const log = createLogger({ level: 'trace', destination: out });
    log.info(
      {
        password: SECRET,
        auth: { username: 'alice', mechanism: 'PLAIN', password: SECRET },
        session: { auth: { password: SECRET } },
        config: {
          signingSecrets: [SECRET],
          signingKeys: [{ path: '/etc/mxhook/key.pem', text: SECRET }],
          tls: { certPath: '/etc/mxhook/cert.pem', key: Buffer.from(SECRET) },
        },
        key: { privateKey: SECRET, secret: SECRET },
        headers: { authorization: `Bearer ${SECRET}`, 'mxhook-signature': SECRET },
        request: { headers: { authorization: `Basic ${SECRET}` } },
      },
      'everything at once',
    );
    expect(out.text()).not.toContain(SECRET);
    const [line] = out.lines;
    expect(line).toMatchObject({
      msg: 'everything at once',
      password: REDACTED,
      auth: { username: 'alice', mechanism: 'PLAIN', password: REDACTED },
      session: { auth: { password: REDACTED } },
      config: {
        signingSecrets: REDACTED,
        signingKeys: REDACTED,
        tls: { certPath: '/etc/mxhook/cert.pem', key: REDACTED },
      },
      headers: { authorization: REDACTED },
      request: { headers: { authorization: REDACTED } },
    });
  });

  it('redacts in child loggers too, which carry the session id', () => {
    const out = capture();
    const log = createLogger({ level: 'info', destination: out }).child({ session: 'abc123' });
    log.info({ auth: { username: 'bob', password: SECRET } }, 'auth attempt');
    expect(out.lines).toEqual([
      expect.objectContaining({
        session: 'abc123',
        auth: { username: 'bob', password: REDACTED },
        level: 30,
      }),
    ]);
  });

  it('returns an object without secrets unchanged, so the common line allocates nothing', () => {
    const line = { step: 'rcpt', code: 250, session: { id: 'abc', tls: { version: 'TLSv1.3' } } };
    expect(redactSecrets(line)).toBe(line);
  });

  it('writes nothing below its level', () => {
    const out = capture();
    createLogger({ level: 'warn', destination: out }).info('hidden');
    createLogger({ level: 'silent', destination: out }).error('hidden');
    expect(out.text()).toBe('');
  });
});

/** A stand-in for process.stdout that records each write. */
class FakeStdout extends EventEmitter {
  readonly writes: string[] = [];
  write(text: string): boolean {
    this.writes.push(text);
    return true;
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('TickBatchedOutput (the default destination, standard output)', () => {
  it('writes the lines of one turn of the event loop together, once that turn is done', async () => {
    const stdout = new FakeStdout();
    const log = createLogger({ level: 'info', destination: new TickBatchedOutput(stdout) });
    log.info({ step: 'data', code: 250 }, 'function answered');
    log.info({ outcome: 'accepted', messageId: '<1@a.example>' }, 'transaction ended');
    expect(stdout.writes).toEqual([]);
    await nextTurn();
    expect(stdout.writes).toHaveLength(1);
    const lines = stdout.writes[0]!.split('\n').filter((line) => line !== '');
    expect(lines.map((line) => JSON.parse(line).msg)).toEqual([
      'function answered',
      'transaction ended',
    ]);
    log.info('next turn');
    await nextTurn();
    expect(stdout.writes).toHaveLength(2);
    expect(JSON.parse(stdout.writes[1]!).msg).toBe('next turn');
  });

  it('writes at once when the logger is flushed', () => {
    const stdout = new FakeStdout();
    const log = createLogger({ level: 'info', destination: new TickBatchedOutput(stdout) });
    log.warn('shutting down');
    log.flush();
    expect(stdout.writes).toHaveLength(1);
    expect(JSON.parse(stdout.writes[0]!).msg).toBe('shutting down');
  });

  it('stops logging when the reader has gone (EPIPE), and rethrows any other write error', async () => {
    const stdout = new FakeStdout();
    const output = new TickBatchedOutput(stdout);
    const log = createLogger({ level: 'info', destination: output });
    log.info('lost with the reader');
    stdout.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    log.info('not written');
    await nextTurn();
    expect(stdout.writes).toEqual([]);
    const full = Object.assign(new Error('no space'), { code: 'ENOSPC' });
    const other = new FakeStdout();
    new TickBatchedOutput(other);
    expect(() => other.emit('error', full)).toThrow('no space');
  });
});

describe('errorForLog', () => {
  it('logs an error as an object with a code and a message, never a stack', () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    expect(errorForLog(reset)).toEqual({ code: 'ECONNRESET', message: 'read ECONNRESET' });
    expect(errorForLog(new MxhookError('ERR_HOOK_TIMEOUT', 'too slow'))).toEqual({
      code: 'ERR_HOOK_TIMEOUT',
      message: 'too slow',
    });
    expect(errorForLog(new TypeError('bad'))).toEqual({ code: 'TypeError', message: 'bad' });
    expect(errorForLog('thrown text')).toEqual({ code: 'ERR_UNKNOWN', message: 'thrown text' });
  });
});
