// Real SMTP clients against the gateway: nodemailer's SMTP transport and Python's smtplib.
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type TestCertificate, testCertificate } from '../../helpers/certs.ts';
import { hasPython, sendWithSmtplib } from '../../helpers/python-smtp.ts';
import { destroyAllClients } from '../../helpers/smtp-client.ts';
import { startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';

let certificate: TestCertificate;
beforeAll(async () => {
  certificate = await testCertificate();
});

const transports: Transporter[] = [];

afterEach(async () => {
  for (const transport of transports.splice(0)) transport.close();
  destroyAllClients();
  await stopAllGateways();
});

function transport(port: number, options: Partial<SMTPTransport.Options> = {}) {
  const created = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    name: 'nodemailer.test',
    ignoreTLS: true,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 15_000,
    ...options,
  });
  transports.push(created);
  return created;
}

const RAW =
  'From: <sender@client.test>\r\nTo: <rcpt@mx.test>\r\nSubject: exact bytes\r\n\r\n' +
  'first line\r\n.a line that starts with a dot\r\n..two dots\r\n\tlast line\r\n';

describe('nodemailer', () => {
  it('sends a message that reaches the data hook byte for byte, Received header first', async () => {
    const gw = await startGateway();
    const info = await transport(gw.port).sendMail({
      envelope: { from: 'sender@client.test', to: ['rcpt@mx.test'] },
      raw: RAW,
    });
    expect(info.accepted).toEqual(['rcpt@mx.test']);
    expect(info.response).toBe('250 2.0.0 Message accepted');
    const [message] = gw.messages;
    expect(message!.body.toString()).toBe(RAW);
    expect(message!.received).toMatch(
      /^Received: from nodemailer\.test \(\[127\.0\.0\.1\]\)\r\n\tby mx\.test \(mxhook\) with ESMTP id \S+\r\n\tfor <rcpt@mx\.test>; .+\r\n$/,
    );
    expect(message!.raw.toString()).toBe(`${message!.received}${RAW}`);
  });

  it('sends a composed message with a text body and an attachment', async () => {
    const gw = await startGateway();
    await transport(gw.port).sendMail({
      from: 'sender@client.test',
      to: ['a@mx.test', 'b@mx.test'],
      subject: 'composed',
      text: 'hello from nodemailer',
      attachments: [{ filename: 'data.bin', content: Buffer.from([0, 1, 2, 255]) }],
    });
    const [message] = gw.messages;
    expect(message!.call.envelope.rcptTo.map((r) => r.address)).toEqual(['a@mx.test', 'b@mx.test']);
    const body = message!.body.toString();
    expect(body).toMatch(/^Subject: composed\r\n/m);
    expect(body).toContain('hello from nodemailer');
    expect(body).toContain('filename=data.bin');
    // With two recipients the Received header names neither.
    expect(message!.received).not.toContain(' for <');
  });

  it('upgrades with STARTTLS (requireTLS): TLS 1.3, and ESMTPS in the Received header', async () => {
    const gw = await startGateway({ tls: true });
    await transport(gw.port, {
      ignoreTLS: false,
      requireTLS: true,
      tls: { ca: certificate.cert, servername: 'localhost' },
    }).sendMail({ envelope: { from: 'sender@client.test', to: ['rcpt@mx.test'] }, raw: RAW });
    const [message] = gw.messages;
    expect(message!.call.session.tls).toMatchObject({ version: 'TLSv1.3', sni: 'localhost' });
    expect(message!.received).toMatch(
      /\(using TLSv1\.3 with cipher \S+\)\r\n\tby mx\.test \(mxhook\) with ESMTPS id /,
    );
    expect(message!.body.toString()).toBe(RAW);
  });

  it('also works with tls.rejectUnauthorized false', async () => {
    const gw = await startGateway({ tls: true });
    const info = await transport(gw.port, {
      ignoreTLS: false,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
    }).sendMail({ from: 'sender@client.test', to: 'rcpt@mx.test', subject: 'x', text: 'y' });
    expect(info.accepted).toEqual(['rcpt@mx.test']);
    expect(gw.messages[0]!.call.session.tls?.version).toBe('TLSv1.3');
  });

  it('fails with responseCode 550 when its only recipient is refused at RCPT', async () => {
    const gw = await startGateway({
      script: { rcpt: () => ({ code: 550, enhanced: '5.1.1', message: 'no such user' }) },
    });
    const sending = transport(gw.port).sendMail({
      from: 'sender@client.test',
      to: 'nobody@mx.test',
      subject: 'refused',
      text: 'x',
    });
    await expect(sending).rejects.toMatchObject({
      responseCode: 550,
      rejected: ['nobody@mx.test'],
    });
    expect(gw.messages).toHaveLength(0);
  });

  it('delivers to the accepted recipients and reports the refused one', async () => {
    const gw = await startGateway({
      script: {
        rcpt: ({ rcpt }) => (rcpt.address.startsWith('nobody') ? { action: 'reject' } : undefined),
      },
    });
    const info = await transport(gw.port).sendMail({
      from: 'sender@client.test',
      to: ['one@mx.test', 'nobody@mx.test'],
      subject: 'partly refused',
      text: 'x',
    });
    expect(info.accepted).toEqual(['one@mx.test']);
    expect(info.rejected).toEqual(['nobody@mx.test']);
    expect(gw.messages[0]!.call.envelope.rcptTo.map((r) => r.address)).toEqual(['one@mx.test']);
  });

  it('fails with a 4xx responseCode when the data hook fails', async () => {
    const gw = await startGateway({
      script: {
        data: () => {
          throw new Error('storage down');
        },
      },
    });
    const sending = transport(gw.port).sendMail({
      from: 'sender@client.test',
      to: 'rcpt@mx.test',
      subject: 'x',
      text: 'y',
    });
    await expect(sending).rejects.toMatchObject({ responseCode: 451 });
  });

  it('sends an SMTPUTF8 address and an 8-bit UTF-8 subject unchanged', async () => {
    const gw = await startGateway();
    const raw =
      'From: <jörg@client.test>\r\nTo: <müller@mx.test>\r\nSubject: Grüße aus Köln ✉\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nÄpfel und Bäume\r\n';
    await transport(gw.port).sendMail({
      envelope: { from: 'jörg@client.test', to: ['müller@mx.test'] },
      raw,
    });
    const [message] = gw.messages;
    expect(message!.call.envelope.mailFrom).toMatchObject({
      address: 'jörg@client.test',
      params: { SMTPUTF8: true },
    });
    expect(message!.call.envelope.rcptTo[0]!.address).toBe('müller@mx.test');
    expect(message!.body.equals(Buffer.from(raw, 'utf8'))).toBe(true);
    // RFC 6531 §3.7.3: the protocol is recorded as UTF8SMTP.
    expect(message!.received).toMatch(/ with UTF8SMTP id /);
    expect(message!.received).toContain('for <müller@mx.test>');
  });

  it('sends several messages over one pooled connection', async () => {
    const gw = await startGateway();
    const pooled = nodemailer.createTransport({
      host: '127.0.0.1',
      port: gw.port,
      secure: false,
      ignoreTLS: true,
      pool: true,
      maxConnections: 1,
    });
    transports.push(pooled);
    const infos = await Promise.all(
      Array.from({ length: 10 }, (_, n) =>
        pooled.sendMail({
          from: 'sender@client.test',
          to: `r${n}@mx.test`,
          subject: `${n}`,
          text: `${n}`,
        }),
      ),
    );
    expect(infos.every((info) => info.response === '250 2.0.0 Message accepted')).toBe(true);
    expect(gw.messages).toHaveLength(10);
    expect(gw.callsOf('connect')).toHaveLength(1);
  });
});

