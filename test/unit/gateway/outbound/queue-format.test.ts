// `mxhook queue` text and argument parsing, and the message summary both the CLI and the admin
// API show: pure functions, no queue.
import { describe, expect, it } from 'vitest';
import type { MessageRecord } from '../../../../gateway/outbound/queue.ts';
import {
  adminUrl,
  bounceText,
  parseQueueArgs,
} from '../../../../gateway/outbound/queue-command.ts';
import {
  formatDue,
  formatDuration,
  formatMessageDetail,
  formatMessageTable,
} from '../../../../gateway/outbound/queue-format.ts';
import { messageView } from '../../../../gateway/outbound/queue-operations.ts';

const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);

const RECORD: MessageRecord = {
  id: '1765022400000aaaaaaaaaaaaaaaa',
  sender: 'alice@sender.test',
  createdAt: NOW - 3 * 3_600_000 - 5 * 60_000,
  sizeBytes: 1234,
  returnContent: 'headers',
  envelopeId: null,
  smtputf8: false,
  eightBit: false,
  origin: 'send-api',
  recipients: [
    {
      address: 'bob@dest.test',
      state: 'queued',
      attempts: 2,
      nextAttemptAt: NOW + 4 * 60_000,
      lastResult: '451 4.3.0 try\r\n later',
    },
    {
      address: 'carol@dest.test',
      state: 'delivered',
      attempts: 1,
      nextAttemptAt: null,
      lastResult: '250 ok',
    },
    {
      address: 'dan@far.test',
      state: 'queued',
      attempts: 0,
      nextAttemptAt: NOW - 1,
      lastResult: null,
    },
  ],
};

describe('messageView', () => {
  it('sums the recipients up: pending, the soonest next attempt, the latest result', () => {
    const view = messageView(RECORD);
    expect(view).toMatchObject({
      id: RECORD.id,
      pending: 2,
      nextAttemptAt: NOW - 1,
      lastResult: '451 4.3.0 try\r\n later',
    });
    expect(view.recipients).toBe(RECORD.recipients);
  });

  it('has no next attempt and no result for a message not tried yet and all final', () => {
    const view = messageView({
      ...RECORD,
      recipients: [
        {
          address: 'x@y.test',
          state: 'failed',
          attempts: 0,
          nextAttemptAt: null,
          lastResult: null,
        },
      ],
    });
    expect(view).toMatchObject({ pending: 0, nextAttemptAt: null, lastResult: null });
  });
});

describe('formatting', () => {
  it('writes durations in the two most useful units', () => {
    expect(
      [0, 999, 42_000, 7 * 60_000, 3 * 3_600_000 + 5 * 60_000, 50 * 3_600_000, -5].map(
        formatDuration,
      ),
    ).toEqual(['0s', '0s', '42s', '7m', '3h05m', '2d02h', '0s']);
    expect([formatDue(null, NOW), formatDue(NOW, NOW), formatDue(NOW + 90_000, NOW)]).toEqual([
      '-',
      'now',
      'in 1m',
    ]);
  });

  it('lists messages as an aligned table, replies on one line, the null sender as <>', () => {
    const other = messageView({
      ...RECORD,
      id: 'b',
      sender: '',
      recipients: [RECORD.recipients[2]!],
    });
    const text = formatMessageTable([messageView(RECORD), other], NOW);
    expect(text).toBe(
      [
        'ID                             AGE    SENDER             PENDING  NEXT ATTEMPT  LAST RESULT',
        `${RECORD.id}  3h05m  alice@sender.test  2/3      now           451 4.3.0 try later`,
        'b                              3h05m  <>                 1/1      now           -',
        '',
      ].join('\n'),
    );
    expect(formatMessageTable([], NOW)).toBe('the queue is empty\n');
  });

  it('shows one message with each recipient', () => {
    const text = formatMessageDetail(messageView(RECORD), NOW);
    expect(text).toContain('sender:       alice@sender.test\n');
    expect(text).toContain('pending:      2 of 3 recipients\n');
    expect(text).toContain('queued:       2026-12-06T08:55:00.000Z (3h05m ago)\n');
    expect(text).toContain(
      '\nbob@dest.test    queued     2         in 4m         451 4.3.0 try later\n',
    );
    expect(text).toMatch(/^carol@dest\.test +delivered +1 +- +250 ok$/m);
  });

  it('says what a bounce did', () => {
    expect(bounceText({ id: 'm', returned: ['a@b.test'], notice: 'n' }, 'alice@sender.test')).toBe(
      'm: returned 1 recipient, removed; notice n queued to alice@sender.test\n',
    );
    expect(bounceText({ id: 'm', returned: ['a@b.test', 'c@d.test'], notice: null }, '')).toBe(
      'm: returned 2 recipients, removed; no notice to <> (the null sender gets none)\n',
    );
  });
});

describe('parseQueueArgs', () => {
  it('reads each action and its flags', () => {
    expect(parseQueueArgs(['list'])).toEqual({ action: 'list', limit: 100, json: false });
    expect(parseQueueArgs(['list', '--limit', '5', '--json'])).toEqual({
      action: 'list',
      limit: 5,
      json: true,
    });
    expect(parseQueueArgs(['list', '--limit=7'])).toEqual({
      action: 'list',
      limit: 7,
      json: false,
    });
    expect(parseQueueArgs(['show', 'abc', '--json'])).toEqual({
      action: 'show',
      id: 'abc',
      json: true,
    });
    for (const action of ['retry', 'delete', 'bounce'] as const)
      expect(parseQueueArgs([action, 'abc'])).toEqual({ action, id: 'abc' });
  });

  it('refuses what it cannot read, saying why', () => {
    expect(parseQueueArgs(['list', '--limit', '0'])).toBe('--limit takes a positive whole number');
    expect(parseQueueArgs(['list', 'x'])).toBe('list takes no message id');
    expect(parseQueueArgs(['show'])).toBe('show takes one message id');
    expect(parseQueueArgs(['retry', 'a', 'b'])).toBe('retry takes one message id');
    expect(parseQueueArgs(['bounce', 'a', '--json'])).toBe('bounce takes no flags');
    expect(parseQueueArgs(['list', '--force'])).toBe('unknown flag --force');
    expect(parseQueueArgs(['flush'])).toBe('unknown action "flush"');
  });

  it('reaches a wildcard admin listener on this host', () => {
    expect(adminUrl({ host: '0.0.0.0', port: 9025 })).toBe('http://127.0.0.1:9025');
    expect(adminUrl({ host: '::', port: 9025 })).toBe('http://[::1]:9025');
    expect(adminUrl({ host: '127.0.0.5', port: 1 })).toBe('http://127.0.0.5:1');
  });
});
