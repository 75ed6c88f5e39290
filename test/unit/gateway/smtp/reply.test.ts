// Tests for reply values and their wire form (RFC 5321 §4.2.1, RFC 2034 §3).
import { describe, expect, it } from 'vitest';
import { replies } from '../../../../gateway/smtp/replies.ts';
import { closing, formatReply, type Reply, reply } from '../../../../gateway/smtp/reply.ts';

/** A named reply, with its parameters (host names) filled in. */
const resolve = (value: Reply | ((...args: never[]) => Reply)): Reply =>
  typeof value === 'function'
    ? (value as (...args: string[]) => Reply)('x.example', 'y.example')
    : value;

describe('formatReply', () => {
  it('writes a one-line reply with its enhanced code', () => {
    expect(formatReply(reply(250, '2.0.0', 'OK'))).toBe('250 2.0.0 OK\r\n');
  });

  it('leaves the enhanced code out where it is null', () => {
    expect(formatReply(reply(220, null, 'mx.example.net ESMTP mxhook'))).toBe(
      '220 mx.example.net ESMTP mxhook\r\n',
    );
  });

  it('writes code-text on every line but the last, with the enhanced code on each', () => {
    expect(formatReply(reply(214, '2.0.0', 'first', 'second', 'third'))).toBe(
      '214-2.0.0 first\r\n214-2.0.0 second\r\n214 2.0.0 third\r\n',
    );
    expect(formatReply(reply(250, null, 'a', 'b'))).toBe('250-a\r\n250 b\r\n');
  });

  it('writes only HT and printable US-ASCII, replacing anything else with ? (RFC 5321 §4.2)', () => {
    expect(formatReply(reply(250, null, 'mx greets bücher.example'))).toBe(
      '250 mx greets b?cher.example\r\n',
    );
    expect(formatReply(reply(550, '5.0.0', 'a\rb\nc\u0000d\te'))).toBe('550 5.0.0 a?b?c?d\te\r\n');
  });

  it('gives a reply built without text one empty line', () => {
    expect(reply(250, null)).toEqual({ code: 250, enhanced: null, lines: [''] });
  });
});

describe('closing', () => {
  it('marks a reply as ending the session without changing its text', () => {
    const r = closing(reply(421, '4.3.2', 'bye'));
    expect(r).toEqual({ code: 421, enhanced: '4.3.2', lines: ['bye'], close: true });
    expect(formatReply(r)).toBe('421 4.3.2 bye\r\n');
  });
});

describe('replies', () => {
  it('have an enhanced code whose class matches the reply code, except greetings and 354', () => {
    for (const [name, value] of Object.entries(replies)) {
      const r = resolve(value);
      if (r.enhanced === null) {
        expect([220, 250, 354], name).toContain(r.code);
        continue;
      }
      expect(r.enhanced[0], name).toBe(String(r.code)[0]);
    }
  });

  it('have texts of printable US-ASCII only, so nothing is lost on the wire', () => {
    for (const [name, value] of Object.entries(replies))
      for (const text of resolve(value).lines) expect(text, name).toMatch(/^[\x20-\x7e]*$/);
  });

  it('close the session exactly for 421s, the HTTP refusal, the early talker, QUIT and input behind a refused DATA', () => {
    const closers = Object.entries(replies)
      .filter(([, value]) => resolve(value).close === true)
      .map(([name]) => name)
      .sort();
    expect(closers).toEqual(
      [
        'authLockedOut',
        'breakingRules',
        'bye',
        'dataTimeout',
        'earlyTalker',
        'hookFailedAtConnect',
        'httpRefused',
        'shuttingDown',
        'timeout',
        'sessionExpired',
        'tooManyErrors',
        'tooManyJunkCommands',
      ].sort(),
    );
  });
});
