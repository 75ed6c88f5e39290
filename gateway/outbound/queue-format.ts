// `mxhook queue list` and `show` as text for people: a table of messages, one message in detail.
import type { MessageView } from './queue-operations.ts';

/** `42s`, `7m`, `3h05m`, `2d04h`: a duration, to the most useful two units. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d${String(hours % 24).padStart(2, '0')}h`;
}

/** When a recipient is due: `now` once due, `in 4m` before, `-` for none. */
export function formatDue(at: number | null, now: number): string {
  if (at === null) return '-';
  return at <= now ? 'now' : `in ${formatDuration(at - now)}`;
}

/** The envelope sender as SMTP writes it: `<>` for the null sender (a notice). */
export function formatSender(sender: string): string {
  return sender === '' ? '<>' : sender;
}

/** A reply as one line (replies can span several). */
function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** The messages as an aligned table, a header line first; a line saying so when there are none. */
export function formatMessageTable(messages: readonly MessageView[], now: number): string {
  if (messages.length === 0) return 'the queue is empty\n';
  const rows = [
    ['ID', 'AGE', 'SENDER', 'PENDING', 'NEXT ATTEMPT', 'LAST RESULT'],
    ...messages.map((m) => [
      m.id,
      formatDuration(now - m.createdAt),
      formatSender(m.sender),
      `${m.pending}/${m.recipients.length}`,
      formatDue(m.nextAttemptAt, now),
      m.lastResult === null ? '-' : oneLine(m.lastResult),
    ]),
  ];
  return alignedRows(rows);
}

/** One message: its envelope, then each recipient with its state. */
export function formatMessageDetail(message: MessageView, now: number): string {
  const fields: [string, string][] = [
    ['id', message.id],
    ['sender', formatSender(message.sender)],
    [
      'queued',
      `${new Date(message.createdAt).toISOString()} (${formatDuration(now - message.createdAt)} ago)`,
    ],
    ['size', `${message.sizeBytes} bytes`],
    ['origin', message.origin],
    ['envelope id', message.envelopeId ?? '-'],
    ['return', message.returnContent],
    ['pending', `${message.pending} of ${message.recipients.length} recipients`],
    ['next attempt', formatDue(message.nextAttemptAt, now)],
    ['last result', message.lastResult === null ? '-' : oneLine(message.lastResult)],
  ];
  const width = Math.max(...fields.map(([name]) => name.length)) + 1;
  const head = fields.map(([name, value]) => `${`${name}:`.padEnd(width)} ${value}\n`).join('');
  const recipients = alignedRows([
    ['RECIPIENT', 'STATE', 'ATTEMPTS', 'NEXT ATTEMPT', 'LAST RESULT'],
    ...message.recipients.map((r) => [
      r.address,
      r.state,
      String(r.attempts),
      formatDue(r.nextAttemptAt, now),
      r.lastResult === null ? '-' : oneLine(r.lastResult),
    ]),
  ]);
  return `${head}\n${recipients}`;
}

/** Columns padded to their widest cell; the last column is not padded. */
function alignedRows(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map(
      (row) =>
        `${row
          .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
}
