// The audit hub and its subscribers, on a stand-in for an HTTP response whose socket the test
// fills and drains: what is made when, what a slow subscriber is sent, and what a reconnect replays.
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { AuditType } from '../../../../gateway/audit/audit-events.ts';
import { AuditHub, REPLAY_MAX_EVENTS } from '../../../../gateway/audit/audit-hub.ts';
import { BACKLOG_MAX_EVENTS } from '../../../../gateway/audit/audit-subscriber.ts';

/** A response whose socket takes writes until `full`, then asks for 'drain'. */
class FakeResponse extends EventEmitter {
  readonly written: string[] = [];
  full = false;
  ended = false;
  readonly socket = { writableLength: 0 };

  write(text: string): boolean {
    this.written.push(text);
    return !this.full;
  }

  end(text: string): void {
    this.written.push(text);
    this.ended = true;
  }

  destroy(): void {
    this.ended = true;
  }

  /** The events written, as `type:n` (n from the data's `n`) or the control event's type. */
  events(): string[] {
    return this.written.flatMap((frame) => {
      const type = /^event: (\S+)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (type === undefined || data === undefined) return [];
      const parsed = JSON.parse(data) as { n?: number; count?: number; reason?: string };
      return [`${type}:${parsed.n ?? parsed.count ?? parsed.reason}`];
    });
  }

  /** The socket is empty again. */
  drain(): void {
    this.full = false;
    this.emit('drain');
  }
}

function subscribe(hub: AuditHub, types: readonly AuditType[], lastEventId: string | null = null) {
  const response = new FakeResponse();
  hub.subscribe(response as unknown as ServerResponse, new Set(types), lastEventId);
  return response;
}

describe('AuditHub', () => {
  it('makes nothing while off and unheard; a subscriber turns on its types while connected', () => {
    const hub = new AuditHub(false);
    expect(Object.values(hub.wanted)).toEqual([false, false, false, false, false]);
    const response = subscribe(hub, ['session', 'queue']);
    expect(hub.wanted).toMatchObject({ session: true, queue: true, decision: false, reply: false });
    response.emit('close');
    expect(Object.values(hub.wanted).some(Boolean)).toBe(false);
    hub.setEnabled(true);
    expect(Object.values(hub.wanted).every(Boolean)).toBe(true);
  });

  it('sends each subscriber only its types, with ids counting up', () => {
    const hub = new AuditHub(true);
    const sessions = subscribe(hub, ['session']);
    hub.publish('session', { n: 1 });
    hub.publish('queue', { n: 2 });
    hub.publish('session', { n: 3 });
    expect(sessions.events()).toEqual(['session:1', 'session:3']);
    const ids = sessions.written.map((frame) => /^id: \S+\.(\d+)$/m.exec(frame)?.[1]);
    expect(ids).toEqual(['1', '3']);
  });

  it("keeps what a full socket cannot take, drops the oldest past the backlog's bound, and says how many", () => {
    const hub = new AuditHub(false);
    const response = subscribe(hub, ['decision']);
    hub.publish('decision', { n: 0 });
    response.full = true;
    hub.publish('decision', { n: 1 }); // written, and the socket says it is full
    const waiting = BACKLOG_MAX_EVENTS + 10;
    for (let n = 2; n < 2 + waiting; n++) hub.publish('decision', { n });
    expect(response.written).toHaveLength(2);
    expect(hub.status().subscribers[0]).toMatchObject({
      backlogEvents: BACKLOG_MAX_EVENTS,
      dropped: 10,
    });
    response.drain();
    const events = response.events();
    expect(events.slice(0, 3)).toEqual(['decision:0', 'decision:1', 'dropped:10']);
    expect(events[3]).toBe('decision:12');
    expect(events.at(-1)).toBe(`decision:${1 + waiting}`);
    expect(events).toHaveLength(3 + BACKLOG_MAX_EVENTS);
  });

  it('waits while the socket holds more than its high-water mark unsent', () => {
    const hub = new AuditHub(false);
    const response = subscribe(hub, ['queue']);
    response.socket.writableLength = 1024 * 1024;
    hub.publish('queue', { n: 1 });
    expect(response.written).toHaveLength(0);
    response.socket.writableLength = 0;
    response.drain();
    expect(response.events()).toEqual(['queue:1']);
  });

  it('replays what came after Last-Event-ID, and counts what is no longer kept', () => {
    const hub = new AuditHub(true);
    const first = subscribe(hub, ['session']);
    hub.publish('session', { n: 1 });
    const lastId = /^id: (\S+)$/m.exec(first.written[0]!)![1]!;
    first.emit('close');
    for (let n = 2; n <= 4; n++) hub.publish('session', { n });
    expect(subscribe(hub, ['session'], lastId).events()).toEqual([
      'session:2',
      'session:3',
      'session:4',
    ]);

    for (let n = 5; n < 5 + REPLAY_MAX_EVENTS; n++) hub.publish('session', { n });
    const late = subscribe(hub, ['session'], lastId).events();
    expect(late[0]).toBe('dropped:3');
    expect(late).toHaveLength(1 + REPLAY_MAX_EVENTS);
    // An id of another run (the gateway restarted): everything kept.
    expect(subscribe(hub, ['session'], 'another-run.99').events()).toHaveLength(REPLAY_MAX_EVENTS);
  });

  it('ends every stream when switched off, and stops making events nobody wants', () => {
    const hub = new AuditHub(true);
    const reading = subscribe(hub, ['session']);
    const stuck = subscribe(hub, ['session']);
    stuck.full = true;
    hub.publish('session', { n: 1 });
    hub.setEnabled(false);
    expect(reading.ended && stuck.ended).toBe(true);
    expect(reading.events().at(-1)).toBe('closed:switched-off');
    expect(stuck.events()).toEqual(['session:1']);
    expect(hub.status()).toMatchObject({ enabled: false, active: [], subscribers: [] });
  });
});