describe.skipIf(!hasPython)('Python smtplib', () => {
  it('sends with send_message and sees the extensions the gateway offers', async () => {
    const gw = await startGateway();
    const run = await sendWithSmtplib(gw.port, [
      {
        method: 'send_message',
        from: 'sender@client.test',
        to: ['rcpt@mx.test'],
        subject: 'from python',
        body: 'hello from smtplib\n',
      },
    ]);
    expect(run.results).toEqual([{ ok: true, refused: {} }]);
    expect(run.features).toEqual(
      expect.arrayContaining([
        'pipelining',
        'size',
        '8bitmime',
        'smtputf8',
        'chunking',
        'enhancedstatuscodes',
      ]),
    );
    const [message] = gw.messages;
    expect(message!.call.session.helo).toBe('python.test');
    expect(message!.body.toString()).toMatch(/^Subject: from python\r\n/m);
    expect(message!.body.toString()).toContain('hello from smtplib\r\n');
  });

  it('sends exact bytes with sendmail, dot-stuffed and unstuffed on the way', async () => {
    const gw = await startGateway();
    const data = 'Subject: exact\r\n\r\n.dot first\r\nplain\r\n';
    const run = await sendWithSmtplib(gw.port, [
      { method: 'sendmail', from: 'sender@client.test', to: ['rcpt@mx.test'], data },
    ]);
    expect(run.results).toEqual([{ ok: true, refused: {} }]);
    expect(gw.messages[0]!.body.toString()).toBe(data);
  });

  it('raises SMTPRecipientsRefused when every recipient is refused, and reports partial refusals', async () => {
    const gw = await startGateway({
      script: {
        rcpt: ({ rcpt }) => (rcpt.address.startsWith('nobody') ? { action: 'reject' } : undefined),
      },
    });
    const run = await sendWithSmtplib(gw.port, [
      { method: 'sendmail', from: 'a@client.test', to: ['nobody@mx.test'], data: 'x\r\n' },
      {
        method: 'sendmail',
        from: 'a@client.test',
        to: ['one@mx.test', 'nobody2@mx.test'],
        data: 'y\r\n',
      },
    ]);
    expect(run.results).toEqual([
      {
        ok: false,
        error: 'SMTPRecipientsRefused',
        recipients: { 'nobody@mx.test': [550, '5.1.1 No such user'] },
      },
      { ok: true, refused: { 'nobody2@mx.test': [550, '5.1.1 No such user'] } },
    ]);
    expect(gw.messages.map((m) => m.body.toString())).toEqual(['y\r\n']);
  });

  it('gets SMTPDataError with the 4xx code when the data hook fails', async () => {
    const gw = await startGateway({ script: { data: () => undefined } });
    const run = await sendWithSmtplib(gw.port, [
      { method: 'sendmail', from: 'a@client.test', to: ['b@mx.test'], data: 'x\r\n' },
    ]);
    expect(run.results).toEqual([
      {
        ok: false,
        error: 'SMTPDataError',
        code: 451,
        text: '4.3.0 Temporary failure, please try again later',
      },
    ]);
  });

  it('uses STARTTLS with the generated certificate', async () => {
    const gw = await startGateway({ tls: true });
    const run = await sendWithSmtplib(
      gw.port,
      [
        {
          method: 'sendmail',
          from: 'a@client.test',
          to: ['b@mx.test'],
          data: 'Subject: tls\r\n\r\nx\r\n',
        },
      ],
      { ca: certificate.cert },
    );
    expect(run.results).toEqual([{ ok: true, refused: {} }]);
    expect(run.features).not.toContain('starttls');
    expect(gw.messages[0]!.call.session.tls?.version).toBe('TLSv1.3');
    expect(gw.messages[0]!.received).toMatch(/ with ESMTPS id /);
  });

  it('sends an internationalized address with SMTPUTF8 from send_message', async () => {
    const gw = await startGateway();
    const run = await sendWithSmtplib(gw.port, [
      {
        method: 'send_message',
        from: 'jörg@client.test',
        to: ['müller@mx.test'],
        subject: 'Grüße',
        body: 'Äpfel\n',
      },
    ]);
    expect(run.results).toEqual([{ ok: true, refused: {} }]);
    const [message] = gw.messages;
    expect(message!.call.envelope.mailFrom?.params).toMatchObject({ SMTPUTF8: true });
    expect(message!.call.envelope.rcptTo[0]!.address).toBe('müller@mx.test');
    expect(message!.body.toString('utf8')).toContain('müller@mx.test');
  });
});
