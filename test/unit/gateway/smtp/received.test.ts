// Tests for the Received trace header (RFC 5321 §4.4, RFC 3848 protocol keywords, RFC 6531 §3.7.3).
import { describe, expect, it } from 'vitest';
import {
  type ReceivedFields,
  receivedHeader,
  rfc5322Date,
  withProtocol,
} from '../../../../gateway/smtp/received.ts';
import { INFO, NOW, TLS } from './driver.ts';

const fields = (overrides: Partial<ReceivedFields> = {}): ReceivedFields => ({
  session: { ...INFO, helo: 'client.example' },
  hostname: 'mx.example.net',
  esmtp: true,
  smtputf8: false,
  queueId: 'S1.1',
  recipients: ['rcpt@example.com'],
  now: NOW,
  ...overrides,
});

const header = (overrides: Partial<ReceivedFields> = {}): string =>
  receivedHeader(fields(overrides)).toString('utf8');

describe('receivedHeader', () => {
  it('writes ESMTP with one recipient in a for clause', () => {
    expect(header()).toBe(
      'Received: from client.example ([192.0.2.7])\r\n' +
        '\tby mx.example.net (mxhook) with ESMTP id S1.1\r\n' +
        '\tfor <rcpt@example.com>; Tue, 2 Jan 2024 03:04:05 +0000\r\n',
    );
  });

  it('writes ESMTPS and the TLS version and cipher after STARTTLS', () => {
    expect(header({ session: { ...INFO, helo: 'client.example', tls: TLS } })).toBe(
      'Received: from client.example ([192.0.2.7])\r\n' +
        '\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n' +
        '\tby mx.example.net (mxhook) with ESMTPS id S1.1\r\n' +
        '\tfor <rcpt@example.com>; Tue, 2 Jan 2024 03:04:05 +0000\r\n',
    );
  });

  it('writes an IPv6 client as an IPv6 address literal (RFC 5321 §4.1.3)', () => {
    const session = {
      ...INFO,
      helo: 'client.example',
      client: { address: '2001:db8::7', port: 4321 },
    };
    expect(receivedHeader({ ...fields(), session }).toString()).toBe(
      'Received: from client.example ([IPv6:2001:db8::7])\r\n' +
        '\tby mx.example.net (mxhook) with ESMTP id S1.1\r\n' +
        '\tfor <rcpt@example.com>; Tue, 2 Jan 2024 03:04:05 +0000\r\n',
    );
  });

  it('writes SMTP after HELO, even with TLS', () => {
    expect(header({ esmtp: false })).toBe(
      'Received: from client.example ([192.0.2.7])\r\n' +
        '\tby mx.example.net (mxhook) with SMTP id S1.1\r\n' +
        '\tfor <rcpt@example.com>; Tue, 2 Jan 2024 03:04:05 +0000\r\n',
    );
    expect(withProtocol({ session: { ...INFO, tls: TLS }, esmtp: false, smtputf8: false })).toBe(
      'SMTP',
    );
  });

  it('writes UTF8SMTP for an SMTPUTF8 transaction, UTF8SMTPS with TLS', () => {
    expect(header({ smtputf8: true, recipients: ['jörg@bücher.example'] })).toBe(
      'Received: from client.example ([192.0.2.7])\r\n' +
        '\tby mx.example.net (mxhook) with UTF8SMTP id S1.1\r\n' +
        '\tfor <jörg@bücher.example>; Tue, 2 Jan 2024 03:04:05 +0000\r\n',
    );
    expect(withProtocol({ session: { ...INFO, tls: TLS }, esmtp: true, smtputf8: true })).toBe(
      'UTF8SMTPS',
    );
  });

  it('adds A for an authenticated session (RFC 3848)', () => {
    const auth = { username: 'u', mechanism: 'PLAIN' };
    expect(withProtocol({ session: { ...INFO, auth }, esmtp: true, smtputf8: false })).toBe(
      'ESMTPA',
    );
    expect(
      withProtocol({ session: { ...INFO, auth, tls: TLS }, esmtp: true, smtputf8: false }),
    ).toBe('ESMTPSA');
  });

  it('names no recipient when there are several, so none is disclosed to the others', () => {
    expect(header({ recipients: ['a@example.com', 'b@example.com'] })).toBe(
      'Received: from client.example ([192.0.2.7])\r\n' +
        '\tby mx.example.net (mxhook) with ESMTP id S1.1; Tue, 2 Jan 2024 03:04:05 +0000\r\n',
    );
  });

  it('includes the reverse DNS name in the comment and writes unknown without HELO', () => {
    expect(
      header({ session: { ...INFO, client: { ...INFO.client, hostname: 'rdns.example' } } }),
    ).toBe(
      'Received: from unknown (rdns.example [192.0.2.7])\r\n' +
        '\tby mx.example.net (mxhook) with ESMTP id S1.1\r\n' +
        '\tfor <rcpt@example.com>; Tue, 2 Jan 2024 03:04:05 +0000\r\n',
    );
  });

  it('strips characters that could end the comment or start a new header line', () => {
    const client = { ...INFO.client, hostname: 'evil)\r\nX-Injected: (1\\' };
    const tls = { ...TLS, cipher: 'C(1)\r\n' };
    expect(header({ session: { ...INFO, client, helo: 'client.example', tls } })).toBe(
      'Received: from client.example (evilX-Injected: 1 [192.0.2.7])\r\n' +
        '\t(using TLSv1.3 with cipher C1)\r\n' +
        '\tby mx.example.net (mxhook) with ESMTPS id S1.1\r\n' +
        '\tfor <rcpt@example.com>; Tue, 2 Jan 2024 03:04:05 +0000\r\n',
    );
  });
});

describe('rfc5322Date', () => {
  it('writes the date in UTC with a +0000 zone and a day number without padding', () => {
    expect(rfc5322Date(NOW)).toBe('Tue, 2 Jan 2024 03:04:05 +0000');
    expect(rfc5322Date(new Date(Date.UTC(1999, 11, 31, 23, 59, 59)))).toBe(
      'Fri, 31 Dec 1999 23:59:59 +0000',
    );
  });
});
