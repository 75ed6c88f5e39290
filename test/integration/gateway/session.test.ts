// The command phase over a real socket: greeting, EHLO, every reply class the core can send, bad bytes.
import { afterEach, describe, expect, it } from 'vitest';
import {
  afterEhlo,
  destroyAllClients,
  greeted,
  inTransaction,
  SmtpClient,
  sendData,
  transaction,
} from '../../helpers/smtp-client.ts';
import { startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
});

const RECEIVED_DATE = String.raw`\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d \+0000`;

describe('greeting and EHLO', () => {
  it('greets with 220 and the configured hostname', async () => {
    const gw = await startGateway();
    const client = await SmtpClient.connect(gw.port);
    expect((await client.readReply()).raw).toBe('220 mx.test ESMTP mxhook\r\n');
    expect(gw.callsOf('connect')).toHaveLength(1);
    expect(gw.callsOf('connect')[0]!.session.client.address).toBe('127.0.0.1');
  });

  it('answers EHLO with the extensions it implements, without enhanced codes', async () => {
    const gw = await startGateway({ maxMessageBytes: 1234 });
    const client = await greeted(gw.port);
    const reply = await client.command('EHLO client.test');
    expect(reply.raw).toBe(
      [
        '250-mx.test greets client.test',
        '250-PIPELINING',
        '250-SIZE 1234',
        '250-8BITMIME',
        '250-SMTPUTF8',
        '250-ENHANCEDSTATUSCODES',
        '250-CHUNKING',
        '250 HELP',
        '',
      ].join('\r\n'),
    );
    expect(gw.callsOf('helo')[0]!.helo).toEqual({ hostname: 'client.test', esmtp: true });
  });

  it('keeps its replies US-ASCII when the EHLO name is UTF-8 (RFC 5321 §4.2)', async () => {
    const gw = await startGateway();
    const client = await greeted(gw.port);
    await client.send('EHLO bücher.test\r\n');
    expect((await client.readReply()).lines[0]).toBe('mx.test greets b?cher.test');
    expect(gw.callsOf('helo')[0]!.helo.hostname).toBe('bücher.test');
  });

  it('advertises STARTTLS only when a certificate is configured', async () => {
    const gw = await startGateway({ tls: true });
    const client = await greeted(gw.port);
    expect((await client.command('EHLO client.test')).lines).toContain('STARTTLS');
  });

  it('answers HELO with one line and records plain SMTP in the Received header', async () => {
    const gw = await startGateway();
    const client = await greeted(gw.port);
    expect((await client.command('HELO old.client.test')).raw).toBe(
      '250 mx.test greets old.client.test\r\n',
    );
    await transaction(client, 'a@client.test', ['b@mx.test']);
    expect((await sendData(client, 'Subject: x\r\n\r\nhi\r\n')).code).toBe(250);
    expect(gw.messages[0]!.received).toMatch(/^Received: from old\.client\.test .*with SMTP id /s);
  });

  it('treats verbs as case-insensitive (RFC 5321 §2.4)', async () => {
    const gw = await startGateway();
    const client = await greeted(gw.port);
    expect((await client.command('eHlO client.test')).code).toBe(250);
    expect((await client.command('mail from:<a@client.test>')).raw).toBe('250 2.1.0 Sender OK\r\n');
    expect((await client.command('Rcpt To:<b@mx.test>')).raw).toBe('250 2.1.5 Recipient OK\r\n');
    expect((await client.command('data')).code).toBe(354);
    await client.send('Subject: case\r\n\r\nbody\r\n.\r\n');
    expect((await client.readReply()).raw).toBe('250 2.0.0 Message accepted\r\n');
    expect((await client.command('qUiT')).raw).toBe('221 2.0.0 mx.test closing connection\r\n');
    await client.expectClosed();
    expect(gw.messages[0]!.call.envelope).toEqual({
      mailFrom: { address: 'a@client.test', params: {} },
      rcptTo: [{ address: 'b@mx.test', params: {} }],
    });
  });
});

