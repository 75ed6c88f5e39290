// Session tests for MAIL FROM and RCPT TO: path forms, ESMTP parameters, SMTPUTF8, recipient limits.
import { describe, expect, it } from 'vitest';
import { greeted, INFO, inTransaction } from './driver.ts';

describe('MAIL FROM paths', () => {
  it.each([
    ['MAIL FROM:<>', ''],
    ['MAIL FROM:<"john doe"@example.com>', '"john doe"@example.com'],
    ['MAIL FROM:<@a.example,@b.example:joe@c.example>', 'joe@c.example'],
    ['MAIL FROM:joe@c.example', 'joe@c.example'],
    ['MAIL FROM: <a@b>', 'a@b'],
    ['MAIL FROM:<a@[192.0.2.1]>', 'a@[192.0.2.1]'],
  ])('%s calls the mail step with sender %j', (line, address) => {
    const s = greeted();
    expect(s.send(line)).toBe('');
    expect(s.lastHook).toEqual({
      step: 'mail',
      session: { ...INFO, helo: 'client.example' },
      envelope: { mailFrom: { address, params: {} }, rcptTo: [] },
      mailFrom: { address, params: {} },
    });
    expect(s.answer({ action: 'accept' })).toBe('250 2.1.0 Sender OK\r\n');
  });
});

describe('RCPT TO paths', () => {
  it.each([
    ['RCPT TO:<postmaster>', 'postmaster'],
    ['RCPT TO:<Postmaster>', 'postmaster'],
    ['RCPT TO:<"john doe"@example.com>', '"john doe"@example.com'],
    ['RCPT TO:<@a.example:joe@c.example>', 'joe@c.example'],
    ['RCPT TO:joe@c.example', 'joe@c.example'],
    ['RCPT TO: <d@e.f>', 'd@e.f'],
  ])('%s calls the rcpt step with recipient %j', (line, address) => {
    const s = inTransaction({}, []);
    expect(s.send(line)).toBe('');
    expect(s.lastHook).toMatchObject({
      step: 'rcpt',
      envelope: { mailFrom: { address: 'sender@example.org', params: {} }, rcptTo: [] },
      rcpt: { address, params: {} },
    });
  });

  it('passes the recipients accepted so far on the envelope, not the refused ones', () => {
    const s = inTransaction({}, ['one@example.com']);
    s.sendAnswered('RCPT TO:<two@example.com>', { action: 'reject' });
    s.send('RCPT TO:<three@example.com>');
    expect(s.lastHook).toMatchObject({
      envelope: { rcptTo: [{ address: 'one@example.com', params: {} }] },
    });
  });
});

describe('SMTPUTF8 (RFC 6531)', () => {
  it('replies 553 5.6.7 to a UTF-8 sender without SMTPUTF8', () => {
    expect(greeted().send('MAIL FROM:<jörg@bücher.example>')).toBe(
      '553 5.6.7 Non-ASCII address needs SMTPUTF8\r\n',
    );
  });

  it('replies 553 5.6.7 to a UTF-8 recipient in a transaction without SMTPUTF8', () => {
    expect(inTransaction().send('RCPT TO:<jörg@bücher.example>')).toBe(
      '553 5.6.7 Non-ASCII address needs SMTPUTF8\r\n',
    );
  });

  it('accepts UTF-8 addresses with SMTPUTF8', () => {
    const s = greeted();
    s.send('MAIL FROM:<jörg@bücher.example> SMTPUTF8');
    expect(s.lastHook).toMatchObject({
      mailFrom: { address: 'jörg@bücher.example', params: { SMTPUTF8: true } },
    });
    expect(s.answer({ action: 'accept' })).toBe('250 2.1.0 Sender OK\r\n');
    s.send('RCPT TO:<δοκιμή@παράδειγμα.δοκιμή>');
    expect(s.lastHook).toMatchObject({ rcpt: { address: 'δοκιμή@παράδειγμα.δοκιμή' } });
    expect(s.answer({ action: 'accept' })).toBe('250 2.1.5 Recipient OK\r\n');
  });
});

