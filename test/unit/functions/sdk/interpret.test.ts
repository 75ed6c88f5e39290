// interpretResponse: every accepted shape, every refusal, and properties over arbitrary JSON.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACTION_REPLIES, STEP_CODES } from '../../../../functions/sdk/codes.ts';
import {
  type Interpretation,
  interpretResponse,
  MAX_LINE_CHARS,
  MAX_LINES,
  replyKind,
} from '../../../../functions/sdk/interpret.ts';
import { type Action, STEPS, type Step } from '../../../../functions/sdk/wire.ts';

function ok(
  code: number,
  enhanced: string,
  lines: string[],
  headers: Record<string, string> = {},
): Interpretation {
  return { ok: true, reply: { code, enhanced, lines }, headers };
}

function codesOf(step: Step): number[] {
  const codes = STEP_CODES[step];
  return [...codes.accept, ...codes.temporary, ...codes.permanent];
}

describe('interpretResponse: actions', () => {
  const cases = STEPS.flatMap((step) =>
    (['accept', 'reject', 'defer'] as const).map((action) => [step, action] as [Step, Action]),
  );

  it.each(cases)('answers %s/%s with the action reply and its text', (step, action) => {
    const reply = ACTION_REPLIES[step][action];
    expect(interpretResponse(step, { action })).toEqual(
      ok(reply.code, reply.enhanced, [reply.message]),
    );
  });

  it('uses the message of an action in place of its text', () => {
    expect(interpretResponse('rcpt', { action: 'reject', message: 'Unknown mailbox' })).toEqual(
      ok(550, '5.1.1', ['Unknown mailbox']),
    );
    expect(interpretResponse('connect', { action: 'defer', message: 'busy' })).toEqual(
      ok(421, '4.7.1', ['busy']),
    );
  });
});

describe('interpretResponse: explicit codes', () => {
  const cases = STEPS.flatMap((step) =>
    codesOf(step).map((code) => [step, code] as [Step, number]),
  );

  it.each(cases)('accepts %s code %i with a default enhanced code and text', (step, code) => {
    const result = interpretResponse(step, { code });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.reply.code).toBe(code);
    expect(result.reply.enhanced[0]).toBe(String(code)[0]);
    expect(result.reply.lines).toHaveLength(1);
    expect(result.reply.lines[0]).not.toBe('');
  });

  it.each([
    ['rcpt', { code: 550 }, ok(550, '5.1.1', ['No such user'])],
    ['rcpt', { code: 553 }, ok(553, '5.0.0', ['Mailbox name not allowed'])],
    ['rcpt', { code: 250 }, ok(250, '2.1.5', ['Recipient OK'])],
    ['rcpt', { code: 251 }, ok(251, '2.1.5', ['User not local; will forward'])],
    [
      'rcpt',
      { code: 252 },
      ok(252, '2.1.5', ['Cannot verify user, but will accept message and attempt delivery']),
    ],
    ['rcpt', { code: 452 }, ok(452, '4.0.0', ['Insufficient system storage'])],
    ['data', { code: 552, enhanced: '5.3.4', message: 'Too big' }, ok(552, '5.3.4', ['Too big'])],
    ['auth', { code: 535 }, ok(535, '5.7.8', ['Authentication credentials invalid'])],
    [
      'auth',
      { code: 538 },
      ok(538, '5.0.0', ['Encryption required for requested authentication mechanism']),
    ],
    ['mail', { code: 451, enhanced: '4.999.999' }, ok(451, '4.999.999', ['Try again later'])],
    ['helo', { code: 250, enhanced: null, message: null }, ok(250, '2.0.0', ['Hello'])],
    ['rcpt', { code: 550, action: null }, ok(550, '5.1.1', ['No such user'])],
  ] as [Step, unknown, Interpretation][])('answers %s %j as expected', (step, body, expected) => {
    expect(interpretResponse(step, body)).toEqual(expected);
  });
});