describe('a transaction', () => {
  it('hands the data hook the exact bytes, unstuffed, with its Received header first', async () => {
    const gw = await startGateway();
    const client = await inTransaction(gw.port, { from: 'a@client.test', to: ['b@mx.test'] });
    const message = 'Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\nlast line\r\n';
    expect((await sendData(client, message)).raw).toBe('250 2.0.0 Message accepted\r\n');
    const [received] = gw.messages;
    expect(received!.body.toString('latin1')).toBe(message);
    expect(received!.received).toMatch(
      new RegExp(
        String.raw`^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby mx\.test \(mxhook\) with ESMTP id ${received!.call.message.queueId.replace('.', '\\.')}\r\n\tfor <b@mx\.test>; ${RECEIVED_DATE}\r\n$`,
      ),
    );
    expect(received!.call.message.sizeBytes).toBe(received!.raw.length);
    expect(received!.call.session.helo).toBe('client.test');
  });

  it('runs several transactions in one session, each with its own queue id', async () => {
    const gw = await startGateway();
    const client = await afterEhlo(gw.port);
    for (let i = 1; i <= 3; i++) {
      await transaction(client, `a${i}@client.test`, [`b${i}@mx.test`]);
      expect((await sendData(client, `Subject: ${i}\r\n\r\nmessage ${i}\r\n`)).code).toBe(250);
    }
    const ids = gw.messages.map((m) => m.call.message.queueId);
    expect(ids.map((id) => id.split('.')[1])).toEqual(['1', '2', '3']);
    expect(new Set(ids.map((id) => id.split('.')[0])).size).toBe(1);
    expect(gw.messages.map((m) => m.call.envelope.mailFrom?.address)).toEqual([
      'a1@client.test',
      'a2@client.test',
      'a3@client.test',
    ]);
  });

  it('passes MAIL and RCPT parameters to the hooks', async () => {
    const gw = await startGateway();
    const client = await afterEhlo(gw.port);
    expect((await client.command('MAIL FROM:<a@client.test> SIZE=100 BODY=8BITMIME')).code).toBe(
      250,
    );
    expect((await client.command('RCPT TO:<b@mx.test> NOTIFY=FAILURE,DELAY')).raw).toBe(
      '555 5.5.4 Unsupported parameter NOTIFY\r\n',
    );
    expect((await client.command('RCPT TO:<b@mx.test>')).code).toBe(250);
    expect(gw.callsOf('mail')[0]!.mailFrom).toEqual({
      address: 'a@client.test',
      params: { SIZE: '100', BODY: '8BITMIME' },
    });
    expect(gw.callsOf('rcpt')[0]!.rcpt).toEqual({
      address: 'b@mx.test',
      params: {},
    });
  });

  it('forgets the transaction on RSET and on a new EHLO (RFC 5321 §4.1.1.5, §4.1.4)', async () => {
    const gw = await startGateway();
    const client = await inTransaction(gw.port);
    expect((await client.command('RSET')).raw).toBe('250 2.0.0 Reset OK\r\n');
    expect((await client.command('RCPT TO:<c@mx.test>')).raw).toBe(
      '503 5.5.1 Need MAIL command first\r\n',
    );
    await transaction(client, 'a@client.test', ['b@mx.test']);
    expect((await client.command('EHLO again.test')).code).toBe(250);
    expect((await client.command('RCPT TO:<c@mx.test>')).raw).toBe(
      '503 5.5.1 Need MAIL command first\r\n',
    );
  });
});

type Start = 'connected' | 'greeted' | 'helo' | 'mail';

