// Turns what the gateway reports (GatewayObserver) into audit events: the one place each kind of
// event is made. Every method first asks the hub whether its type is wanted, so while nobody
// listens and the switch is off a call costs one property read and builds nothing.
//
// The fields are picked one by one, never copied wholesale: a hook call carries the message at
// data and the password at auth, and neither may reach the stream.
import type { SessionInfo, Step, TlsInfo } from '../../functions/sdk/wire.ts';
import type { DeliveryReport, RecipientResult, TlsDetails } from '../outbound/delivery.ts';
import type { AttemptOutcome, NewMessage } from '../outbound/queue.ts';
import { sizeOf } from '../pieces.ts';
import type { GatewayObserver, ReplyStep } from '../server/observer.ts';
import type { Decision, StepOutcome } from '../smtp/decision.ts';
import type { Reply } from '../smtp/reply.ts';
import type { HookCall } from '../smtp/session-state.ts';
import type {
  DecisionEvent,
  DeliveryEvent,
  QueueEvent,
  ReplyEvent,
  SessionEvent,
  TlsSummary,
} from './audit-events.ts';
import type { AuditHub } from './audit-hub.ts';

export class AuditObserver implements GatewayObserver {
  readonly #hub: AuditHub;

  constructor(hub: AuditHub) {
    this.#hub = hub;
  }

  sessionOpened(session?: SessionInfo): void {
    if (this.#hub.wanted.session && session !== undefined) this.#session('opened', session);
  }

  sessionClosed(session?: SessionInfo): void {
    if (this.#hub.wanted.session && session !== undefined) this.#session('closed', session);
  }

  reply(step: ReplyStep, reply: Reply, session?: SessionInfo): void {
    if (!this.#hub.wanted.reply || session === undefined) return;
    const event: ReplyEvent = {
      type: 'reply',
      time: now(),
      session: session.id,
      step,
      code: reply.code,
      enhanced: reply.enhanced,
      lines: reply.lines,
    };
    this.#hub.publish('reply', event);
  }

  hookCall(
    step: Step,
    outcome: StepOutcome,
    durationMs: number,
    call?: HookCall,
    decision?: Decision,
  ): void {
    if (!this.#hub.wanted.decision || call === undefined || decision === undefined) return;
    const event: DecisionEvent = {
      type: 'decision',
      time: now(),
      session: call.session.id,
      step,
      code: decision.reply.code,
      enhanced: decision.reply.enhanced,
      outcome,
      durationMs,
      queueId: call.step === 'data' ? call.message.queueId : null,
      argument: argumentOf(call),
      ...(decision.failure === null ? {} : { error: decision.failure.code }),
    };
    this.#hub.publish('decision', event);
  }

  deliveryResult(
    queueId: string,
    result: RecipientResult,
    outcome: AttemptOutcome,
    report: DeliveryReport,
  ): void {
    if (!this.#hub.wanted.delivery) return;
    const event: DeliveryEvent = {
      type: 'delivery',
      time: now(),
      queueId,
      recipient: result.address,
      outcome: outcome.kind,
      reply: result.reply,
      host: report.host,
      address: report.address,
      tls: tlsSummary(report.tls),
    };
    this.#hub.publish('delivery', event);
  }

  queueEnqueued(id: string, message: NewMessage): void {
    if (!this.#hub.wanted.queue) return;
    this.#queue({
      type: 'queue',
      time: now(),
      action: 'enqueued',
      id,
      origin: message.origin,
      sender: message.sender,
      recipients: message.recipients.length,
      sizeBytes: sizeOf(message.body),
    });
  }

  queueRecorded(id: string, address: string, outcome: AttemptOutcome): void {
    if (!this.#hub.wanted.queue) return;
    this.#queue({
      type: 'queue',
      time: now(),
      action: 'recorded',
      id,
      recipient: address,
      outcome: outcome.kind,
      retryAt: outcome.kind === 'deferred' ? new Date(outcome.retryAt).toISOString() : null,
    });
  }

  queueRetried(id: string): void {
    if (this.#hub.wanted.queue) this.#queue({ type: 'queue', time: now(), action: 'retried', id });
  }

  queueRemoved(id: string): void {
    if (this.#hub.wanted.queue) this.#queue({ type: 'queue', time: now(), action: 'removed', id });
  }

  #session(action: SessionEvent['action'], session: SessionInfo): void {
    const event: SessionEvent = {
      type: 'session',
      time: now(),
      action,
      session: session.id,
      client: { address: session.client.address, port: session.client.port },
      server: { address: session.server.address, port: session.server.port },
      helo: session.helo,
      tls: tlsSummary(session.tls),
      auth: session.auth?.username ?? null,
      proxied: session.proxied,
    };
    this.#hub.publish('session', event);
  }

  #queue(event: QueueEvent): void {
    this.#hub.publish('queue', event);
  }
}

/** What the step decided on; never the password (auth) or the message (data). */
function argumentOf(call: HookCall): string | null {
  switch (call.step) {
    case 'helo':
      return call.helo.hostname;
    case 'auth':
      return call.auth.username;
    case 'mail':
      return call.mailFrom.address;
    case 'rcpt':
      return call.rcpt.address;
    default:
      return null;
  }
}

function tlsSummary(tls: TlsInfo | TlsDetails | null): TlsSummary | null {
  return tls === null ? null : { version: tls.version, cipher: tls.cipher };
}

function now(): string {
  return new Date().toISOString();
}
