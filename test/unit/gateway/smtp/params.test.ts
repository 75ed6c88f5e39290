// Tests for MAIL and RCPT parameter checks against the extensions the gateway advertises.
import { describe, expect, it } from 'vitest';
import { checkMailParams, checkRcptParams } from '../../../../gateway/smtp/params.ts';
import { formatReply, type Reply } from '../../../../gateway/smtp/reply.ts';

const wire = (result: unknown): string => formatReply(result as Reply);
const MAX = 1000;

describe('checkMailParams', () => {
  it('accepts no parameters', () => {
    expect(checkMailParams({}, MAX)).toEqual({ declaredSizeBytes: null, smtputf8: false });
  });

  it('reads SIZE up to the limit (RFC 1870)', () => {
    expect(checkMailParams({ SIZE: '1000' }, MAX)).toEqual({
      declaredSizeBytes: 1000,
      smtputf8: false,
    });
    expect(checkMailParams({ SIZE: '0' }, MAX)).toEqual({ declaredSizeBytes: 0, smtputf8: false });
  });

  it('refuses SIZE over the limit with 552 5.3.4 (RFC 1870 §6)', () => {
    expect(wire(checkMailParams({ SIZE: '1001' }, MAX))).toBe(
      '552 5.3.4 Message size exceeds fixed maximum message size\r\n',
    );
    expect(wire(checkMailParams({ SIZE: '99999999999999999999' }, MAX))).toBe(
      '552 5.3.4 Message size exceeds fixed maximum message size\r\n',
    );
  });

  it.each([['abc'], ['-1'], ['1e3'], ['123456789012345678901']])(
    'refuses SIZE=%s with 501 5.5.4',
    (value) => {
      expect(wire(checkMailParams({ SIZE: value }, MAX))).toBe(
        '501 5.5.4 Syntax error: SIZE needs a number\r\n',
      );
    },
  );

  it('refuses SIZE without a value', () => {
    expect(wire(checkMailParams({ SIZE: true }, MAX))).toBe(
      '501 5.5.4 Syntax error: SIZE needs a number\r\n',
    );
  });

  it('accepts BODY=7BIT and BODY=8BITMIME in any case (RFC 6152)', () => {
    for (const body of ['7BIT', '8BITMIME', '8bitmime'])
      expect(checkMailParams({ BODY: body }, MAX)).toEqual({
        declaredSizeBytes: null,
        smtputf8: false,
      });
  });

  it('refuses BODY=BINARYMIME, which is not advertised, with 555 5.5.4', () => {
    expect(wire(checkMailParams({ BODY: 'BINARYMIME' }, MAX))).toBe(
      '555 5.5.4 Unsupported parameter BODY=BINARYMIME\r\n',
    );
  });

  it('sets smtputf8 for SMTPUTF8 and refuses it with a value', () => {
    expect(checkMailParams({ SMTPUTF8: true }, MAX)).toEqual({
      declaredSizeBytes: null,
      smtputf8: true,
    });
    expect(wire(checkMailParams({ SMTPUTF8: 'yes' }, MAX))).toBe(
      '501 5.5.4 Syntax error: SMTPUTF8 takes no value\r\n',
    );
  });

  it('refuses the DSN parameters RET and ENVID with 555 5.5.4, as DSN is not offered (RFC 3461 §4)', () => {
    expect(wire(checkMailParams({ RET: 'FULL' }, MAX))).toBe(
      '555 5.5.4 Unsupported parameter RET\r\n',
    );
    expect(wire(checkMailParams({ ENVID: 'QQ314159+2B' }, MAX))).toBe(
      '555 5.5.4 Unsupported parameter ENVID\r\n',
    );
  });

  it('keeps AUTH=<mailbox> as information and refuses AUTH without a value', () => {
    expect(checkMailParams({ AUTH: '<>' }, MAX)).toEqual({
      declaredSizeBytes: null,
      smtputf8: false,
    });
    expect(wire(checkMailParams({ AUTH: true }, MAX))).toBe(
      '501 5.5.4 Syntax error: AUTH= needs a value\r\n',
    );
  });

  it('refuses an unknown parameter with 555 5.5.4 (RFC 5321 §4.1.1.11)', () => {
    expect(wire(checkMailParams({ XFOO: 'bar' }, MAX))).toBe(
      '555 5.5.4 Unsupported parameter XFOO\r\n',
    );
    expect(wire(checkMailParams({ NOTIFY: 'NEVER' }, MAX))).toBe(
      '555 5.5.4 Unsupported parameter NOTIFY\r\n',
    );
  });
});