/** Every reply the core makes in the command phase that a single command can reach. */
const REPLIES: readonly [string, Start, string, string][] = [
  ['500 to an unknown verb', 'greeted', 'FROB x', '500 5.5.2 Command not recognized'],
  [
    '501 to EHLO without a name',
    'connected',
    'EHLO',
    '501 5.5.4 Syntax error: EHLO needs a domain name',
  ],
  [
    '501 to EHLO with something that is not a host name',
    'connected',
    'EHLO not/a/host',
    '501 5.5.4 Syntax error: EHLO argument is not a domain name or address literal',
  ],
  [
    '501 to a sender without a domain',
    'greeted',
    'MAIL FROM:<nobody>',
    '501 5.1.7 Bad sender address syntax: missing @domain',
  ],
  [
    '501 to MAIL without FROM:',
    'greeted',
    'MAIL <a@client.test>',
    '501 5.5.4 Syntax error: expected FROM:<address>',
  ],
  [
    '501 to a recipient without a domain',
    'mail',
    'RCPT TO:<nobody>',
    '501 5.1.3 Bad recipient address syntax: missing @domain',
  ],
  [
    '501 to RSET with arguments',
    'greeted',
    'RSET now',
    '501 5.5.4 Syntax error: RSET takes no arguments',
  ],
  [
    '501 to DATA with arguments',
    'mail',
    'DATA now',
    '501 5.5.4 Syntax error: DATA takes no arguments',
  ],
  [
    '501 to VRFY without an argument',
    'greeted',
    'VRFY',
    '501 5.5.4 Syntax error: VRFY needs an argument',
  ],
  [
    '501 to a duplicated parameter',
    'greeted',
    'MAIL FROM:<a@client.test> SIZE=1 SIZE=2',
    '501 5.5.4 Syntax error: duplicate parameter SIZE',
  ],
  ['502 to EXPN', 'greeted', 'EXPN staff', '502 5.5.1 EXPN not available'],
  [
    '502 to AUTH, which is not advertised',
    'greeted',
    'AUTH PLAIN AGFAYg==',
    '502 5.5.1 AUTH not implemented',
  ],
  [
    '502 to STARTTLS without a certificate',
    'greeted',
    'STARTTLS',
    '502 5.5.1 STARTTLS not implemented',
  ],
  [
    '503 to MAIL before EHLO',
    'connected',
    'MAIL FROM:<a@client.test>',
    '503 5.5.1 Send HELO/EHLO first',
  ],
  ['503 to RCPT before EHLO', 'connected', 'RCPT TO:<a@mx.test>', '503 5.5.1 Send HELO/EHLO first'],
  ['503 to DATA before EHLO', 'connected', 'DATA', '503 5.5.1 Send HELO/EHLO first'],
  [
    '503 to RCPT before MAIL',
    'greeted',
    'RCPT TO:<a@mx.test>',
    '503 5.5.1 Need MAIL command first',
  ],
  ['503 to DATA before MAIL', 'greeted', 'DATA', '503 5.5.1 Need MAIL command first'],
  [
    '503 to a second MAIL',
    'mail',
    'MAIL FROM:<b@client.test>',
    '503 5.5.1 Sender already specified',
  ],
  [
    '554 to DATA without any recipient (RFC 2920 §3.1)',
    'mail',
    'DATA',
    '554 5.5.1 No valid recipients',
  ],
  [
    '552 to a declared SIZE over the limit (RFC 1870 §6)',
    'greeted',
    'MAIL FROM:<a@client.test> SIZE=99999999999',
    '552 5.3.4 Message size exceeds fixed maximum message size',
  ],
  [
    '553 to a non-ASCII sender without SMTPUTF8 (RFC 6531 §3.7.4.1)',
    'greeted',
    'MAIL FROM:<jörg@client.test>',
    '553 5.6.7 Non-ASCII address needs SMTPUTF8',
  ],
  [
    '555 to an unknown MAIL parameter',
    'greeted',
    'MAIL FROM:<a@client.test> FROB=1',
    '555 5.5.4 Unsupported parameter FROB',
  ],
  [
    '555 to BODY=BINARYMIME, which is not advertised',
    'greeted',
    'MAIL FROM:<a@client.test> BODY=BINARYMIME',
    '555 5.5.4 Unsupported parameter BODY=BINARYMIME',
  ],
  [
    '555 to an unknown RCPT parameter',
    'mail',
    'RCPT TO:<b@mx.test> FROB=1',
    '555 5.5.4 Unsupported parameter FROB',
  ],
  [
    '555 to parameters after HELO (RFC 5321 §4.1.1.11)',
    'helo',
    'MAIL FROM:<a@client.test> SIZE=10',
    '555 5.5.4 Parameters need EHLO',
  ],
  [
    '252 to VRFY (RFC 5321 §3.5.3)',
    'greeted',
    'VRFY someone',
    '252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery',
  ],
  ['250 to NOOP', 'connected', 'NOOP', '250 2.0.0 OK'],
  [
    '214 to HELP, over two lines',
    'connected',
    'HELP',
    '214-2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS\r\n214 2.0.0 See https://www.rfc-editor.org/rfc/rfc5321',
  ],
];

