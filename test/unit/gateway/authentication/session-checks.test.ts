// SessionChecks with answers given as data: which verdicts each step's call carries, the header
// the data call's message gets, and a resolver answering nonsense.
import { describe, expect, it } from 'vitest';
import type { AuthenticationCheck } from '../../../../functions/sdk/wire.ts';
import type { Resolve } from '../../../../gateway/authentication/resolve.ts';
import {
  type AuthenticationSettings,
  SessionChecks,
} from '../../../../gateway/authentication/session-checks.ts';

const ANSWERS: Readonly<Record<string, unknown>> = {
  '7.2.0.192.in-addr.arpa PTR': ['mail.a.test'],
  'mail.a.test A': ['192.0.2.7'],
  'a.test TXT': [['v=spf1 ip4:192.0.2.7 -all']],
  'a.test MX': [{ exchange: 'mx.a.test', priority: 10 }],
};

const resolve: Resolve = async (name, rrtype) => {
  const answer = ANSWERS[`${name} ${rrtype}`];
  if (answer === undefined) throw Object.assign(new Error('none'), { code: 'ENOTFOUND' });
  return answer;
};

function checks(enabled: readonly AuthenticationCheck[], using: Resolve = resolve): SessionChecks {
  const settings: AuthenticationSettings = {
    checks: new Set(enabled),
    resolve: using,
    hostname: 'mx.example',
    timeoutMs: 1_000,
  };
  return new SessionChecks(settings);
}

const ALL = ['rdns', 'spf', 'sender', 'dkim', 'dmarc', 'arc'] as const;

describe('SessionChecks', () => {
  it('gives each step the verdicts that exist by then', async () => {
    const session = checks(ALL);
    session.clientConnected('192.0.2.7');
    expect(await session.forStep('connect')).toEqual({
      authentication: { rdns: { result: 'pass', hostname: 'mail.a.test', names: ['mail.a.test'] } },
      clientHostname: 'mail.a.test',
    });
    session.mailFrom('someone@a.test', 'mail.a.test', '192.0.2.7');
    const rcpt = await session.forStep('rcpt');
    expect(rcpt.authentication.spf).toEqual({
      result: 'pass',
      domain: 'a.test',
      identity: 'mailfrom',
    });
    expect(rcpt.authentication.sender).toEqual({
      domain: 'a.test',
      acceptsMail: true,
      reason: 'mx',
    });
    expect(rcpt.authentication.dkim).toBeUndefined();
  });

  it('puts the header on top of the message and reads the message as it was written', async () => {
    const session = checks(ALL);
    session.clientConnected('192.0.2.7');
    session.mailFrom('someone@a.test', 'mail.a.test', '192.0.2.7');
    const sink = session.messageStarted()!;
    const message =
      'From: someone@a.test\r\nAuthentication-Results: mx.example; dkim=pass\r\n\r\nhi\r\n';
    sink(Buffer.from(message));
    const received = Buffer.from('Received: from mail.a.test\r\n');
    const verdicts = await session.forMessage([received, Buffer.from(message)]);
    const raw = Buffer.concat(verdicts.chunks).toString();
    expect(raw).toBe(
      `Authentication-Results: ${verdicts.authentication.header}\r\n` +
        'Received: from mail.a.test\r\nFrom: someone@a.test\r\n\r\nhi\r\n',
    );
    expect(verdicts.authentication.dkim).toEqual([]);
    expect(verdicts.authentication.dmarc?.result).toBe('none');
    expect(verdicts.authentication.header).toMatch(/^mx\.example;\r\n\tiprev=pass/);
  });

  it('asks for no sink, and no lookup, for checks that are off', async () => {
    const asked: string[] = [];
    const session = checks(['spf'], (name, type) => {
      asked.push(`${name} ${type}`);
      return resolve(name, type);
    });
    session.clientConnected('192.0.2.7');
    expect(session.messageStarted()).toBeNull();
    session.mailFrom('someone@a.test', null, '192.0.2.7');
    expect(Object.keys((await session.forStep('mail')).authentication)).toEqual(['spf']);
    expect(asked.every((question) => question.endsWith('TXT'))).toBe(true);
  });

  it('takes a resolver that answers nonsense for a DNS failure, not a crash', async () => {
    const session = checks(['rdns', 'spf', 'sender'], async () => 42);
    session.clientConnected('192.0.2.7');
    session.mailFrom('someone@a.test', null, '192.0.2.7');
    const { authentication } = await session.forStep('rcpt');
    expect(authentication.rdns?.result).toBe('temperror');
    expect(authentication.spf?.result).toBe('temperror');
    expect(authentication.sender).toEqual({
      domain: 'a.test',
      acceptsMail: null,
      reason: 'temperror',
    });
  });
});
