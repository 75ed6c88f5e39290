// Response helpers: what they build, what they refuse at run time, and what the types refuse at compile time.
import { describe, expect, it } from 'vitest';
import { MxhookError } from '../../../../functions/sdk/errors.ts';
import { interpretResponse } from '../../../../functions/sdk/interpret.ts';
import {
  accept,
  defer,
  type ResponseFor,
  reject,
  withHeaders,
} from '../../../../functions/sdk/responses.ts';

describe('accept / reject / defer', () => {
  it('build action answers, with the message only when given', () => {
    expect(accept()).toEqual({ action: 'accept' });
    expect(Object.keys(accept())).toEqual(['action']);
    expect(reject('No such user')).toEqual({ action: 'reject', message: 'No such user' });
    expect(defer(['Busy', 'try later'])).toEqual({
      action: 'defer',
      message: ['Busy', 'try later'],
    });
  });

  it('build explicit replies when given a code', () => {
    expect(accept('Will forward', { code: 251, enhanced: '2.1.5' })).toEqual({
      code: 251,
      enhanced: '2.1.5',
      message: 'Will forward',
    });
    expect(reject(undefined, { code: 552 })).toEqual({ code: 552 });
    expect(defer('Mailbox full', { code: 452, enhanced: '4.2.2' })).toEqual({
      code: 452,
      enhanced: '4.2.2',
      message: 'Mailbox full',
    });
  });

  it.each([
    ['accept with a 5xx code', () => accept(undefined, { code: 550 as never })],
    ['reject with a 4xx code', () => reject(undefined, { code: 451 as never })],
    ['defer with a 2xx code', () => defer(undefined, { code: 250 as never })],
    [
      'reject with an enhanced code of another class',
      () => reject(undefined, { code: 550, enhanced: '4.1.1' }),
    ],
    [
      'reject with a malformed enhanced code',
      () => reject(undefined, { code: 550, enhanced: '5.1' }),
    ],
  ])('throw ERR_RESPONSE_INVALID for %s', (_name, build) => {
    expect(build).toThrow(MxhookError);
    expect(build).toThrow(expect.objectContaining({ code: 'ERR_RESPONSE_INVALID' }));
  });

  it('build answers the gateway accepts for the step they were typed for', () => {
    const answers: [Parameters<typeof interpretResponse>[0], unknown, number][] = [
      ['rcpt', accept(), 250],
      ['rcpt', reject(), 550],
      ['data', reject(), 554],
      ['connect', defer(), 421],
      ['auth', reject('Bad password', { code: 535, enhanced: '5.7.8' }), 535],
      ['data', withHeaders(accept('Queued'), { 'X-Queue-Id': 'abc' }), 250],
    ];
    for (const [step, answer, code] of answers) {
      const result = interpretResponse(step, answer);
      expect(result.ok && result.reply.code).toBe(code);
    }
  });
});

describe('withHeaders', () => {
  it('adds headers to an answer without changing it', () => {
    const base = accept('Queued');
    expect(withHeaders(base, { 'X-Spam-Score': '0.1' })).toEqual({
      action: 'accept',
      message: 'Queued',
      headers: { 'X-Spam-Score': '0.1' },
    });
    expect(base).toEqual({ action: 'accept', message: 'Queued' });
  });

  it('throws ERR_RESPONSE_INVALID for a header name the gateway would refuse', () => {
    expect(() => withHeaders(accept(), { 'Bad Name': 'x' })).toThrow(
      expect.objectContaining({ code: 'ERR_RESPONSE_INVALID' }),
    );
  });
});

describe('ResponseFor types', () => {
  it('let only the codes a step may use compile (checked by tsc)', () => {
    const rcpt: ResponseFor<'rcpt'>[] = [
      { code: 550, enhanced: '5.1.1' },
      { action: 'accept' },
      accept(),
      reject('No such user', { code: 550 }),
      defer(undefined, { code: 452 }),
    ];
    const data: ResponseFor<'data'>[] = [
      withHeaders(accept(), { 'X-A': 'b' }),
      { action: 'accept', headers: { 'X-A': 'b' } },
    ];
    // @ts-expect-error 354 is not a code RCPT may answer with
    const wrongCode: ResponseFor<'rcpt'> = { code: 354 };
    // @ts-expect-error headers are honoured at the data step only
    const headersAtRcpt: ResponseFor<'rcpt'> = withHeaders(accept(), { 'X-A': 'b' });
    // @ts-expect-error 535 is an AUTH code, not an RCPT one
    const authCodeAtRcpt: ResponseFor<'rcpt'> = reject(undefined, { code: 535 });
    // Never called: it would throw at run time too; the point is that it does not compile.
    const acceptingCodeInReject = () =>
      // @ts-expect-error reject() takes permanent codes only
      reject(undefined, { code: 250 });
    expect([...rcpt, ...data, wrongCode, headersAtRcpt, authCodeAtRcpt]).toHaveLength(10);
    expect(acceptingCodeInReject).toThrow(MxhookError);
  });
});
