// Tests for MAIL FROM / RCPT TO argument parsing: paths, ESMTP parameters and HELO names (RFC 5321 §4.1.2).
import { describe, expect, it } from 'vitest';
import { isHeloName, parsePathArgument } from '../../../../gateway/smtp/path.ts';

const path = (address: string, params: Record<string, string | true> = {}, utf8 = false) => ({
  ok: true,
  path: { address, params, utf8 },
});
const problem = (
  kind: 'syntax' | 'address' | 'address-literal' | 'duplicate-param',
  detail: string,
) => ({
  ok: false,
  problem: kind,
  detail,
});

describe('parsePathArgument', () => {
  it('parses a bracketed address', () => {
    expect(parsePathArgument('FROM:<a@b.c>', 'FROM')).toEqual(path('a@b.c'));
    expect(parsePathArgument('TO:<a@b.c>', 'TO')).toEqual(path('a@b.c'));
  });

  it('matches FROM: and TO: in any letter case', () => {
    expect(parsePathArgument('from:<a@b.c>', 'FROM')).toEqual(path('a@b.c'));
    expect(parsePathArgument('To:<a@b.c>', 'TO')).toEqual(path('a@b.c'));
  });

  it('refuses a missing or wrong prefix', () => {
    expect(parsePathArgument('<a@b.c>', 'FROM')).toEqual(
      problem('syntax', 'expected FROM:<address>'),
    );
    expect(parsePathArgument('FROM:<a@b.c>', 'TO')).toEqual(
      problem('syntax', 'expected TO:<address>'),
    );
    expect(parsePathArgument('FROM <a@b.c>', 'FROM')).toEqual(
      problem('syntax', 'expected FROM:<address>'),
    );
  });

  it('accepts the null reverse-path <> as the sender only', () => {
    expect(parsePathArgument('FROM:<>', 'FROM')).toEqual(path(''));
    expect(parsePathArgument('TO:<>', 'TO')).toEqual(problem('address', 'empty address'));
  });

  it('tolerates a space after the colon and a bare address without brackets', () => {
    expect(parsePathArgument('FROM: <a@b.c>', 'FROM')).toEqual(path('a@b.c'));
    expect(parsePathArgument('FROM:a@b.c', 'FROM')).toEqual(path('a@b.c'));
    expect(parsePathArgument('TO:a@b.c XFOO=1', 'TO')).toEqual(path('a@b.c', { XFOO: '1' }));
  });

  it('keeps a quoted local part with its quotes, even with a space, "@" or ">" inside', () => {
    expect(parsePathArgument('FROM:<"john doe"@example.com>', 'FROM')).toEqual(
      path('"john doe"@example.com'),
    );
    expect(parsePathArgument('TO:<"a@b>c"@example.com>', 'TO')).toEqual(
      path('"a@b>c"@example.com'),
    );
    expect(parsePathArgument('TO:<"a\\"b"@example.com>', 'TO')).toEqual(
      path('"a\\"b"@example.com'),
    );
  });

  it('drops a source route (RFC 5321 §4.1.2, Appendix C)', () => {
    expect(parsePathArgument('TO:<@a.example,@b.example:joe@c.example>', 'TO')).toEqual(
      path('joe@c.example'),
    );
    expect(parsePathArgument('FROM:<@a.example:joe@c.example>', 'FROM')).toEqual(
      path('joe@c.example'),
    );
  });

  it('accepts <postmaster> without a domain as a recipient only (RFC 5321 §4.1.1.3)', () => {
    expect(parsePathArgument('TO:<postmaster>', 'TO')).toEqual(path('postmaster'));
    expect(parsePathArgument('TO:<PostMaster>', 'TO')).toEqual(path('postmaster'));
    expect(parsePathArgument('FROM:<postmaster>', 'FROM')).toEqual(
      problem('address', 'missing @domain'),
    );
  });

  it('accepts address literals as the domain', () => {
    expect(parsePathArgument('TO:<a@[192.0.2.1]>', 'TO')).toEqual(path('a@[192.0.2.1]'));
    expect(parsePathArgument('TO:<a@[IPv6:2001:db8::1]>', 'TO')).toEqual(
      path('a@[IPv6:2001:db8::1]'),
    );
  });

  it.each([
    '[255.255.255.255]',
    '[0.0.0.0]',
    '[IPv6:::1]',
    '[IPv6:::]',
    '[ipv6:2001:DB8:0:0:0:0:0:1]',
    '[IPv6:1:2:3:4:5:6:7:8]',
    '[IPv6:1:2:3:4:5:6:7::]',
    '[IPv6:::ffff:192.0.2.1]',
    '[IPv6:1:2:3:4:5:6:192.0.2.1]',
    '[x-tag:anything]',
  ])('accepts the valid address literal %s (RFC 5321 §4.1.3, RFC 4291 §2.2)', (literal) => {
    expect(parsePathArgument(`FROM:<x@${literal}>`, 'FROM')).toEqual(path(`x@${literal}`));
  });

  it.each([
    '[300.1.1.1]',
    '[1.2.3.256]',
    '[1.2.3]',
    '[1.2.3.4.5]',
    '[1234.1.1.1]',
    '[IPv6:zz::1]',
    '[IPv6::::]',
    '[IPv6:1:::2]',
    '[IPv6::1:2]',
    '[IPv6:12345::1]',
    '[IPv6:1:2:3:4:5:6:7:8:9]',
    '[IPv6:1:2:3:4:5:6:7]',
    '[IPv6:1::2:3:4:5:6:7:8]',
    '[IPv6:1::2::3]',
    '[IPv6:::ffff:300.1.1.1]',
    '[IPv6:::1.2.3.4:5]',
    '[IPv6:fe80::1%eth0]',
    '[IPv6:1.2.3.4::]',
    '[1.2.3.4',
  ])('refuses the invalid address literal %s', (literal) => {
    expect(parsePathArgument(`TO:<x@${literal}>`, 'TO')).toEqual(
      problem('address-literal', 'invalid address literal'),
    );
  });

  it.each([
    'foo.@example.com',
    'a..b@example.com',
    '.foo@example.com',
    'SRS1=HHH2=forwarder.example==HHH1=TT=example.org=first.last@forwarder.example',
    'SRS1=HHH2=forwarder.example==HHH1=TT=example.org=firstname.middlename.lastname.department@forwarder.example',
    `${'l'.repeat(200)}@example.com`,
  ])('accepts %s as sent, as Postfix does', (address) => {
    expect(parsePathArgument(`FROM:<${address}>`, 'FROM')).toEqual(path(address));
    expect(parsePathArgument(`TO:<${address}>`, 'TO')).toEqual(path(address));
  });

  it('flags a non-ASCII address as needing SMTPUTF8', () => {
    expect(parsePathArgument('TO:<jörg@bücher.example>', 'TO')).toEqual(
      path('jörg@bücher.example', {}, true),
    );
  });

  it('reads parameters, keyed in upper case, a keyword alone as true', () => {
    expect(
      parsePathArgument('FROM:<a@b.c> size=100  BODY=8BITMIME SMTPUTF8 ret=HDRS', 'FROM'),
    ).toEqual(path('a@b.c', { SIZE: '100', BODY: '8BITMIME', SMTPUTF8: true, RET: 'HDRS' }));
  });

  it('refuses a duplicate parameter, whatever its case', () => {
    expect(parsePathArgument('FROM:<a@b.c> SIZE=1 size=2', 'FROM')).toEqual(
      problem('duplicate-param', 'duplicate parameter SIZE'),
    );
  });

  it('refuses malformed parameters', () => {
    expect(parsePathArgument('FROM:<a@b.c> -X=1', 'FROM')).toEqual(
      problem('syntax', 'malformed parameter -X=1'),
    );
    expect(parsePathArgument('FROM:<a@b.c> SIZE=', 'FROM')).toEqual(
      problem('syntax', 'malformed parameter SIZE='),
    );
    expect(parsePathArgument('FROM:<a@b.c> X=a=b', 'FROM')).toEqual(
      problem('syntax', 'malformed parameter X=a=b'),
    );
  });

  it('refuses text glued to the closing bracket and unbalanced brackets', () => {
    expect(parsePathArgument('FROM:<a@b.c>SIZE=1', 'FROM')).toEqual(
      problem('syntax', 'unbalanced <address>'),
    );
    expect(parsePathArgument('FROM:<a@b.c', 'FROM')).toEqual(
      problem('syntax', 'unbalanced <address>'),
    );
    expect(parsePathArgument('TO:<"a>@b.c', 'TO')).toEqual(
      problem('syntax', 'unbalanced <address>'),
    );
  });

  it.each([
    ['<a>', 'missing @domain'],
    ['<@b.c>', 'missing @domain'],
    ['<a@>', 'invalid domain'],
    ['<a@b..c>', 'invalid domain'],
    ['<a@-b.c>', 'invalid domain'],
    ['<a@b_c.d>', 'invalid domain'],
    ['<.@c.d>', 'invalid local part'],
    ['<..@c.d>', 'invalid local part'],
    ['<a b@c.d>', 'invalid local part'],
    [`<a@${'d'.repeat(250)}.example>`, 'invalid domain'],
  ])('refuses the address %s: %s', (text, detail) => {
    expect(parsePathArgument(`TO:${text}`, 'TO')).toEqual(problem('address', detail));
  });

  it('accepts a local part over 64 octets: the command line limit bounds it, not RFC 5321 §4.5.3.1.1', () => {
    const local = 'l'.repeat(65);
    expect(parsePathArgument(`TO:<${local}@c.d>`, 'TO')).toEqual(path(`${local}@c.d`));
  });
});

describe('isHeloName', () => {
  it.each([
    'client.example',
    'client',
    'mail_1.example.',
    '[192.0.2.1]',
    '[IPv6:::1]',
    'bücher.example',
  ])('accepts %s', (name) => {
    expect(isHeloName(name)).toBe(true);
  });

  it.each(['', 'bad name', 'a/b', '<client>', '[not a literal', 'x'.repeat(256)])(
    'refuses %j',
    (name) => {
      expect(isHeloName(name)).toBe(false);
    },
  );
});
