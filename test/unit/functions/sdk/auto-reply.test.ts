// RFC 3834's rules for automatic replies (functions/sdk/auto-reply.ts): when none may be sent, and
// how a reply is threaded.
import { describe, expect, it } from 'vitest';
import { autoReplyDecision, replyThreading } from '../../../../functions/sdk/auto-reply.ts';

const PLAIN = [
  { name: 'from', value: 'Alice <alice@sender.test>' },
  { name: 'subject', value: 'Hello' },
];

function decide(sender: string, headers = PLAIN, ownAddresses = ['bob@example.com']) {
  return autoReplyDecision({ sender, headers, ownAddresses });
}

describe('autoReplyDecision', () => {
  it('allows a reply to a person writing from a plain mailbox', () => {
    expect(decide('alice@sender.test')).toEqual({ reply: true });
  });

  it('never replies to the null sender (RFC 3834 §2)', () => {
    expect(decide('')).toEqual({ reply: false, skip: 'null-sender' });
  });

  it.each([['auto-replied'], ['auto-generated'], ['Auto-Replied; owner-email="x@y.test"']])(
    'never replies to Auto-Submitted: %s (RFC 3834 §5)',
    (value) => {
      expect(decide('alice@sender.test', [...PLAIN, { name: 'Auto-Submitted', value }])).toEqual({
        reply: false,
        skip: 'auto-submitted',
      });
    },
  );

  it('replies to Auto-Submitted: no', () => {
    const headers = [...PLAIN, { name: 'auto-submitted', value: 'no (a person wrote this)' }];
    expect(decide('alice@sender.test', headers)).toEqual({ reply: true });
  });

  it.each([['bulk'], ['list'], ['junk']])('never replies to Precedence: %s', (value) => {
    expect(decide('alice@sender.test', [...PLAIN, { name: 'Precedence', value }])).toEqual({
      reply: false,
      skip: 'bulk',
    });
  });

  it.each([
    ['List-Id', '<news.lists.sender.test>'],
    ['List-Unsubscribe', '<mailto:leave@sender.test>'],
    ['list-post', '<mailto:news@sender.test>'],
  ])('never replies to mailing-list mail (%s)', (name, value) => {
    expect(decide('alice@sender.test', [...PLAIN, { name, value }])).toEqual({
      reply: false,
      skip: 'mailing-list',
    });
  });

  it('honours X-Auto-Response-Suppress: OOF', () => {
    const headers = [...PLAIN, { name: 'X-Auto-Response-Suppress', value: 'DR, OOF' }];
    expect(decide('alice@sender.test', headers)).toEqual({ reply: false, skip: 'suppressed' });
  });

  it.each([
    'MAILER-DAEMON@sender.test',
    'postmaster@sender.test',
    'owner-news@sender.test',
    'news-request@sender.test',
    'no-reply@sender.test',
    'noreply@sender.test',
  ])('never replies to the system mailbox %s', (sender) => {
    expect(decide(sender)).toEqual({ reply: false, skip: 'system-sender' });
  });

  it('never replies to one of our own addresses', () => {
    expect(decide('Bob@example.com')).toEqual({ reply: false, skip: 'own-address' });
  });
});

describe('replyThreading', () => {
  it('adds Re: once and threads to the Message-ID after the References', () => {
    expect(
      replyThreading({ subject: 'Re: lunch', messageId: '<b@x>', references: '<a@x>' }),
    ).toEqual({ subject: 'Re: lunch', inReplyTo: '<b@x>', references: '<a@x> <b@x>' });
    expect(replyThreading({ subject: 'lunch', messageId: '<b@x>', inReplyTo: '<a@x>' })).toEqual({
      subject: 'Re: lunch',
      inReplyTo: '<b@x>',
      references: '<a@x> <b@x>',
    });
  });

  it('has no threading fields without a Message-ID', () => {
    expect(replyThreading({ subject: null, messageId: null })).toEqual({ subject: 'Re:' });
  });
});
