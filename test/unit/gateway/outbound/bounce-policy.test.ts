// Who gets a delivery status notice: RFC 3461 NOTIFY, and never the null sender.
import { describe, expect, it } from 'vitest';
import { type NoticeEvent, noticeFor } from '../../../../gateway/outbound/bounce-policy.ts';
import type { RecipientRequest } from '../../../../gateway/outbound/queue.ts';

const EVENTS: readonly NoticeEvent[] = ['failed', 'delayed', 'delivered'];

function noticed(sender: string, recipient: RecipientRequest): NoticeEvent[] {
  return EVENTS.filter((event) => noticeFor(sender, recipient, event));
}

describe('noticeFor', () => {
  it('reports failures and delays when NOTIFY is absent', () => {
    expect(noticed('alice@example.com', { address: 'bob@example.net' })).toEqual([
      'failed',
      'delayed',
    ]);
  });

  it('reports nothing under NOTIFY=NEVER', () => {
    expect(noticed('alice@example.com', { address: 'b@x.test', notify: ['never'] })).toEqual([]);
  });

  it('reports exactly the events NOTIFY lists', () => {
    const sender = 'alice@example.com';
    expect(noticed(sender, { address: 'b@x.test', notify: ['success'] })).toEqual(['delivered']);
    expect(noticed(sender, { address: 'b@x.test', notify: ['failure'] })).toEqual(['failed']);
    expect(noticed(sender, { address: 'b@x.test', notify: ['delay'] })).toEqual(['delayed']);
    expect(
      noticed(sender, { address: 'b@x.test', notify: ['success', 'failure', 'delay'] }),
    ).toEqual(['failed', 'delayed', 'delivered']);
  });

  it('never reports to the null sender, whatever NOTIFY asks', () => {
    expect(noticed('', { address: 'b@x.test' })).toEqual([]);
    expect(noticed('', { address: 'b@x.test', notify: ['success', 'failure', 'delay'] })).toEqual(
      [],
    );
  });
});
