// Bounded SMTP load for outbound-queue tests: numbered messages, each with its own Message-ID and
// recipient, sent over a few concurrent sessions, with what each send came to recorded.
import { afterEhlo, type SmtpClient, sendData, transaction } from './smtp-client.ts';

/**
 * What became of one message: not handed to a session yet, sent with the final reply still
 * unknown (the connection died first), or answered with this reply code.
 */
export type SendStatus = 'unsent' | 'unknown' | number;

export interface LoadOptions {
  readonly port: number;
  /** Connect from this loopback address (a relay network's member). */
  readonly localAddress: string;
  readonly sessions: number;
  readonly sender: string;
  /** The recipient of message `i`. */
  readonly recipient: (i: number) => string;
  /** The Message-ID (without angle brackets) of message `i`. */
  readonly messageId: (i: number) => string;
  /** Stop handing out messages once this says so (a session mid-message finishes it). */
  readonly stop?: () => boolean;
}

export function messageText(messageId: string, from: string, to: string): string {
  return (
    `From: ${from}\r\nTo: ${to}\r\nSubject: ${messageId}\r\nMessage-ID: <${messageId}>\r\n\r\n` +
    `Body of ${messageId}.\r\n`
  );
}

/**
 * Sends the messages whose status is `unsent` (their indexes into `status`) over
 * `options.sessions` sessions, each message its own transaction, updating `status` as replies
 * come. A session whose connection fails marks its message `unknown` and ends; resolves when
 * every session has ended.
 */
export async function sendLoad(status: SendStatus[], options: LoadOptions): Promise<void> {
  const pending = status.flatMap((s, i) => (s === 'unsent' ? [i] : []));
  let next = 0;
  const take = (): number | null =>
    options.stop?.() === true || next >= pending.length ? null : pending[next++]!;
  const session = async (): Promise<void> => {
    let client: SmtpClient;
    try {
      client = await afterEhlo(options.port, { localAddress: options.localAddress });
    } catch {
      return;
    }
    try {
      for (let i = take(); i !== null; i = take()) {
        status[i] = 'unknown';
        const to = options.recipient(i);
        await transaction(client, options.sender, [to]);
        const reply = await sendData(client, messageText(options.messageId(i), options.sender, to));
        status[i] = reply.code;
      }
      await client.command('QUIT');
    } catch {
      // The gateway went away (or answered MAIL/RCPT unexpectedly): the message is `unknown`.
    } finally {
      client.destroy();
    }
  };
  await Promise.all(Array.from({ length: options.sessions }, () => session()));
}

/** Indexes of the messages that got a 250. */
export function acceptedIndexes(status: readonly SendStatus[]): number[] {
  return status.flatMap((s, i) => (s === 250 ? [i] : []));
}
