// Addresses over a real socket: what real mail uses is accepted as sent, invalid literals get 501 5.1.3.
import { afterEach, describe, expect, it } from 'vitest';
import { afterEhlo, destroyAllClients, sendData } from '../../helpers/smtp-client.ts';
import { startGateway, stopAllGateways } from '../../helpers/start-gateway.ts';

afterEach(async () => {
  destroyAllClients();
  await stopAllGateways();
});

// SRS1 (a second forwarder) of a long original address: the local part is 89 octets.
const SRS1 =
  'SRS1=HHH2=forwarder.example==HHH1=TT=example.org=firstname.middlename.lastname.department@forwarder.example';

describe('addresses', () => {
  it('accepts an SRS1 sender over 64 octets and dotted local parts, and passes them on as sent', async () => {
    const gw = await startGateway();
    const client = await afterEhlo(gw.port);
    expect((await client.command(`MAIL FROM:<${SRS1}>`)).code).toBe(250);
    for (const rcpt of ['foo.@mx.test', 'a..b@mx.test', '.foo@mx.test'])
      expect((await client.command(`RCPT TO:<${rcpt}>`)).code).toBe(250);
    expect((await sendData(client, 'Subject: srs\r\n\r\nhi\r\n')).code).toBe(250);
    expect(gw.messages[0]!.call.envelope).toEqual({
      mailFrom: { address: SRS1, params: {} },
      rcptTo: [
        { address: 'foo.@mx.test', params: {} },
        { address: 'a..b@mx.test', params: {} },
        { address: '.foo@mx.test', params: {} },
      ],
    });
  });

  it('answers 501 5.1.3 to invalid address literals in MAIL and RCPT, without calling the function', async () => {
    const gw = await startGateway();
    const client = await afterEhlo(gw.port);
    expect((await client.command('MAIL FROM:<x@[300.1.1.1]>')).raw).toBe(
      '501 5.1.3 Bad address syntax: invalid address literal\r\n',
    );
    expect((await client.command('MAIL FROM:<x@[192.0.2.1]>')).code).toBe(250);
    expect((await client.command('RCPT TO:<x@[IPv6:zz::1]>')).raw).toBe(
      '501 5.1.3 Bad address syntax: invalid address literal\r\n',
    );
    expect((await client.command('RCPT TO:<x@[IPv6:2001:db8::1]>')).code).toBe(250);
    expect(gw.callsOf('mail').map((c) => c.mailFrom.address)).toEqual(['x@[192.0.2.1]']);
    expect(gw.callsOf('rcpt').map((c) => c.rcpt.address)).toEqual(['x@[IPv6:2001:db8::1]']);
  });

  it('does not advertise DSN and refuses its parameters with 555 5.5.4 (RFC 3461 §4)', async () => {
    const gw = await startGateway();
    const client = await afterEhlo(gw.port);
    const ehlo = await client.command('EHLO client.test');
    expect(ehlo.lines).not.toContain('DSN');
    expect((await client.command('MAIL FROM:<a@client.test> RET=HDRS')).raw).toBe(
      '555 5.5.4 Unsupported parameter RET\r\n',
    );
    expect((await client.command('MAIL FROM:<a@client.test>')).code).toBe(250);
    expect((await client.command('RCPT TO:<b@mx.test> NOTIFY=SUCCESS')).raw).toBe(
      '555 5.5.4 Unsupported parameter NOTIFY\r\n',
    );
    expect(gw.callsOf('rcpt')).toHaveLength(0);
  });
});