describe('MAIL parameters', () => {
  it('replies 552 5.3.4 to SIZE over the limit, before any data', () => {
    const s = greeted();
    expect(s.send('MAIL FROM:<a@b.c> SIZE=10001')).toBe(
      '552 5.3.4 Message size exceeds fixed maximum message size\r\n',
    );
    expect(s.hooks.map((h) => h.step)).toEqual(['connect', 'helo']);
  });

  it('accepts SIZE up to the limit and keeps it on the envelope', () => {
    const s = greeted();
    s.send('MAIL FROM:<a@b.c> SIZE=10000');
    expect(s.lastHook).toMatchObject({ mailFrom: { params: { SIZE: '10000' } } });
  });

  it('replies 501 5.5.4 to SIZE that is not a number', () => {
    expect(greeted().send('MAIL FROM:<a@b.c> SIZE=big')).toBe(
      '501 5.5.4 Syntax error: SIZE needs a number\r\n',
    );
  });

  it('accepts BODY=8BITMIME', () => {
    const s = greeted();
    expect(s.sendAnswered('MAIL FROM:<a@b.c> BODY=8BITMIME')).toBe('250 2.1.0 Sender OK\r\n');
  });

  it('replies 555 5.5.4 to BODY=BINARYMIME', () => {
    expect(greeted().send('MAIL FROM:<a@b.c> BODY=BINARYMIME')).toBe(
      '555 5.5.4 Unsupported parameter BODY=BINARYMIME\r\n',
    );
  });

  it('replies 555 5.5.4 to an unknown parameter', () => {
    expect(greeted().send('MAIL FROM:<a@b.c> XFOO=1')).toBe(
      '555 5.5.4 Unsupported parameter XFOO\r\n',
    );
    expect(inTransaction().send('RCPT TO:<d@e.f> XFOO')).toBe(
      '555 5.5.4 Unsupported parameter XFOO\r\n',
    );
  });

  it('replies 501 5.5.4 to a duplicate parameter', () => {
    expect(greeted().send('MAIL FROM:<a@b.c> SIZE=1 SIZE=2')).toBe(
      '501 5.5.4 Syntax error: duplicate parameter SIZE\r\n',
    );
    expect(inTransaction().send('RCPT TO:<d@e.f> XFOO=1 xfoo=1')).toBe(
      '501 5.5.4 Syntax error: duplicate parameter XFOO\r\n',
    );
  });

  it('replies 555 5.5.4 to parameters after HELO, which did not enable ESMTP', () => {
    const s = greeted({}, 'HELO client.example');
    expect(s.send('MAIL FROM:<a@b.c> BODY=8BITMIME')).toBe('555 5.5.4 Parameters need EHLO\r\n');
    s.sendAnswered('MAIL FROM:<a@b.c>');
    expect(s.send('RCPT TO:<d@e.f> NOTIFY=NEVER')).toBe('555 5.5.4 Parameters need EHLO\r\n');
    expect(s.sendAnswered('RCPT TO:<d@e.f>')).toBe('250 2.1.5 Recipient OK\r\n');
  });

  it('replies 555 5.5.4 to the DSN parameters, as DSN is not offered (RFC 3461 §4, RFC 5321 §4.1.1.11)', () => {
    expect(greeted().send('MAIL FROM:<a@b.c> RET=HDRS')).toBe(
      '555 5.5.4 Unsupported parameter RET\r\n',
    );
    expect(greeted().send('MAIL FROM:<a@b.c> ENVID=QQ314159')).toBe(
      '555 5.5.4 Unsupported parameter ENVID\r\n',
    );
    expect(inTransaction().send('RCPT TO:<d@e.f> NOTIFY=SUCCESS,FAILURE')).toBe(
      '555 5.5.4 Unsupported parameter NOTIFY\r\n',
    );
    expect(inTransaction().send('RCPT TO:<d@e.f> ORCPT=rfc822;d@e.f')).toBe(
      '555 5.5.4 Unsupported parameter ORCPT\r\n',
    );
  });
});

describe('recipient limit', () => {
  it('replies 452 4.5.3 past maxRecipients without calling the rcpt step (RFC 5321 §4.5.3.1.10)', () => {
    const s = inTransaction({}, ['a@example.com', 'b@example.com', 'c@example.com']);
    const calls = s.hooks.length;
    expect(s.send('RCPT TO:<d@example.com>')).toBe('452 4.5.3 Too many recipients\r\n');
    expect(s.hooks.length).toBe(calls);
    expect(s.send('DATA')).toBe('354 End data with <CR><LF>.<CR><LF>\r\n');
  });

  it('counts only accepted recipients against the limit', () => {
    const s = inTransaction({ settings: { maxRecipients: 1 } }, []);
    s.sendAnswered('RCPT TO:<a@example.com>', { action: 'reject' });
    expect(s.sendAnswered('RCPT TO:<b@example.com>')).toBe('250 2.1.5 Recipient OK\r\n');
    expect(s.send('RCPT TO:<c@example.com>')).toBe('452 4.5.3 Too many recipients\r\n');
  });
});

describe('requireTls', () => {
  it('replies 530 5.7.0 to MAIL before STARTTLS (RFC 3207 §4)', () => {
    expect(greeted({ settings: { requireTls: true } }).send('MAIL FROM:<a@b.c>')).toBe(
      '530 5.7.0 Must issue a STARTTLS command first\r\n',
    );
  });
});
