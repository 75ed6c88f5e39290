// The lines `mxhook tail` prints: time, type, then the fields an operator looks for first.
import { describe, expect, it } from 'vitest';
import type {
  DecisionEvent,
  DeliveryEvent,
  QueueEvent,
  ReplyEvent,
  SessionEvent,
} from '../../../../gateway/audit/audit-events.ts';
import { formatAuditLine } from '../../../../gateway/audit/tail-format.ts';

const TIME = '2026-12-06T17:45:05.123Z';
const TLS = { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' };

describe('formatAuditLine', () => {
  it('shows a session with its client, HELO name, TLS and AUTH user', () => {
    const event: SessionEvent = {
      type: 'session',
      time: TIME,
      action: 'closed',
      session: '9f2c4e1a0b7d3c55',
      client: { address: '203.0.113.9', port: 40112 },
      server: { address: '192.0.2.25', port: 25 },
      helo: 'mail.example.org',
      tls: TLS,
      auth: 'joe',
      proxied: false,
    };
    expect(formatAuditLine('session', event)).toBe(
      `${TIME} session  closed 9f2c4e1a0b7d3c55 client=203.0.113.9:40112 helo=mail.example.org tls=TLSv1.3 auth=joe`,
    );
    expect(
      formatAuditLine('session', {
        ...event,
        action: 'opened',
        client: { address: '2001:db8::1', port: 25 },
        helo: null,
        tls: null,
        auth: null,
        proxied: true,
      }),
    ).toBe(`${TIME} session  opened 9f2c4e1a0b7d3c55 client=[2001:db8::1]:25 tls=none proxied`);
  });

  it('shows a decision with its argument, reply, outcome, duration and queue id', () => {
    const event: DecisionEvent = {
      type: 'decision',
      time: TIME,
      session: 's1',
      step: 'data',
      code: 451,
      enhanced: '4.3.0',
      outcome: 'failed',
      durationMs: 30000.2,
      queueId: 's1.1',
      argument: null,
      error: 'ERR_HOOK_TIMEOUT',
    };
    expect(formatAuditLine('decision', event)).toBe(
      `${TIME} decision s1 data 451 4.3.0 failed 30000.2ms id=s1.1 error=ERR_HOOK_TIMEOUT`,
    );
    const { error: _, ...rcpt } = { ...event, step: 'mail', argument: '', queueId: null };
    expect(formatAuditLine('decision', { ...rcpt, code: 250, enhanced: '2.1.0' })).toBe(
      `${TIME} decision s1 mail <> 250 2.1.0 failed 30000.2ms`,
    );
  });

  it('shows each queue action', () => {
    const enqueued: QueueEvent = {
      type: 'queue',
      time: TIME,
      action: 'enqueued',
      id: 'q1',
      origin: 's1.1',
      sender: 'alice@example.org',
      recipients: 1,
      sizeBytes: 2048,
    };
    expect(formatAuditLine('queue', enqueued)).toBe(
      `${TIME} queue    enqueued q1 from <alice@example.org> to 1 recipient 2048 bytes origin=s1.1`,
    );
    const recorded: QueueEvent = {
      type: 'queue',
      time: TIME,
      action: 'recorded',
      id: 'q1',
      recipient: 'bob@example.net',
      outcome: 'deferred',
      retryAt: '2026-12-06T17:50:05.000Z',
    };
    expect(formatAuditLine('queue', recorded)).toBe(
      `${TIME} queue    recorded q1 bob@example.net deferred retry at 2026-12-06T17:50:05.000Z`,
    );
    expect(
      formatAuditLine('queue', { type: 'queue', time: TIME, action: 'removed', id: 'q1' }),
    ).toBe(`${TIME} queue    removed q1`);
  });

  it('shows a delivery with the host, its address, TLS and the reply', () => {
    const event: DeliveryEvent = {
      type: 'delivery',
      time: TIME,
      queueId: 'q1',
      recipient: 'bob@example.net',
      outcome: 'delivered',
      reply: '250 2.0.0 OK',
      host: 'mx.example.net',
      address: '198.51.100.7',
      tls: TLS,
    };
    expect(formatAuditLine('delivery', event)).toBe(
      `${TIME} delivery q1 bob@example.net delivered via mx.example.net [198.51.100.7] tls=TLSv1.3: 250 2.0.0 OK`,
    );
    expect(formatAuditLine('delivery', { ...event, host: null, address: null, tls: null })).toBe(
      `${TIME} delivery q1 bob@example.net delivered no host reached tls=none: 250 2.0.0 OK`,
    );
  });

  it('shows a reply with its lines joined', () => {
    const event: ReplyEvent = {
      type: 'reply',
      time: TIME,
      session: 's1',
      step: 'command',
      code: 250,
      enhanced: null,
      lines: ['mx.test', 'PIPELINING'],
    };
    expect(formatAuditLine('reply', event)).toBe(
      `${TIME} reply    s1 command 250 mx.test | PIPELINING`,
    );
  });

  it('shows the stream notices, and the JSON of a type it does not know', () => {
    expect(formatAuditLine('dropped', { type: 'dropped', time: TIME, count: 12 })).toBe(
      `${TIME} dropped  12 events lost: this subscriber fell behind`,
    );
    expect(formatAuditLine('closed', { time: TIME, reason: 'switched-off' })).toBe(
      `${TIME} closed   stream ended by the gateway: switched-off`,
    );
    expect(formatAuditLine('archive', { time: TIME, key: 'k' })).toBe(
      `${TIME} archive  {"time":"${TIME}","key":"k"}`,
    );
  });
});