describe('replies', () => {
  it.each(REPLIES)('sends %s', async (_name, start, line, expected) => {
    const gw = await startGateway();
    const client = await greeted(gw.port);
    if (start !== 'connected')
      await client.command(start === 'helo' ? 'HELO client.test' : 'EHLO client.test');
    if (start === 'mail') await client.command('MAIL FROM:<a@client.test>');
    expect((await client.command(line)).raw).toBe(`${expected}\r\n`);
    // Every one of these leaves the session usable.
    expect((await client.command('NOOP')).raw).toBe('250 2.0.0 OK\r\n');
  });

  it('answers QUIT with 221 and closes', async () => {
    const gw = await startGateway();
    const client = await greeted(gw.port);
    expect((await client.command('QUIT')).raw).toBe('221 2.0.0 mx.test closing connection\r\n');
    await client.expectClosed();
  });

  it('sends 554 to DATA when every recipient was refused', async () => {
    const gw = await startGateway({ script: { rcpt: () => ({ action: 'reject' }) } });
    const client = await afterEhlo(gw.port);
    await client.command('MAIL FROM:<a@client.test>');
    expect((await client.command('RCPT TO:<nobody@mx.test>')).raw).toBe(
      '550 5.1.1 No such user\r\n',
    );
    expect((await client.command('DATA')).raw).toBe('554 5.5.1 No valid recipients\r\n');
    expect(gw.callsOf('data')).toHaveLength(0);
  });

  it('reports the recipients accepted so far to the rcpt hook', async () => {
    const gw = await startGateway({
      script: {
        rcpt: ({ rcpt }) => (rcpt.address.startsWith('no') ? { action: 'reject' } : undefined),
      },
    });
    const client = await afterEhlo(gw.port);
    await client.command('MAIL FROM:<a@client.test>');
    await client.command('RCPT TO:<one@mx.test>');
    await client.command('RCPT TO:<nobody@mx.test>');
    await client.command('RCPT TO:<two@mx.test>');
    const envelopes = gw.callsOf('rcpt').map((c) => c.envelope.rcptTo.map((r) => r.address));
    expect(envelopes).toEqual([[], ['one@mx.test'], ['one@mx.test']]);
    expect((await sendData(client, 'Subject: x\r\n\r\nx\r\n')).code).toBe(250);
    expect(gw.messages[0]!.call.envelope.rcptTo.map((r) => r.address)).toEqual([
      'one@mx.test',
      'two@mx.test',
    ]);
  });
});

describe('bytes that are not a command', () => {
  it('refuses a command with a NUL byte with 500 5.5.2 and stays usable', async () => {
    const gw = await startGateway();
    const client = await afterEhlo(gw.port);
    await client.send(Buffer.from('NOOP\x00hidden\r\n', 'latin1'));
    expect((await client.readReply()).raw).toBe('500 5.5.2 Command contains a NUL byte\r\n');
    await client.send(Buffer.from('MAIL FROM:<a@client.test>\x00\r\n', 'latin1'));
    expect((await client.readReply()).raw).toBe('500 5.5.2 Command contains a NUL byte\r\n');
    expect(gw.callsOf('mail')).toHaveLength(0);
    await transaction(client, 'a@client.test', ['b@mx.test']);
    expect((await sendData(client, 'Subject: after NUL\r\n\r\nok\r\n')).code).toBe(250);
  });

  it('refuses invalid UTF-8 with 500 5.5.2 and stays usable', async () => {
    const gw = await startGateway();
    const client = await afterEhlo(gw.port);
    await client.send(Buffer.from([0xff, 0xfe, 0x0d, 0x0a]));
    expect((await client.readReply()).raw).toBe('500 5.5.2 Command is not valid UTF-8\r\n');
    await client.send(
      Buffer.concat([
        Buffer.from('MAIL FROM:<a'),
        Buffer.from([0xc3]),
        Buffer.from('@x.test>\r\n'),
      ]),
    );
    expect((await client.readReply()).raw).toBe('500 5.5.2 Command is not valid UTF-8\r\n');
    expect((await client.command('NOOP')).raw).toBe('250 2.0.0 OK\r\n');
  });

  it('accepts a command line ended by a bare LF, as Postfix does', async () => {
    const gw = await startGateway();
    const client = await greeted(gw.port);
    await client.send('NOOP\n');
    expect((await client.readReply()).raw).toBe('250 2.0.0 OK\r\n');
  });

  it('refuses an HTTP request with 554 and closes', async () => {
    const gw = await startGateway();
    const client = await greeted(gw.port);
    await client.send('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(await client.readUntilClosed()).toBe(
      '554 5.7.0 This is an SMTP server; HTTP requests are refused\r\n',
    );
  });
});
