// Tests for decide(): a handler's answer or failure becomes exactly one SMTP reply; failures are 4xx.
import { describe, expect, it } from 'vitest';
import type { Step } from '../../../../functions/sdk/wire.ts';
import { decide } from '../../../../gateway/smtp/decision.ts';
import { formatReply } from '../../../../gateway/smtp/reply.ts';

const answered = (step: Step, response: unknown) => decide(step, { ok: true, response });
const wire = (step: Step, response: unknown): string => formatReply(answered(step, response).reply);

describe('decide: actions', () => {
  it.each([
    ['connect', '220 2.0.0 ESMTP ready\r\n'],
    ['helo', '250 2.0.0 Hello\r\n'],
    ['mail', '250 2.1.0 Sender OK\r\n'],
    ['rcpt', '250 2.1.5 Recipient OK\r\n'],
    ['data', '250 2.0.0 Message accepted\r\n'],
  ] as const)('accept at %s replies %j', (step, text) => {
    expect(wire(step, { action: 'accept' })).toBe(text);
    expect(answered(step, { action: 'accept' })).toMatchObject({
      accepted: true,
      outcome: 'accepted',
      failure: null,
    });
  });

  it.each([
    ['helo', '550 5.7.1 Hostname rejected\r\n'],
    ['mail', '550 5.7.1 Sender rejected\r\n'],
    ['rcpt', '550 5.1.1 No such user\r\n'],
    ['data', '554 5.7.1 Message rejected\r\n'],
  ] as const)('reject at %s replies %j', (step, text) => {
    expect(wire(step, { action: 'reject' })).toBe(text);
    expect(answered(step, { action: 'reject' })).toMatchObject({
      accepted: false,
      outcome: 'rejected',
    });
  });

  it.each(['helo', 'mail', 'rcpt', 'data'] as const)('defer at %s replies 451 4.7.1', (step) => {
    expect(wire(step, { action: 'defer' })).toBe('451 4.7.1 Try again later\r\n');
    expect(answered(step, { action: 'defer' })).toMatchObject({
      accepted: false,
      outcome: 'deferred',
    });
  });

  it('uses the message of an action answer', () => {
    expect(wire('rcpt', { action: 'reject', message: 'mailbox full' })).toBe(
      '550 5.1.1 mailbox full\r\n',
    );
  });
});

describe('decide: explicit replies', () => {
  it('passes an explicit code, enhanced code and message through', () => {
    expect(answered('rcpt', { code: 550, enhanced: '5.1.1', message: 'no such user' })).toEqual({
      step: 'rcpt',
      reply: { code: 550, enhanced: '5.1.1', lines: ['no such user'] },
      accepted: false,
      outcome: 'rejected',
      headers: {},
      failure: null,
    });
  });

  it('writes a multi-line explicit reply', () => {
    expect(
      wire('mail', { code: 451, enhanced: '4.7.1', message: ['greylisted', 'come back'] }),
    ).toBe('451-4.7.1 greylisted\r\n451 4.7.1 come back\r\n');
  });

  it('accepts 251 and 252 at rcpt as success', () => {
    expect(answered('rcpt', { code: 252 })).toMatchObject({ accepted: true, outcome: 'accepted' });
    expect(answered('rcpt', { code: 251 })).toMatchObject({ accepted: true, outcome: 'accepted' });
  });

  it('records the headers a data answer asks for, and ignores them at other steps', () => {
    const response = { action: 'accept', headers: { 'X-Spam': 'no' } };
    expect(answered('data', response).headers).toEqual({ 'X-Spam': 'no' });
    expect(answered('rcpt', response).headers).toEqual({});
  });

  it('closes the connection after a 421 at any step (RFC 5321 §3.8)', () => {
    for (const step of ['connect', 'helo', 'mail', 'rcpt', 'data'] as const) {
      expect(answered(step, { code: 421, enhanced: '4.3.2', message: 'bye' }).reply).toEqual({
        code: 421,
        enhanced: '4.3.2',
        lines: ['bye'],
        close: true,
      });
    }
  });

  it('closes the connection when the connect step refuses', () => {
    expect(answered('connect', { action: 'reject' }).reply).toEqual({
      code: 554,
      enhanced: '5.7.1',
      lines: ['Connection refused'],
      close: true,
    });
    expect(answered('connect', { action: 'defer' }).reply).toEqual({
      code: 421,
      enhanced: '4.7.1',
      lines: ['Service not available, try again later'],
      close: true,
    });
  });
});

describe('decide: failures are temporary', () => {
  it.each(['ERR_HOOK_TIMEOUT', 'ERR_HOOK_NETWORK', 'ERR_HOOK_STATUS'] as const)(
    'turns %s into 451 4.3.0',
    (code) => {
      const error = { code, message: 'the call failed' };
      expect(decide('data', { ok: false, error })).toEqual({
        step: 'data',
        reply: {
          code: 451,
          enhanced: '4.3.0',
          lines: ['Temporary failure, please try again later'],
        },
        accepted: false,
        outcome: 'failed',
        headers: {},
        failure: error,
      });
    },
  );

  it('turns a failure at connect into 421 4.3.0 and close', () => {
    const error = { code: 'ERR_HOOK_TIMEOUT' as const, message: 'took too long' };
    expect(decide('connect', { ok: false, error }).reply).toEqual({
      code: 421,
      enhanced: '4.3.0',
      lines: ['Service temporarily unavailable, try again later'],
      close: true,
    });
  });

  it.each([
    ['a code the step cannot use', { code: 354 }],
    ['a 2xx code data cannot use', { code: 251 }],
    ['a code as a string', { code: '250' }],
    ['an unknown action', { action: 'maybe' }],
    ['both action and code', { action: 'accept', code: 250 }],
    ['neither action nor code', { message: 'hi' }],
    ['an enhanced code of the wrong class', { code: 250, enhanced: '5.0.0' }],
    ['not an object', 'accept'],
    ['null', null],
    ['an array', [{ action: 'accept' }]],
  ])('turns %s at data into 451 4.3.0, never 250', (_why, response) => {
    const decision = answered('data', response);
    expect(formatReply(decision.reply)).toBe(
      '451 4.3.0 Temporary failure, please try again later\r\n',
    );
    expect(decision.accepted).toBe(false);
    expect(decision.outcome).toBe('failed');
    expect(decision.failure?.code).toBe('ERR_HOOK_RESPONSE');
  });

  it('names the reason an answer is unusable', () => {
    expect(answered('rcpt', { code: 354 }).failure).toEqual({
      code: 'ERR_HOOK_RESPONSE',
      message: 'code 354 cannot be used at the rcpt step',
    });
  });

  it('turns an unusable answer at connect into 421 4.3.0 and close', () => {
    expect(formatReply(answered('connect', { code: 250 }).reply)).toBe(
      '421 4.3.0 Service temporarily unavailable, try again later\r\n',
    );
    expect(answered('connect', { code: 250 }).reply.close).toBe(true);
  });
});
