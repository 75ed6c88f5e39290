// Delivery status notifications, read back with mailparser: the multipart/report structure, the
// human-readable part, every delivery-status field, and the returned original (full or headers).
import { type Attachment, simpleParser as parseMail } from 'mailparser';
import { describe, expect, it } from 'vitest';
import {
  buildDsn,
  type DsnInput,
  EXPIRED_STATUS,
  NULL_MX_STATUS,
  statusFromReply,
} from '../../../../gateway/outbound/dsn.ts';

const ARRIVED = Date.UTC(2026, 11, 1, 8, 30, 0);
const NOW = Date.UTC(2026, 11, 6, 9, 0, 0);
const ORIGINAL_HEADER =
  'From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: Quarterly figures\r\nMessage-ID: <q4@example.com>\r\n\r\n';
const ORIGINAL_BODY = 'The numbers are in.\r\n';

function input(overrides: Partial<DsnInput> = {}): DsnInput {
  return {
    hostname: 'mx.mxhook.test',
    message: {
      sender: 'alice@example.com',
      envelopeId: 'Q4+2Breport',
      returnContent: 'headers',
      createdAt: ARRIVED,
      eightBit: false,
    },
    body: [Buffer.from(ORIGINAL_HEADER), Buffer.from(ORIGINAL_BODY)],
    recipients: [
      {
        recipient: {
          address: 'bob@example.net',
          originalRecipient: 'rfc822;Bob+2Bsales@example.net',
        },
        action: 'failed',
        status: '5.1.1',
        reply: '550 5.1.1 <bob@example.net>: no such user',
        remoteMta: 'mx1.example.net',
        lastAttemptAt: NOW - 1_000,
      },
    ],
    now: NOW,
    ...overrides,
  };
}

/** The blocks of a message/delivery-status body, each as a map of field name to unfolded value. */
function statusBlocks(text: string): Map<string, string>[] {
  return text
    .replace(/\r\n[ \t]+/g, ' ')
    .trim()
    .split(/\r\n\r\n/)
    .map(
      (block) =>
        new Map(
          block.split('\r\n').map((line) => {
            const colon = line.indexOf(':');
            return [line.slice(0, colon), line.slice(colon + 1).trim()] as const;
          }),
        ),
    );
}

/** The delivery-status part kept as an attachment rather than read as text. */
function simpleParser(message: Buffer) {
  return parseMail(message, { keepDeliveryStatus: true });
}

function part(attachments: readonly Attachment[], type: string): Attachment {
  const found = attachments.find((attachment) => attachment.contentType === type);
  if (found === undefined) throw new Error(`no ${type} part`);
  return found;
}

