// Sending with nodemailer's SMTP transport, and reading the Worker's JSON API.
import nodemailer, { type SendMailOptions } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';

/** Sends one message to the gateway on `port`; resolves with nodemailer's info, rejects with its error. */
export async function sendMail(
  port: number,
  message: SendMailOptions,
): Promise<SMTPTransport.SentMessageInfo> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    ignoreTLS: true,
    name: 'nodemailer.test',
    connectionTimeout: 20_000,
    greetingTimeout: 20_000,
    socketTimeout: 30_000,
  });
  try {
    return await transport.sendMail({ from: 'Alice <alice@sender.test>', ...message });
  } finally {
    transport.close();
  }
}

/** What nodemailer's rejection carries about the SMTP reply. */
export interface SmtpFailure {
  readonly code?: string;
  readonly responseCode?: number;
  readonly response?: string;
}

/** The error a send rejects with. */
export async function sendFailure(port: number, message: SendMailOptions): Promise<SmtpFailure> {
  const outcome = await sendMail(port, message).then(
    (info) => ({ sent: info }),
    (error: unknown) => ({ error: error as SmtpFailure }),
  );
  if ('sent' in outcome) throw new Error(`expected a refusal, got ${outcome.sent.response}`);
  return outcome.error;
}

/** GET a JSON document from the Worker. */
export async function getJson<T>(base: string, path: string): Promise<T> {
  const response = await fetch(new URL(path, base));
  if (!response.ok)
    throw new Error(`GET ${path}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}
