// One whole SMTP transaction as a client under faults sees it: the final reply, or that the connection died.
import { dotStuff } from '../dot-stuff.ts';
import { SmtpClient, type SmtpReply } from '../smtp-client.ts';
import type { FaultMode } from './fault-function.ts';

export interface Outcome {
  /** The message's Message-ID (without angle brackets). */
  readonly id: string;
  /** The reply that ended the attempt, or null when the connection closed or broke without one. */
  readonly code: number | null;
  /** Where the attempt ended: the command whose reply it was, or where the client gave up. */
  readonly step: 'connect' | 'EHLO' | 'MAIL' | 'RCPT' | 'DATA' | 'message' | 'abandoned';
  readonly reply: string;
}

export interface SendOptions {
  /** Makes the function answer this message so (its `X-Fault` header). */
  readonly fault?: FaultMode;
  /** Body size, roughly; default a few hundred bytes. */
  readonly bodyBytes?: number;
  /**
   * Give up halfway: `mid-data` destroys the connection after half the message, `after-message`
   * once the message is written (the data call running), each after `abandonAfter` resolves.
   */
  readonly abandon?: 'mid-data' | 'after-message';
  readonly abandonAfter?: () => Promise<void>;
}

/** Generous: replies can wait on a slow function under load. */
const REPLY_TIMEOUT_MS = 20_000;

/** A message whose Message-ID and Subject name it, so the function's records can be matched. */
export function messageFor(id: string, options: Pick<SendOptions, 'fault' | 'bodyBytes'>): Buffer {
  const line = `${'0123456789'.repeat(7)}abcdef\r\n`;
  const lines = Math.max(1, Math.ceil((options.bodyBytes ?? 300) / line.length));
  return Buffer.from(
    `Message-ID: <${id}>\r\nSubject: ${id}\r\nFrom: <sender@client.test>\r\nTo: <rcpt@mx.test>\r\n` +
      (options.fault ? `X-Fault: ${options.fault}\r\n` : '') +
      `\r\n${line.repeat(lines)}`,
  );
}

/** Sends one message on a new connection to 127.0.0.1:`port` and reports how it ended. */
export async function sendMessage(
  port: number,
  id: string,
  options: SendOptions = {},
): Promise<Outcome> {
  let client: SmtpClient;
  try {
    client = await SmtpClient.connect(port);
  } catch (error) {
    return { id, code: null, step: 'connect', reply: String(error) };
  }
  let step: Outcome['step'] = 'connect';
  const expect = async (code: number): Promise<Outcome | null> => {
    let reply: SmtpReply;
    try {
      reply = await client.readReply(REPLY_TIMEOUT_MS);
    } catch (error) {
      return { id, code: null, step, reply: (error as Error).message };
    }
    return reply.code === code ? null : { id, code: reply.code, step, reply: reply.raw };
  };
  const sendCommand = async (
    name: Outcome['step'],
    line: string,
    code: number,
  ): Promise<Outcome | null> => {
    step = name;
    await client.send(`${line}\r\n`).catch(() => {});
    return expect(code);
  };
  try {
    const failed =
      (await expect(220)) ??
      (await sendCommand('EHLO', `EHLO ${id.replace(/[^a-z0-9.-]/gi, '-')}.client.test`, 250)) ??
      (await sendCommand('MAIL', 'MAIL FROM:<sender@client.test>', 250)) ??
      (await sendCommand('RCPT', 'RCPT TO:<rcpt@mx.test>', 250)) ??
      (await sendCommand('DATA', 'DATA', 354));
    if (failed !== null) return failed;
    const wire = dotStuff(messageFor(id, options)); // with its terminator
    step = 'message';
    if (options.abandon === 'mid-data') {
      await client.send(wire.subarray(0, wire.length >> 1)).catch(() => {});
      await options.abandonAfter?.();
      client.destroy();
      return { id, code: null, step: 'abandoned', reply: '' };
    }
    await client.send(wire).catch(() => {});
    if (options.abandon === 'after-message') {
      await options.abandonAfter?.();
      client.destroy();
      return { id, code: null, step: 'abandoned', reply: '' };
    }
    const final = await expect(250);
    return final ?? { id, code: 250, step, reply: '250' };
  } finally {
    client.destroy();
  }
}