describe('buildDsn', () => {
  it('is a multipart/report from MAILER-DAEMON to the sender, with the null envelope sender', async () => {
    const dsn = await buildDsn(input());
    expect(dsn.sender).toBe('');
    expect(dsn.recipient).toBe('alice@example.com');
    expect(dsn.eightBit).toBe(false);
    const text = dsn.body.toString();
    expect(text).not.toMatch(/[^\r]\n/);
    expect(Math.max(...text.split('\r\n').map((line) => line.length))).toBeLessThanOrEqual(998);

    const parsed = await simpleParser(dsn.body);
    const contentType = parsed.headers.get('content-type') as { value: string; params: object };
    expect(contentType.value).toBe('multipart/report');
    expect(contentType.params).toMatchObject({ 'report-type': 'delivery-status' });
    expect(parsed.from?.value).toEqual([
      { name: 'Mail Delivery System', address: 'MAILER-DAEMON@mx.mxhook.test' },
    ]);
    expect(parsed.to).toMatchObject({ value: [{ address: 'alice@example.com' }] });
    expect(parsed.subject).toBe('Undelivered Mail Returned to Sender');
    expect(parsed.headers.get('auto-submitted')).toBe('auto-replied');
    expect(parsed.date?.getTime()).toBe(NOW);
    expect(parsed.messageId).toMatch(/^<.+@mx\.mxhook\.test>$/);
  });

  it('says in words what happened, to whom, and what the remote said', async () => {
    const parsed = await simpleParser((await buildDsn(input())).body);
    expect(parsed.text).toContain('could not be delivered');
    expect(parsed.text).toContain(
      '<bob@example.net>: host mx1.example.net said: 550 5.1.1 <bob@example.net>: no such user',
    );
    expect(parsed.text).toContain('The header of your message is attached');
  });

  it('reports every delivery-status field', async () => {
    const parsed = await simpleParser((await buildDsn(input())).body);
    const [perMessage, perRecipient, ...rest] = statusBlocks(
      part(parsed.attachments, 'message/delivery-status').content.toString(),
    );
    expect(rest).toEqual([]);
    expect(Object.fromEntries(perMessage!)).toEqual({
      'Reporting-MTA': 'dns; mx.mxhook.test',
      'Original-Envelope-Id': 'Q4+report',
      'Arrival-Date': 'Tue, 01 Dec 2026 08:30:00 +0000',
    });
    expect(Object.fromEntries(perRecipient!)).toEqual({
      'Final-Recipient': 'rfc822; bob@example.net',
      'Original-Recipient': 'rfc822; Bob+sales@example.net',
      Action: 'failed',
      Status: '5.1.1',
      'Remote-MTA': 'dns; mx1.example.net',
      'Diagnostic-Code': 'smtp; 550 5.1.1 <bob@example.net>: no such user',
      'Last-Attempt-Date': 'Sun, 06 Dec 2026 08:59:59 +0000',
    });
  });

  it('returns the header only by default, as text/rfc822-headers', async () => {
    const parsed = await simpleParser((await buildDsn(input())).body);
    expect(part(parsed.attachments, 'text/rfc822-headers').content.toString()).toBe(
      ORIGINAL_HEADER,
    );
    expect(parsed.attachments.some((a) => a.contentType === 'message/rfc822')).toBe(false);
  });

  it('returns the whole message under RET=FULL, as message/rfc822, 8-bit if it was', async () => {
    const dsn = await buildDsn(
      input({ message: { ...input().message, returnContent: 'full', eightBit: true } }),
    );
    expect(dsn.eightBit).toBe(true);
    const parsed = await simpleParser(dsn.body);
    expect(part(parsed.attachments, 'message/rfc822').content.toString()).toBe(
      ORIGINAL_HEADER + ORIGINAL_BODY,
    );
    expect(parsed.text).toContain('Your message is attached.');
  });

  it('reports delays with Will-Retry-Until, own errors without Remote-MTA', async () => {
    const dsn = await buildDsn(
      input({
        message: { ...input().message, envelopeId: null },
        recipients: [
          {
            recipient: { address: 'carol@example.org' },
            action: 'delayed',
            reply: 'connection to mx.example.org timed out',
            willRetryUntil: ARRIVED + 5 * 86_400_000,
          },
        ],
      }),
    );
    const parsed = await simpleParser(dsn.body);
    expect(parsed.subject).toBe('Delivery Status Notification (Delay)');
    expect(parsed.text).toContain('<carol@example.org>: connection to mx.example.org timed out');
    const [perMessage, perRecipient] = statusBlocks(
      part(parsed.attachments, 'message/delivery-status').content.toString(),
    );
    expect([...perMessage!.keys()]).toEqual(['Reporting-MTA', 'Arrival-Date']);
    expect(Object.fromEntries(perRecipient!)).toEqual({
      'Final-Recipient': 'rfc822; carol@example.org',
      Action: 'delayed',
      // No status given, none in the reply: the action's class.
      Status: '4.0.0',
      'Will-Retry-Until': 'Sun, 06 Dec 2026 08:30:00 +0000',
    });
  });

  it('reports several recipients, worst news first in the subject', async () => {
    const parsed = await simpleParser(
      (
        await buildDsn(
          input({
            recipients: [
              {
                recipient: { address: 'dan@example.com', notify: ['success'] },
                action: 'delivered',
                reply: '250 2.6.0 queued as 4FQ2',
                remoteMta: 'mx.example.com',
              },
              {
                recipient: { address: 'erin@nullmx.test' },
                action: 'failed',
                status: NULL_MX_STATUS,
                reply: 'nullmx.test accepts no mail (null MX)',
              },
            ],
          }),
        )
      ).body,
    );
    expect(parsed.subject).toBe('Undelivered Mail Returned to Sender');
    const blocks = statusBlocks(
      part(parsed.attachments, 'message/delivery-status').content.toString(),
    );
    expect(blocks.map((block) => block.get('Action'))).toEqual([undefined, 'delivered', 'failed']);
    expect(blocks[1]?.get('Status')).toBe('2.6.0');
    expect(blocks[2]?.get('Status')).toBe('5.1.10');
    expect(parsed.text!.indexOf('erin@')).toBeLessThan(parsed.text!.indexOf('dan@'));
  });

  it('keeps a long, multi-line, non-ASCII reply in folded 7-bit lines', async () => {
    const reply = `550-5.7.1 rejected ${'x'.repeat(1200)}\r\n550 5.7.1 blocked — see ${'y '.repeat(200)}`;
    const dsn = await buildDsn(
      input({
        recipients: [{ ...input().recipients[0]!, status: '5.7.1', reply }],
      }),
    );
    const text = dsn.body.toString();
    expect(Math.max(...text.split('\r\n').map((line) => line.length))).toBeLessThanOrEqual(998);
    const parsed = await simpleParser(dsn.body);
    const status = part(parsed.attachments, 'message/delivery-status').content.toString();
    expect(status).toMatch(/^[\x20-\x7e\r\n]*$/);
    const [, perRecipient] = statusBlocks(status);
    expect(perRecipient?.get('Diagnostic-Code')).toMatch(
      /^smtp; 550-5\.7\.1 rejected x+ ?x* 550 5\.7\.1 blocked \? see y/,
    );
  });

  it('refuses to report on a message from the null sender', async () => {
    await expect(buildDsn(input({ message: { ...input().message, sender: '' } }))).rejects.toThrow(
      RangeError,
    );
  });
});

describe('statusFromReply', () => {
  it('takes the enhanced code, else the class of the basic code', () => {
    expect(statusFromReply('550 5.1.1 no such user')).toBe('5.1.1');
    expect(statusFromReply('452-4.2.2 mailbox full')).toBe('4.2.2');
    expect(statusFromReply('554 go away')).toBe('5.0.0');
    expect(statusFromReply('421 closing')).toBe('4.0.0');
    expect(statusFromReply('connection refused')).toBeNull();
    expect(EXPIRED_STATUS).toBe('4.4.7');
  });
});
