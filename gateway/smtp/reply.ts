// An SMTP reply as a value, and its wire form (RFC 5321 §4.2, enhanced codes RFC 2034 §3).

export interface Reply {
  readonly code: number;
  /** RFC 3463 enhanced status code, or null where RFC 2034 leaves it out (greeting, EHLO). */
  readonly enhanced: string | null;
  readonly lines: readonly string[];
  /** The gateway closes the connection after sending this reply. */
  readonly close?: boolean;
}

export function reply(code: number, enhanced: string | null, ...lines: string[]): Reply {
  return { code, enhanced, lines: lines.length > 0 ? lines : [''] };
}

export function closing(r: Reply): Reply {
  return { ...r, close: true };
}

/**
 * Multi-line replies use `code-text` on every line but the last (RFC 5321 §4.2.1); RFC 2034
 * puts the enhanced code at the start of the text of every line.
 */
export function formatReply(r: Reply): string {
  const prefix = r.enhanced === null ? '' : `${r.enhanced} `;
  const last = r.lines.length - 1;
  let out = '';
  for (let i = 0; i <= last; i++) {
    // RFC 5321 §4.2: reply text is HT and printable US-ASCII; an echoed UTF-8 EHLO name is not.
    const text = `${prefix}${r.lines[i]}`.replace(/[^\t\x20-\x7e]/g, '?').trimEnd();
    out += `${r.code}${i === last ? ' ' : '-'}${text}\r\n`;
  }
  return out;
}
