// The outbound client's bytes: replies split from the server's bytes however they arrive, the
// extensions an EHLO reply announces, envelope commands, and a message as DATA and BDAT send it.
import { describe, expect, it } from 'vitest';
import {
  extensionsOf,
  MalformedReply,
  mailCommand,
  ReplyReader,
  rcptCommand,
  replyText,
  wireBytes,
} from '../../../../gateway/outbound/smtp-wire.ts';

const bytes = (text: string) => Buffer.from(text, 'latin1');
const wire = (pieces: readonly string[], dotStuffing: boolean) =>
  Buffer.concat(wireBytes(pieces.map(bytes), dotStuffing)).toString('latin1');

describe('ReplyReader', () => {
  it('reads single and multi-line replies, whatever the pieces they arrive in', () => {
    const text = '220 mx.test ESMTP\r\n250-mx.test\r\n250-PIPELINING\r\n250 SIZE 1000\r\n354\r\n';
    const whole = new ReplyReader().push(bytes(text));
    const reader = new ReplyReader();
    const byteByByte = [...bytes(text)].flatMap((byte) => reader.push(Buffer.from([byte])));
    const expected = [
      { code: 220, lines: ['mx.test ESMTP'] },
      { code: 250, lines: ['mx.test', 'PIPELINING', 'SIZE 1000'] },
      { code: 354, lines: [''] },
    ];
    expect(whole).toEqual(expected);
    expect(byteByByte).toEqual(expected);
  });

  it('takes a bare LF as a line end, and keeps the first line’s code', () => {
    expect(new ReplyReader().push(bytes('250-a\n251 b\n'))).toEqual([
      { code: 250, lines: ['a', 'b'] },
    ]);
  });

  it('says when part of a reply is waiting', () => {
    const reader = new ReplyReader();
    reader.push(bytes('220 go ahead\r\n'));
    expect(reader.pending).toBe(false);
    reader.push(bytes('250-inj'));
    expect(reader.pending).toBe(true);
  });

  it('refuses a line that is not a reply, and a reply longer than 64 KiB', () => {
    expect(() => new ReplyReader().push(bytes('HTTP/1.1 400 Bad Request\r\n'))).toThrow(
      MalformedReply,
    );
    expect(() => new ReplyReader().push(bytes('600 no such class\r\n'))).toThrow(MalformedReply);
    const flood = new ReplyReader();
    expect(() => flood.push(Buffer.alloc(70 * 1024, 'x'))).toThrow(/longer than 65536 bytes/);
    const lines = new ReplyReader();
    expect(() => lines.push(bytes('250-x\r\n'.repeat(10_000)))).toThrow(MalformedReply);
  });
});

describe('replyText', () => {
  it('joins the lines, saying the enhanced code once', () => {
    expect(replyText({ code: 550, lines: ['5.1.1 No such', '5.1.1 user'] })).toBe(
      '550 5.1.1 No such user',
    );
    expect(replyText({ code: 354, lines: [''] })).toBe('354');
  });
});

describe('extensionsOf', () => {
  it('reads the keywords and the SIZE limit, in any case', () => {
    const { keywords, sizeLimit } = extensionsOf({
      code: 250,
      lines: ['mx.test greets you', 'pipelining', 'SIZE 35882577', 'DSN', 'chunking', ''],
    });
    expect([...keywords]).toEqual(['PIPELINING', 'SIZE', 'DSN', 'CHUNKING']);
    expect(sizeLimit).toBe(35_882_577);
    expect(extensionsOf({ code: 250, lines: ['mx', 'SIZE'] }).sizeLimit).toBe(0);
  });
});

describe('envelope commands', () => {
  it('writes MAIL and RCPT with their parameters', () => {
    expect(
      mailCommand('a@x.test', {
        size: 1024,
        eightBit: true,
        smtputf8: true,
        ret: 'HDRS',
        envid: 'Q+2B1',
      }),
    ).toBe('MAIL FROM:<a@x.test> SIZE=1024 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=Q+2B1\r\n');
    expect(mailCommand('', {})).toBe('MAIL FROM:<>\r\n');
    expect(
      rcptCommand('b@y.test', { notify: ['success', 'failure'], orcpt: 'rfc822;b+2Bc@y.test' }),
    ).toBe('RCPT TO:<b@y.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Bc@y.test\r\n');
  });

  it('leaves out an ENVID or ORCPT that is not xtext, rather than send what it carries', () => {
    expect(mailCommand('a@x.test', { envid: 'a RET=FULL' })).toBe('MAIL FROM:<a@x.test>\r\n');
    expect(rcptCommand('b@y.test', { orcpt: 'rfc822;b@y.test NOTIFY=NEVER' })).toBe(
      'RCPT TO:<b@y.test>\r\n',
    );
  });
});

describe('wireBytes', () => {
  it('doubles a period that starts a line, and ends DATA with the end marker', () => {
    expect(wire(['.first\r\n..second\r\nmid.dle\r\n.\r\n'], true)).toBe(
      '..first\r\n...second\r\nmid.dle\r\n..\r\n.\r\n',
    );
  });

  it('finds line starts across pieces', () => {
    expect(wire(['a\r\n', '.b\r', '\n.c'], true)).toBe('a\r\n..b\r\n..c\r\n.\r\n');
  });

  it('makes every bare LF CRLF and ends the message with CRLF', () => {
    expect(wire(['a\nb\r\nc\n', '\nd'], false)).toBe('a\r\nb\r\nc\r\n\r\nd\r\n');
    expect(wire(['a\r'], false)).toBe('a\r\r\n');
    expect(wire(['\n.x'], true)).toBe('\r\n..x\r\n.\r\n');
  });

  it('sends an empty message as just the end marker, or nothing for BDAT', () => {
    expect(wire([], true)).toBe('.\r\n');
    expect(wire(['', ''], false)).toBe('');
  });

  it('shares the message’s memory where nothing changes', () => {
    const body = bytes('Subject: x\r\n\r\nHello.\r\n');
    const pieces = wireBytes([body], false);
    expect(pieces).toHaveLength(1);
    expect(pieces[0]).toBe(body);
  });
});
