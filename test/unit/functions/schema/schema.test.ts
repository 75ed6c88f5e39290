// The published JSON Schemas, checked against payloads and answers produced by the SDK's own code.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { ACTION_REPLIES, STEP_CODES } from '../../../../functions/sdk/codes.ts';
import { accept, defer, reject, withHeaders } from '../../../../functions/sdk/responses.ts';
import { STEPS } from '../../../../functions/sdk/wire.ts';
import { payloadFor } from '../sdk/helpers.ts';

function schema(name: string): object {
  return JSON.parse(
    readFileSync(new URL(`../../../../functions/schema/${name}`, import.meta.url), 'utf8'),
  );
}

const ajv = new Ajv2020({ strict: true, allErrors: true });
const validateRequest = ajv.compile(schema('request.schema.json'));
const validateResponse = ajv.compile(schema('response.schema.json'));

describe('request.schema.json', () => {
  it.each(STEPS)('accepts the %s payload as the SDK types it', (step) => {
    const payload = payloadFor(step);
    expect(validateRequest(payload), JSON.stringify(validateRequest.errors)).toBe(true);
  });

  it('accepts fields beyond the contract, as the wire contract allows', () => {
    expect(validateRequest({ ...payloadFor('rcpt'), traceId: 'abc' })).toBe(true);
  });

  it('accepts a data payload with raw only, and the null sender', () => {
    const data = payloadFor('data');
    const rawOnly = { ...data, message: { size: data.message.size, raw: data.message.raw } };
    expect(validateRequest(rawOnly)).toBe(true);
    const nullSender = { ...payloadFor('mail'), mailFrom: { address: '', params: {} } };
    expect(validateRequest(nullSender)).toBe(true);
  });

  it('accepts a data payload whose message could not be parsed: parsed null, parseError, raw', () => {
    const data = payloadFor('data');
    const unparsed = {
      ...data,
      message: {
        size: data.message.size,
        raw: data.message.raw,
        parsed: null,
        parseError: { code: 'timeout', message: 'parsing took more than 10000 ms' },
      },
    };
    expect(validateRequest(unparsed), JSON.stringify(validateRequest.errors)).toBe(true);
  });

  it.each([
    ['wire version 2', { ...payloadFor('rcpt'), v: 2 }],
    [
      'parsed null without parseError',
      {
        ...payloadFor('data'),
        message: { size: 3, raw: 'YWJj', parsed: null },
      },
    ],
    [
      'parsed null without raw',
      {
        ...payloadFor('data'),
        message: { size: 3, parsed: null, parseError: { code: 'memory', message: 'x' } },
      },
    ],
    [
      'an unknown parseError code',
      {
        ...payloadFor('data'),
        message: { size: 3, raw: 'YWJj', parsed: null, parseError: { code: 'odd', message: 'x' } },
      },
    ],
    ['an unknown step', { ...payloadFor('rcpt'), step: 'vrfy' }],
    ['an rcpt payload without rcpt', { ...payloadFor('rcpt'), rcpt: undefined }],
    ['a data payload without message', { ...payloadFor('data'), message: undefined }],
    ['a string timestamp', { ...payloadFor('connect'), timestamp: 'now' }],
    [
      'a port out of range',
      {
        ...payloadFor('connect'),
        session: { ...payloadFor('connect').session, client: { address: 'x', port: 70000 } },
      },
    ],
    ['no session', { ...payloadFor('connect'), session: undefined }],
    [
      'a param that is false',
      { ...payloadFor('mail'), mailFrom: { address: 'a@b', params: { BODY: false } } },
    ],
  ])('refuses %s', (_name, payload) => {
    expect(validateRequest(JSON.parse(JSON.stringify(payload)))).toBe(false);
  });
});

describe('response.schema.json', () => {
  it('accepts every answer the response helpers build', () => {
    const answers = [
      accept(),
      accept('Queued as 1'),
      accept(['line 1', 'line 2'], { code: 251, enhanced: '2.1.5' }),
      reject(),
      reject('No such user', { code: 550, enhanced: '5.1.1' }),
      defer('Later', { code: 452 }),
      withHeaders(accept(), { 'X-Spam-Score': '0.1' }),
    ];
    for (const answer of answers) {
      expect(
        validateResponse(JSON.parse(JSON.stringify(answer))),
        JSON.stringify(validateResponse.errors),
      ).toBe(true);
    }
  });

  it('accepts every code of every step and every action reply', () => {
    for (const step of STEPS) {
      const codes = STEP_CODES[step];
      for (const code of [...codes.accept, ...codes.temporary, ...codes.permanent]) {
        expect(validateResponse({ code })).toBe(true);
      }
      for (const reply of Object.values(ACTION_REPLIES[step])) {
        expect(
          validateResponse({ code: reply.code, enhanced: reply.enhanced, message: reply.message }),
        ).toBe(true);
      }
    }
  });

  it.each([
    ['both action and code', { action: 'accept', code: 250 }],
    ['neither action nor code', { message: 'hi' }],
    ['an unknown action', { action: 'bounce' }],
    ['a code no step uses', { code: 354 }],
    ['an enhanced code of another class', { code: 550, enhanced: '4.1.1' }],
    ['a malformed enhanced code', { code: 550, enhanced: '5.1' }],
    ['a numeric message', { action: 'reject', message: 5 }],
    ['a header name with a colon', { action: 'accept', headers: { 'X:A': 'b' } }],
    ['a non-string header value', { action: 'accept', headers: { 'X-A': 1 } }],
    ['an array', [{ action: 'accept' }]],
  ])('refuses %s', (_name, answer) => {
    expect(validateResponse(answer)).toBe(false);
  });
});
