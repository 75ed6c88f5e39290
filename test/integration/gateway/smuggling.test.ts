// SMTP smuggling (CVE-2023-51764 and relatives): only <CRLF>.<CRLF> ends DATA, over a real socket.
import { afterEach, describe, expect, it } from 'vitest';
import {
  afterEhlo,
  destroyAllClients,
  type SmtpClient,
  sendData,
  transaction,
} from '../../helpers/smtp-client.ts';
import { startGateway, stopAllGateways, type TestGateway } from '../../helpers/start-gateway.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
});

const HEAD = 'Subject: smuggling\r\n\r\nhello';
const SMUGGLED =
  'MAIL FROM:<smuggled@x>\r\nRCPT TO:<victim@y>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil';

/**
 * [name, the fake end marker, whether it has a bare LF, what the message holds where it stood].
 * Under `normalize` a bare LF gains a CR but never starts a line; a dot after a real CRLF is
 * unstuffed (RFC 5321 §4.5.2); a bare CR is content.
 */
const SEQUENCES: readonly [string, string, boolean, string][] = [
  ['<LF>.<LF>', '\n.\n', true, '\r\n.\r\n'],
  ['<LF>.<CRLF>', '\n.\r\n', true, '\r\n.\r\n'],
  ['<CRLF>.<LF>', '\r\n.\n', true, '\r\n\r\n'],
  ['<CR>.<CRLF>', '\r.\r\n', false, '\r.\r\n'],
  ['<CR>.<LF>', '\r.\n', true, '\r.\r\n'],
  ['<CRLF>.<CR>', '\r\n.\r', false, '\r\n\r'],
];

async function smuggle(
  gw: TestGateway,
  client: SmtpClient,
  fakeEnd: string,
  oneBytePerWrite = false,
): Promise<void> {
  await transaction(client, 'sender@client.test', ['rcpt@mx.test']);
  expect((await client.command('DATA')).code).toBe(354);
  const wire = Buffer.from(`${HEAD}${fakeEnd}${SMUGGLED}\r\n.\r\nQUIT\r\n`, 'latin1');
  if (oneBytePerWrite) {
    client.socket.setNoDelay(true);
    for (const byte of wire) await client.send(Buffer.from([byte]));
  } else {
    await client.send(wire);
  }
  expect(gw.callsOf('mail')).toHaveLength(1);
}

describe('SMTP smuggling', () => {
  it.each(SEQUENCES)(
    'treats %s inside DATA as content: one message, no second transaction',
    async (_name, fakeEnd, _bareLf, decoded) => {
      const gw = await startGateway();
      const client = await afterEhlo(gw.port);
      await smuggle(gw, client, fakeEnd);
      // One reply for the one message, then QUIT's: nothing answered the smuggled commands.
      expect(await client.readUntilClosed()).toBe(
        '250 2.0.0 Message accepted\r\n221 2.0.0 mx.test closing connection\r\n',
      );
      expect(gw.messages).toHaveLength(1);
      expect(gw.messages[0]!.body.toString('latin1')).toBe(`${HEAD}${decoded}${SMUGGLED}\r\n`);
      expect(gw.callsOf('mail').map((c) => c.mailFrom.address)).toEqual(['sender@client.test']);
      expect(gw.callsOf('rcpt').map((c) => c.rcpt.address)).toEqual(['rcpt@mx.test']);
    },
  );

  it.each(SEQUENCES)(
    'treats %s as content when it arrives one byte per write',
    async (_name, fakeEnd, _bareLf, decoded) => {
      const gw = await startGateway();
      const client = await afterEhlo(gw.port);
      await smuggle(gw, client, fakeEnd, true);
      expect(await client.readUntilClosed()).toBe(
        '250 2.0.0 Message accepted\r\n221 2.0.0 mx.test closing connection\r\n',
      );
      expect(gw.messages.map((m) => m.body.toString('latin1'))).toEqual([
        `${HEAD}${decoded}${SMUGGLED}\r\n`,
      ]);
    },
  );

  it.each(SEQUENCES)(
    'with bareLf "reject", %s is refused only if it has a bare LF, and nothing is smuggled',
    async (_name, fakeEnd, bareLf, decoded) => {
      const gw = await startGateway({ bareLf: 'reject' });
      const client = await afterEhlo(gw.port);
      await smuggle(gw, client, fakeEnd);
      const expected = bareLf
        ? '550 5.5.2 Message contains a bare <LF>; lines must end with <CR><LF> (RFC 5321 section 2.3.8)\r\n'
        : '250 2.0.0 Message accepted\r\n';
      expect(await client.readUntilClosed()).toBe(
        `${expected}221 2.0.0 mx.test closing connection\r\n`,
      );
      expect(gw.messages.map((m) => m.body.toString('latin1'))).toEqual(
        bareLf ? [] : [`${HEAD}${decoded}${SMUGGLED}\r\n`],
      );
      expect(gw.callsOf('rcpt')).toHaveLength(1);
    },
  );
});

describe('bare LF policy "reject"', () => {
  it('answers 550 5.5.2 after the whole message and takes the next one', async () => {
    const gw = await startGateway({ bareLf: 'reject' });
    const client = await afterEhlo(gw.port);
    await transaction(client, 'a@client.test', ['b@mx.test']);
    expect((await client.command('DATA')).code).toBe(354);
    await client.send('Subject: bare\r\n\r\nline one\nline two\r\n.\r\n');
    expect((await client.readReply()).raw).toBe(
      '550 5.5.2 Message contains a bare <LF>; lines must end with <CR><LF> (RFC 5321 section 2.3.8)\r\n',
    );
    expect(gw.messages).toHaveLength(0);
    // The transaction is over (RFC 5321 §4.1.1.4), the session is not.
    expect((await client.command('RCPT TO:<b@mx.test>')).raw).toBe(
      '503 5.5.1 Need MAIL command first\r\n',
    );
    await transaction(client, 'a@client.test', ['b@mx.test']);
    expect((await sendData(client, 'Subject: fine\r\n\r\nline one\r\n')).code).toBe(250);
    expect(gw.messages[0]!.body.toString()).toBe('Subject: fine\r\n\r\nline one\r\n');
  });

  it('under the default "normalize", repairs a bare LF to CRLF', async () => {
    const gw = await startGateway();
    const client = await afterEhlo(gw.port);
    await transaction(client, 'a@client.test', ['b@mx.test']);
    expect((await client.command('DATA')).code).toBe(354);
    await client.send('Subject: bare\n\nline one\nline two\r\n.\r\n');
    expect((await client.readReply()).code).toBe(250);
    expect(gw.messages[0]!.body.toString()).toBe('Subject: bare\r\n\r\nline one\r\nline two\r\n');
  });
});
