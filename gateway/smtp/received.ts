// Builds the Received trace header the gateway prepends to every message (RFC 5321 §4.4, RFC 3848).
import type { SessionInfo } from '../../functions/sdk/wire.ts';

export interface ReceivedFields {
  readonly session: SessionInfo;
  readonly hostname: string;
  readonly esmtp: boolean;
  readonly smtputf8: boolean;
  readonly queueId: string;
  /** Named in a `for` clause only when the message has exactly one recipient, to not disclose the others. */
  readonly recipients: readonly string[];
  readonly now: Date;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number): string => String(n).padStart(2, '0');

/** RFC 5322 §3.3 date-time, in UTC. */
export function rfc5322Date(d: Date): string {
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** The `with` protocol keyword: ESMTP, +S with TLS, +A with AUTH (RFC 3848), UTF8 prefix (RFC 6531 §3.7.3). */
export function withProtocol(f: Pick<ReceivedFields, 'session' | 'esmtp' | 'smtputf8'>): string {
  if (!f.esmtp) return 'SMTP';
  const suffix = `${f.session.tls ? 'S' : ''}${f.session.auth ? 'A' : ''}`;
  return f.smtputf8 ? `UTF8SMTP${suffix}` : `ESMTP${suffix}`;
}

/** RFC 5321 §4.1.3: `[192.0.2.1]`, and `[IPv6:2001:db8::1]` for IPv6. */
export function addressLiteral(address: string): string {
  return address.includes(':') ? `[IPv6:${address}]` : `[${address}]`;
}

// Comments in a header must not be able to close early or start new lines.
const commentSafe = (s: string): string => s.replace(/[()\\\r\n]/g, '');

export function receivedHeader(f: ReceivedFields): Buffer {
  const { session } = f;
  const client = session.client;
  const rdns = client.hostname ? `${commentSafe(client.hostname)} ` : '';
  const lines = [
    `Received: from ${commentSafe(session.helo ?? 'unknown')} (${rdns}${addressLiteral(client.address)})`,
  ];
  if (session.tls)
    lines.push(`\t(using ${session.tls.version} with cipher ${commentSafe(session.tls.cipher)})`);
  lines.push(`\tby ${f.hostname} (mxhook) with ${withProtocol(f)} id ${f.queueId}`);
  const single = f.recipients.length === 1 ? f.recipients[0] : undefined;
  if (single !== undefined) lines.push(`\tfor <${single}>; ${rfc5322Date(f.now)}`);
  else lines[lines.length - 1] += `; ${rfc5322Date(f.now)}`;
  return Buffer.from(`${lines.join('\r\n')}\r\n`, 'utf8');
}
