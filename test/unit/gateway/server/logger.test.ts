// The gateway's logger: JSON lines in which credentials, secrets and keys are always redacted.
import { describe, expect, it } from 'vitest';
import { MxhookError } from '../../../../gateway/errors.ts';
import {
  createLogger,
  errorForLog,
  REDACTED,
  redactSecrets,
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
