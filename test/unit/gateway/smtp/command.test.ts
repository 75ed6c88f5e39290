// Tests for command-line parsing: verbs, arguments, HTTP requests, NUL and UTF-8 checks, line limits.
import { describe, expect, it } from 'vitest';
import {
  COMMAND_LINE_BYTES,
  lineLimitBytes,
  MAX_LINE_BYTES,
  parseCommandLine,
  VERBS,
} from '../../../../gateway/smtp/command.ts';

const parse = (text: string) => parseCommandLine(Buffer.from(text));

describe('parseCommandLine', () => {
  it.each(VERBS)('recognises %s in any letter case', (verb) => {
    expect(parse(verb)).toEqual({ kind: 'command', verb, args: '' });
    expect(parse(verb.toLowerCase())).toEqual({ kind: 'command', verb, args: '' });
    const mixed = [...verb].map((c, i) => (i % 2 === 0 ? c.toLowerCase() : c)).join('');
    expect(parse(mixed)).toEqual({ kind: 'command', verb, args: '' });
  });

  it('keeps the argument text after the first space exactly', () => {
    expect(parse('MAIL FROM:<a@b.c> SIZE=10')).toEqual({
      kind: 'command',
      verb: 'MAIL',
      args: 'FROM:<a@b.c> SIZE=10',
    });
    expect(parse('rcpt to:<X@Y.Z>')).toEqual({ kind: 'command', verb: 'RCPT', args: 'to:<X@Y.Z>' });
    expect(parse('EHLO  two.spaces')).toEqual({
      kind: 'command',
      verb: 'EHLO',
      args: ' two.spaces',
    });
  });

  it('tolerates trailing white space, as Postfix does', () => {
    expect(parse('NOOP   ')).toEqual({ kind: 'command', verb: 'NOOP', args: '' });
    expect(parse('QUIT\t')).toEqual({ kind: 'command', verb: 'QUIT', args: '' });
    expect(parse('HELO a.example \r')).toEqual({
      kind: 'command',
      verb: 'HELO',
      args: 'a.example',
    });
  });

  it('reports an unknown verb, upper-cased and cut to 32 characters', () => {
    expect(parse('xyzzy plugh')).toEqual({ kind: 'unknown', verb: 'XYZZY', args: 'plugh' });
    expect(parse('')).toEqual({ kind: 'unknown', verb: '', args: '' });
    expect(parse(' NOOP')).toEqual({ kind: 'unknown', verb: '', args: 'NOOP' });
    expect(parse('MAIL\tFROM:<a@b.c>')).toEqual({
      kind: 'unknown',
      verb: 'MAIL\tFROM:<A@B.C>',
      args: '',
    });
    expect(parse('A'.repeat(40))).toEqual({ kind: 'unknown', verb: 'A'.repeat(32), args: '' });
  });

  it.each([
    'GET / HTTP/1.1',
    'POST /submit HTTP/1.0',
    'HEAD /index.html HTTP/2',
    'CONNECT mx.example.net:25 HTTP/1.1',
    'OPTIONS * HTTP/1.1',
  ])('recognises the HTTP request line %s', (line) => {
    expect(parse(line)).toEqual({ kind: 'http' });
  });

  it('does not mistake lines that merely start like HTTP for a request', () => {
    expect(parse('GET /')).toEqual({ kind: 'unknown', verb: 'GET', args: '/' });
    expect(parse('get / http/1.1')).toEqual({ kind: 'unknown', verb: 'GET', args: '/ http/1.1' });
  });

  it('refuses a NUL byte anywhere in the line', () => {
    expect(parseCommandLine(Buffer.from('NOOP\0'))).toEqual({ kind: 'invalid', problem: 'nul' });
    expect(parseCommandLine(Buffer.from('\0'))).toEqual({ kind: 'invalid', problem: 'nul' });
    expect(parseCommandLine(Buffer.from([0xff, 0x00]))).toEqual({
      kind: 'invalid',
      problem: 'nul',
    });
  });

  it('refuses bytes that are not UTF-8', () => {
    expect(parseCommandLine(Buffer.from([0x4e, 0x4f, 0x4f, 0x50, 0x20, 0xff]))).toEqual({
      kind: 'invalid',
      problem: 'utf8',
    });
    // An overlong encoding of "/" and a lone continuation byte.
    expect(parseCommandLine(Buffer.from([0xc0, 0xaf]))).toEqual({
      kind: 'invalid',
      problem: 'utf8',
    });
    expect(parseCommandLine(Buffer.from([0x80]))).toEqual({ kind: 'invalid', problem: 'utf8' });
  });

  it('accepts UTF-8 in the argument', () => {
    expect(parse('RCPT TO:<jörg@bücher.example>')).toEqual({
      kind: 'command',
      verb: 'RCPT',
      args: 'TO:<jörg@bücher.example>',
    });
  });
});

describe('lineLimitBytes', () => {
  it('is 512 octets for plain commands (RFC 5321 §4.5.3.1.4)', () => {
    expect(COMMAND_LINE_BYTES).toBe(512);
    for (const verb of ['EHLO', 'HELO', 'DATA', 'BDAT', 'NOOP', 'VRFY', 'HELP', 'QUIT'] as const)
      expect(lineLimitBytes(verb)).toBe(512);
  });

  it('raises MAIL by SIZE, AUTH=, BODY/SMTPUTF8 and address room, RCPT by address room, AUTH to 12288', () => {
    expect(lineLimitBytes('MAIL')).toBe(512 + 26 + 100 + 500 + 40);
    expect(lineLimitBytes('RCPT')).toBe(1012);
    expect(lineLimitBytes('AUTH')).toBe(12288);
  });

  it('never exceeds the line reader limit', () => {
    for (const verb of VERBS) expect(lineLimitBytes(verb)).toBeLessThanOrEqual(MAX_LINE_BYTES);
  });
});