describe('interpretResponse: reply text', () => {
  function lines(message: unknown): string[] {
    const result = interpretResponse('rcpt', { code: 550, message });
    if (!result.ok) throw new Error(result.reason);
    return result.reply.lines;
  }

  it.each([
    ['one line', 'no such user', ['no such user']],
    ['lines split on LF', 'first\nsecond', ['first', 'second']],
    ['an array of lines, each split again', ['a', 'b\nc'], ['a', 'b', 'c']],
    ['CRLF injection kept inside the text', 'ok\r\n250 2.0.0 fake', ['ok', '250 2.0.0 fake']],
    ['a lone CR removed', 'a\rb', ['ab']],
    ['C0, DEL and C1 controls removed', 'a\u0000b\u001bc\u007fd\u0085e\u009bf', ['abcdef']],
    ['tabs as spaces', 'a\tb', ['a b']],
    ['non-ASCII replaced (RFC 5321 §4.2 textstring)', 'café 👍', ['caf? ?']],
    ['Unicode line separators replaced, not split on', 'a\u2028b', ['a?b']],
    ['surrounding whitespace trimmed', '  hi  ', ['hi']],
    ['empty lines dropped', 'a\n\n  \nb', ['a', 'b']],
  ])('keeps %s', (_name, message, expected) => {
    expect(lines(message)).toEqual(expected);
  });

  it.each([
    ['an empty string', ''],
    ['only whitespace and controls', ' \r\n\t\u0000 '],
    ['an empty array', []],
    ['an array of empty strings', ['', '\n']],
    ['null', null],
  ])('uses the default text for %s', (_name, message) => {
    expect(lines(message)).toEqual(['No such user']);
  });

  it(`cuts each line to ${MAX_LINE_CHARS} characters`, () => {
    expect(lines('x'.repeat(1000))).toEqual(['x'.repeat(MAX_LINE_CHARS)]);
  });

  it(`keeps at most ${MAX_LINES} lines`, () => {
    const many = Array.from({ length: 30 }, (_, index) => `line ${index}`);
    expect(lines(many.join('\n'))).toEqual(many.slice(0, MAX_LINES));
    expect(lines(many)).toEqual(many.slice(0, MAX_LINES));
  });
});

describe('interpretResponse: headers', () => {
  it('returns the headers of a data answer', () => {
    expect(
      interpretResponse('data', {
        action: 'accept',
        headers: { 'X-Spam-Score': '0.1', 'X-A': '' },
      }),
    ).toEqual(ok(250, '2.0.0', ['Message accepted'], { 'X-Spam-Score': '0.1', 'X-A': '' }));
  });

  it('removes CR, LF and other controls from header values', () => {
    const result = interpretResponse('data', {
      code: 250,
      headers: { 'X-A': 'a\r\nBcc: eve@example.com\u0000\t!' },
    });
    expect(result.ok && result.headers).toEqual({ 'X-A': 'aBcc: eve@example.com !' });
  });

  it('keeps a header named __proto__ as a header', () => {
    const body = JSON.parse('{"action":"accept","headers":{"__proto__":"x"}}');
    const result = interpretResponse('data', body);
    expect(result.ok && Object.hasOwn(result.headers, '__proto__')).toBe(true);
  });

  it('ignores headers at every step but data', () => {
    expect(interpretResponse('rcpt', { action: 'accept', headers: { 'Bad Name': 5 } })).toEqual(
      ok(250, '2.1.5', ['Recipient OK']),
    );
  });

  it.each([
    ['a name with a space', { 'X Bad': 'v' }],
    ['a name with a colon', { 'X:Bad': 'v' }],
    ['an empty name', { '': 'v' }],
    ['a non-ASCII name', { 'X-Ü': 'v' }],
    ['a number value', { 'X-A': 5 }],
    ['a null value', { 'X-A': null }],
    ['an array', ['X-A: v']],
    ['a string', 'X-A: v'],
    [
      'too many headers',
      Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`X-${i}`, 'v'])),
    ],
    ['a line over 998 characters', { 'X-Long': 'v'.repeat(995) }],
  ])('refuses data headers with %s', (_name, headers) => {
    expect(interpretResponse('data', { action: 'accept', headers }).ok).toBe(false);
  });
});

