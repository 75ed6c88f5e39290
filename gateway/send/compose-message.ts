// Builds the message a send request describes with nodemailer's MailComposer (MIME, encodings,
// RFC 2047 words, attachments): never MIME written by hand. Bcc is not given to it, so it never
// appears in the message.
import MailComposer from 'nodemailer/lib/mail-composer';
import type { ComposedParts, Mailbox } from './send-request.ts';

export interface ComposeInput {
  readonly from: Mailbox;
  readonly parts: ComposedParts;
  /** `<…@hostname>`. */
  readonly messageId: string;
  readonly date: Date;
}

/** The message bytes, CRLF line ends. */
export function composeMessage({ from, parts, messageId, date }: ComposeInput): Promise<Buffer> {
  const composer = new MailComposer({
    from,
    ...(parts.to.length > 0 ? { to: [...parts.to] } : {}),
    ...(parts.cc.length > 0 ? { cc: [...parts.cc] } : {}),
    ...(parts.replyTo.length > 0 ? { replyTo: [...parts.replyTo] } : {}),
    subject: parts.subject,
    ...(parts.text === undefined ? {} : { text: parts.text }),
    ...(parts.html === undefined ? {} : { html: parts.html }),
    attachments: parts.attachments.map((attachment) => ({
      filename: attachment.filename,
      content: attachment.content,
      contentDisposition: attachment.disposition,
      ...(attachment.contentType === undefined ? {} : { contentType: attachment.contentType }),
      ...(attachment.contentId === undefined ? {} : { cid: attachment.contentId }),
    })),
    headers: parts.headers.map(([key, value]) => ({ key, value })),
    messageId,
    date,
  });
  return new Promise((resolve, reject) => {
    composer.compile().build((error, message) => (error ? reject(error) : resolve(message)));
  });
}