describe('checkRcptParams', () => {
  it('accepts a recipient without parameters', () => {
    expect(checkRcptParams({})).toBeNull();
  });

  it('refuses NOTIFY and ORCPT with 555 5.5.4, as DSN is not offered (RFC 3461 §4)', () => {
    expect(wire(checkRcptParams({ NOTIFY: 'SUCCESS' }))).toBe(
      '555 5.5.4 Unsupported parameter NOTIFY\r\n',
    );
    expect(wire(checkRcptParams({ ORCPT: 'rfc822;a+40b@c.example' }))).toBe(
      '555 5.5.4 Unsupported parameter ORCPT\r\n',
    );
  });

  it('refuses MAIL-only and unknown parameters with 555 5.5.4', () => {
    expect(wire(checkRcptParams({ SIZE: '10' }))).toBe('555 5.5.4 Unsupported parameter SIZE\r\n');
    expect(wire(checkRcptParams({ XFOO: true }))).toBe('555 5.5.4 Unsupported parameter XFOO\r\n');
  });
});

describe('DSN parameters when DSN is offered (an outbound queue is set)', () => {
  it('accepts RET=FULL/HDRS and ENVID xtext of at most 100 characters (RFC 3461 §4.3, §4.4)', () => {
    const accepted: Readonly<Record<string, string>>[] = [
      { RET: 'FULL' },
      { RET: 'hdrs' },
      { ENVID: 'QQ314159+2Bx' },
    ];
    for (const params of accepted) {
      expect(checkMailParams(params, MAX, true)).toEqual({
        declaredSizeBytes: null,
        smtputf8: false,
      });
    }
  });

  it.each([
    [{ RET: 'ALL' }, '501 5.5.4 Syntax error: RET must be FULL or HDRS\r\n'],
    [{ RET: true }, '501 5.5.4 Syntax error: RET must be FULL or HDRS\r\n'],
    [{ ENVID: 'a=b' }, '501 5.5.4 Syntax error: ENVID must be xtext of at most 100 characters\r\n'],
    [
      { ENVID: 'x'.repeat(101) },
      '501 5.5.4 Syntax error: ENVID must be xtext of at most 100 characters\r\n',
    ],
  ] as const)('refuses MAIL %o', (params, reply) => {
    expect(wire(checkMailParams(params, MAX, true))).toBe(reply);
  });

  it('accepts NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY, and ORCPT addr-type;xtext', () => {
    for (const NOTIFY of ['NEVER', 'SUCCESS', 'failure,delay', 'SUCCESS,FAILURE,DELAY']) {
      expect(checkRcptParams({ NOTIFY }, true)).toBeNull();
    }
    expect(checkRcptParams({ ORCPT: 'rfc822;a+40b@c.example' }, true)).toBeNull();
  });

  it.each([
    [{ NOTIFY: 'NEVER,SUCCESS' }, 'NOTIFY must be NEVER'],
    [{ NOTIFY: 'SUCCESS,SUCCESS' }, 'NOTIFY must be NEVER'],
    [{ NOTIFY: 'ALWAYS' }, 'NOTIFY must be NEVER'],
    [{ ORCPT: 'a@b.example' }, 'ORCPT must be addr-type;xtext'],
    [{ ORCPT: 'rfc822;a b' }, 'ORCPT must be addr-type;xtext'],
    [{ SIZE: '10' }, 'Unsupported parameter SIZE'],
  ] as const)('refuses RCPT %o', (params, text) => {
    expect(wire(checkRcptParams(params, true))).toContain(text);
  });
});