describe('interpretResponse: refusals', () => {
  it.each([
    ['null', 'rcpt', null],
    ['an array', 'rcpt', [{ action: 'accept' }]],
    ['a string', 'rcpt', 'accept'],
    ['a number', 'rcpt', 250],
    ['an empty object', 'rcpt', {}],
    ['both action and code', 'rcpt', { action: 'accept', code: 250 }],
    ['an unknown action', 'rcpt', { action: 'bounce' }],
    ['a non-string action', 'rcpt', { action: 1 }],
    ['a code as a string', 'rcpt', { code: '550' }],
    ['a fractional code', 'rcpt', { code: 550.5 }],
    ['220 at rcpt', 'rcpt', { code: 220 }],
    ['354 at data', 'data', { code: 354 }],
    ['250 at connect', 'connect', { code: 250 }],
    ['553 at auth', 'auth', { code: 553 }],
    ['an enhanced code of another class', 'rcpt', { code: 250, enhanced: '5.0.0' }],
    ['an enhanced code with two parts', 'rcpt', { code: 250, enhanced: '2.0' }],
    ['an enhanced code with a 4-digit part', 'rcpt', { code: 550, enhanced: '5.1000.1' }],
    ['an enhanced code with a trailing space', 'rcpt', { code: 250, enhanced: '2.0.0 ' }],
    ['an enhanced code of class 3', 'rcpt', { code: 250, enhanced: '3.0.0' }],
    ['a numeric enhanced code', 'rcpt', { code: 250, enhanced: 200 }],
    ['a numeric message', 'rcpt', { code: 550, message: 5 }],
    ['a message array with a number', 'rcpt', { code: 550, message: ['a', 1] }],
    ['a message object', 'rcpt', { action: 'reject', message: { text: 'no' } }],
    ['an unknown step', 'vrfy', { action: 'accept' }],
  ])('refuses %s', (_name, step, body) => {
    const result = interpretResponse(step as Step, body);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toEqual(expect.any(String));
  });

  it('names the problem in the reason', () => {
    expect(interpretResponse('rcpt', { code: 354 })).toEqual({
      ok: false,
      reason: 'code 354 cannot be used at the rcpt step',
    });
  });
});

describe('replyKind', () => {
  it('classifies every code of every step, and null for a code the step cannot use', () => {
    for (const step of STEPS) {
      for (const kind of ['accept', 'temporary', 'permanent'] as const) {
        for (const code of STEP_CODES[step][kind]) expect(replyKind(step, code)).toBe(kind);
      }
    }
    expect(replyKind('data', 354)).toBeNull();
    expect(replyKind('vrfy' as Step, 250)).toBeNull();
  });
});

describe('interpretResponse properties', () => {
  const allCodes = [...new Set(STEPS.flatMap(codesOf))];
  const text = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.string({ unit: 'grapheme' }),
    fc.constantFrom('\r\n', 'a\nb'),
  );
  const answer = fc.record(
    {
      action: fc.oneof(fc.constantFrom('accept', 'reject', 'defer', 'other'), fc.jsonValue()),
      code: fc.oneof(fc.constantFrom(...allCodes, 354, 200, 599), fc.integer(), fc.jsonValue()),
      enhanced: fc.oneof(fc.stringMatching(/^[0-9]\.\d{1,4}\.\d{1,4}$/), fc.jsonValue()),
      message: fc.oneof(text, fc.array(text, { maxLength: 30 }), fc.jsonValue()),
      headers: fc.oneof(
        fc.dictionary(fc.string({ unit: 'binary', maxLength: 20 }), text),
        fc.jsonValue(),
      ),
    },
    { requiredKeys: [] },
  );
  const step = fc.constantFrom(...STEPS);

  function checkSafe(stepName: Step, result: Interpretation): void {
    if (!result.ok) return;
    const { code, enhanced, lines } = result.reply;
    expect(codesOf(stepName)).toContain(code);
    expect(enhanced).toMatch(new RegExp(`^${String(code)[0]}\\.\\d{1,3}\\.\\d{1,3}$`));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(MAX_LINES);
    for (const line of lines) {
      expect(line).not.toMatch(/[\r\n]/);
      expect(line).toMatch(/^[\x20-\x7e]+$/);
      expect(line.length).toBeLessThanOrEqual(MAX_LINE_CHARS);
    }
    for (const [name, value] of Object.entries(result.headers)) {
      expect(name).toMatch(/^[\x21-\x39\x3b-\x7e]+$/);
      expect(value).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
    }
  }

  it('never throws on arbitrary JSON, and every accepted reply is safe to send', () => {
    fc.assert(
      fc.property(step, fc.jsonValue(), (stepName, body) => {
        checkSafe(stepName, interpretResponse(stepName, body));
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on answers shaped like responses, and every accepted reply is safe to send', () => {
    let accepted = 0;
    fc.assert(
      fc.property(step, answer, (stepName, body) => {
        const result = interpretResponse(stepName, body);
        if (result.ok) accepted += 1;
        checkSafe(stepName, result);
      }),
      { numRuns: 3000 },
    );
    // The generator must reach the accepting paths too, or the property says little.
    expect(accepted).toBeGreaterThan(100);
  });

  it('gives the same reply when its own output is sent back (it is idempotent)', () => {
    fc.assert(
      fc.property(step, answer, (stepName, body) => {
        const first = interpretResponse(stepName, body);
        if (!first.ok) return;
        const again = interpretResponse(stepName, {
          code: first.reply.code,
          enhanced: first.reply.enhanced,
          message: first.reply.lines,
          headers: first.headers,
        });
        expect(again).toEqual(first);
      }),
      { numRuns: 2000 },
    );
  });
});
