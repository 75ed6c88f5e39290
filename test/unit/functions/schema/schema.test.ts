// The published JSON Schemas, checked against payloads and answers produced by the SDK's own code.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { ACTION_REPLIES, STEP_CODES } from '../../../../functions/sdk/codes.ts';
import { accept, defer, reject, withHeaders } from '../../../../functions/sdk/responses.ts';
import { type Authentication, STEPS } from '../../../../functions/sdk/wire.ts';
import { payloadFor } from '../sdk/helpers.ts';

function schema(name: string): object {
  return JSON.parse(
    readFileSync(new URL(`../../../../functions/schema/${name}`, import.meta.url), 'utf8'),
  );
}

/** Every verdict the gateway can send, as it sends them at the data step. */
const FULL_AUTHENTICATION = {
  rdns: { result: 'pass', hostname: 'mail.sender.example', names: ['mail.sender.example'] },
  spf: { result: 'pass', domain: 'sender.example', identity: 'mailfrom' },
  sender: { domain: 'sender.example', acceptsMail: true, reason: 'mx' },
  dkim: [
    {
      result: 'pass',
      domain: 'sender.example',
      selector: 's1',
      algorithm: 'ed25519-sha256',
      aligned: true,
    },
    {
      result: 'fail',
      domain: 'esp.example',
      selector: 'k2',
      algorithm: 'rsa-sha256',
      aligned: false,
      reason: 'body hash did not verify',
    },
  ],
  dmarc: {
    result: 'pass',
    domain: 'sender.example',
    policy: 'reject',
    percent: 100,
    aligned: { spf: true, dkim: true },
  },
  arc: { result: 'none', instances: 0 },
  header: 'mx.example.com; iprev=pass; spf=pass smtp.mailfrom=sender.example; dmarc=pass',
} as const satisfies Authentication;

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

  it('accepts a data payload with every authentication verdict', () => {
    const payload = { ...payloadFor('data'), authentication: FULL_AUTHENTICATION };
    expect(validateRequest(payload), JSON.stringify(validateRequest.errors)).toBe(true);
  });

  it('accepts the verdicts of the mail step alone, and the null sender with unknown outcomes', () => {
    const { rdns, spf } = FULL_AUTHENTICATION;
    const sender = { domain: null, acceptsMail: null, reason: 'null-sender' } as const;
    const payload = { ...payloadFor('mail'), authentication: { rdns, spf, sender } };
    expect(validateRequest(payload), JSON.stringify(validateRequest.errors)).toBe(true);
  });

  it.each([
    ['wire version 2', { ...payloadFor('rcpt'), v: 2 }],
    [
      'an authentication result keyword RFC 8601 does not define',
      {
        ...payloadFor('data'),
        authentication: {
          ...FULL_AUTHENTICATION,
          dmarc: { ...FULL_AUTHENTICATION.dmarc, result: 'passed' },
        },
      },
    ],
    [
      'a DKIM verdict without its selector',
      {
        ...payloadFor('data'),
        authentication: { dkim: [{ ...FULL_AUTHENTICATION.dkim[0], selector: undefined }] },
      },
    ],
    [
      'an unknown DMARC policy',
      {
        ...payloadFor('data'),
        authentication: { dmarc: { ...FULL_AUTHENTICATION.dmarc, policy: 'discard' } },
      },
    ],
    [
      'a reverse DNS result iprev does not have',
      {
        ...payloadFor('connect'),
        authentication: { rdns: { ...FULL_AUTHENTICATION.rdns, result: 'softfail' } },
      },
    ],
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

  it('accepts forward and reply on a data answer, and refuses a reply with unknown fields', () => {
    const answer = {
      action: 'accept',
      deliver: ['bob@example.net'],
      forward: ['alice@elsewhere.example'],
      reply: {
        subject: 'Away',
        text: 'Back Monday.',
        headers: { 'X-Note': 'v' },
        from: 'b@x.example',
      },
    };
    expect(validateResponse(answer), JSON.stringify(validateResponse.errors)).toBe(true);
    expect(validateResponse({ action: 'accept', reply: { body: 'hi' } })).toBe(false);
    expect(validateResponse({ action: 'accept', forward: 'alice@elsewhere.example' })).toBe(false);
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
