// One line per audit event for `mxhook tail`: the time, the type, then the fields an operator
// looks for first. Events of a type it does not know (a newer gateway) print as their JSON.
import type {
  DecisionEvent,
  DeliveryEvent,
  QueueEvent,
  ReplyEvent,
  SessionEvent,
  TlsSummary,
} from './audit-events.ts';

const TYPE_WIDTH = 8;

/** `data` is the event's parsed JSON; the line has no newline. */
export function formatAuditLine(type: string, data: unknown): string {
  const event = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const time = typeof event['time'] === 'string' ? event['time'] : new Date().toISOString();
  return `${time} ${type.padEnd(TYPE_WIDTH)} ${describe(type, event)}`;
}

function describe(type: string, event: Record<string, unknown>): string {
  switch (type) {
    case 'session':
      return sessionText(event as unknown as SessionEvent);
    case 'decision':
      return decisionText(event as unknown as DecisionEvent);
    case 'queue':
      return queueText(event as unknown as QueueEvent);
    case 'delivery':
      return deliveryText(event as unknown as DeliveryEvent);
    case 'reply':
      return replyText(event as unknown as ReplyEvent);
    case 'dropped':
      return `${String(event['count'])} events lost: this subscriber fell behind`;
    case 'closed':
      return `stream ended by the gateway: ${String(event['reason'])}`;
    default:
      return JSON.stringify(event);
  }
}

function sessionText(event: SessionEvent): string {
  const parts = [event.action, event.session, `client=${endpoint(event.client)}`];
  if (event.helo !== null) parts.push(`helo=${event.helo}`);
  parts.push(`tls=${tlsText(event.tls)}`);
  if (event.auth !== null) parts.push(`auth=${event.auth}`);
  if (event.proxied) parts.push('proxied');
  return parts.join(' ');
}

function decisionText(event: DecisionEvent): string {
  const parts = [event.session, event.step];
  if (event.argument !== null) parts.push(event.argument === '' ? '<>' : event.argument);
  parts.push(`${replyCode(event.code, event.enhanced)} ${event.outcome} ${event.durationMs}ms`);
  if (event.queueId !== null) parts.push(`id=${event.queueId}`);
  if (event.error !== undefined) parts.push(`error=${event.error}`);
  return parts.join(' ');
}

function queueText(event: QueueEvent): string {
  switch (event.action) {
    case 'enqueued':
      return `enqueued ${event.id} from <${event.sender}> to ${event.recipients} recipient${event.recipients === 1 ? '' : 's'} ${event.sizeBytes} bytes origin=${event.origin}`;
    case 'recorded':
      return `recorded ${event.id} ${event.recipient} ${event.outcome}${event.retryAt === null ? '' : ` retry at ${event.retryAt}`}`;
    default:
      return `${event.action} ${event.id}`;
  }
}

function deliveryText(event: DeliveryEvent): string {
  const via =
    event.host === null
      ? 'no host reached'
      : `via ${event.host}${event.address === null ? '' : ` [${event.address}]`}`;
  return `${event.queueId} ${event.recipient} ${event.outcome} ${via} tls=${tlsText(event.tls)}: ${event.reply}`;
}

function replyText(event: ReplyEvent): string {
  const text = event.lines.join(' | ');
  return `${event.session} ${event.step} ${replyCode(event.code, event.enhanced)}${text === '' ? '' : ` ${text}`}`;
}

function replyCode(code: number, enhanced: string | null): string {
  return enhanced === null ? String(code) : `${code} ${enhanced}`;
}

function tlsText(tls: TlsSummary | null): string {
  return tls === null ? 'none' : tls.version;
}

function endpoint({ address, port }: { readonly address: string; readonly port: number }): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
