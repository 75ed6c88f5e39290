// The data call's message: raw bytes exactly as received, parsed fields of a real multipart message, and a 10 MiB one end to end.
import { createHash, randomBytes } from 'node:crypto';
import { createTransport } from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import type { DataRequest } from '../../../functions/sdk/wire.ts';
import { dotStuff } from '../../helpers/dot-stuff.ts';
import { type FunctionServer, startFunctionServer } from '../../helpers/function-server.ts';
import { inTransaction, sendData } from '../../helpers/smtp-client.ts';
import { BRIDGE_HOSTNAME, startBridge } from '../../helpers/start-bridge.ts';
import { expectValidRequests } from './schema.ts';
import { cleanUp } from './steps.ts';

afterEach(cleanUp);

// The messages here are from a@client.test; `mxhook serve` puts a Return-Path above the Received.
const RECEIVED =
  /^Return-Path: <a@client\.test>\r\nReceived: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby mx\.test \(mxhook\) with ESMTP id [0-9a-f]+\.1\r\n\tfor <b@mx\.test>; \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\n/;

/** The decoded `raw` of a data call, split into the gateway's trace headers and the client's bytes. */
function rawOf(request: DataRequest): { received: string; rest: Buffer; whole: Buffer } {
  const whole = Buffer.from(request.message.raw!, 'base64');
  const match = RECEIVED.exec(whole.toString('latin1'));
  expect(match, whole.subarray(0, 300).toString('latin1')).not.toBeNull();
  const length = match![0].length;
  return { received: match![0], rest: whole.subarray(length), whole };
}

async function dataRequest(fn: FunctionServer): Promise<DataRequest> {
  return (await fn.waitForRequest('data')).body;
}

describe('message.raw', () => {
  it('is base64 of the exact bytes received, dot-unstuffed, under the Received header; size is its length', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url });
    const original = Buffer.concat([
      Buffer.from('From: a@client.test\r\nTo: b@mx.test\r\nSubject: dots and bytes\r\n\r\n'),
      Buffer.from('.a line that starts with a dot\r\n..two dots\r\n.\tdot tab\r\n'),
      Buffer.from('8-bit: Grüße 日本語\r\n', 'utf8'),
      Buffer.from([0x54, 0x61, 0x62, 0x09, 0x80, 0xfe, 0xff, 0x0d, 0x0a]),
      Buffer.from('trailing spaces   \r\n\r\n\r\nlast line\r\n'),
    ]);
    const client = await inTransaction(bridge.port, { from: 'a@client.test', to: ['b@mx.test'] });
    // sendData dot-stuffs on the wire; the function must see the bytes before stuffing.
    expect((await sendData(client, original)).raw).toBe('250 2.0.0 Message accepted\r\n');

    const request = await dataRequest(fn);
    const { rest, whole } = rawOf(request);
    expect(rest.equals(original)).toBe(true);
    expect(request.message.size).toBe(whole.length);
    expectValidRequests(fn.requests);
  });

  it('MXHOOK_PAYLOAD=raw sends no parsed; =parsed sends no raw; both keep size', async () => {
    const sizes: number[] = [];
    for (const mode of ['raw', 'parsed', 'both'] as const) {
      const fn = await startFunctionServer();
      const bridge = await startBridge({ functionUrl: fn.url, env: { MXHOOK_PAYLOAD: mode } });
      const client = await inTransaction(bridge.port, { from: 'a@client.test', to: ['b@mx.test'] });
      expect((await sendData(client, 'Subject: modes\r\n\r\nbody\r\n')).code).toBe(250);
      const { message } = await dataRequest(fn);
      const keys = Object.keys(message).sort();
      if (mode === 'raw') expect(keys).toEqual(['raw', 'size']);
      if (mode === 'parsed') expect(keys).toEqual(['parsed', 'size']);
      if (mode === 'both') expect(keys).toEqual(['parsed', 'raw', 'size']);
      if (message.parsed) expect(message.parsed.subject).toBe('modes');
      if (message.raw) expect(message.size).toBe(Buffer.from(message.raw, 'base64').length);
      sizes.push(message.size);
      expectValidRequests(fn.requests);
    }
    // The size is the same message's whatever is carried (the Received header has a fixed shape here).
    expect(new Set(sizes).size).toBe(1);
  });
});

describe('message.parsed of a multipart message made with nodemailer', () => {
  const binary = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7 + (i >> 8)) & 0xff));
  const image = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(600)]);
  const notes = 'Notizen: Grüße\nzweite Zeile\n';

  async function composed(): Promise<Buffer> {
    const composer = createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
    const info = await composer.sendMail({
      from: { name: 'Zoë Müller', address: 'zoe@client.test' },
      to: { name: 'Jörg Ñandú', address: 'b@mx.test' },
      cc: [{ name: 'Ann Smith', address: 'ann@mx.test' }, 'carl@mx.test'],
      replyTo: { name: 'Support — Team', address: 'support@client.test' },
      subject: 'Grüße aus Köln — 日本語 ✓',
      date: new Date('2026-01-02T03:04:05Z'),
      messageId: '<msg-1@client.test>',
      inReplyTo: '<prev-0@client.test>',
      text: 'Hallo Welt,\nzweite Zeile mit Umlaut ü.\n',
      html: '<p>Hallo <b>Welt</b> <img src="cid:logo@client.test"></p>',
      attachments: [
        { filename: 'notes.txt', content: notes, contentType: 'text/plain; charset=utf-8' },
        { filename: 'data.bin', content: binary, contentType: 'application/octet-stream' },
        { filename: 'logo.png', content: image, contentType: 'image/png', cid: 'logo@client.test' },
      ],
    });
    return info.message as Buffer;
  }

  it('carries subject, addresses, date, ids, bodies, attachments and decoded headers', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url });
    const raw = await composed();
    const sender = createTransport({
      host: '127.0.0.1',
      port: bridge.port,
      secure: false,
      ignoreTLS: true,
      name: 'client.test',
    });
    try {
      const info = await sender.sendMail({
        envelope: { from: 'zoe@client.test', to: ['b@mx.test', 'ann@mx.test', 'carl@mx.test'] },
        raw,
      });
      expect(info.response).toBe('250 2.0.0 Message accepted');
    } finally {
      sender.close();
    }

    const request = await dataRequest(fn);
    expectValidRequests(fn.requests);
    expect(request.envelope.rcptTo.map((r) => r.address)).toEqual([
      'b@mx.test',
      'ann@mx.test',
      'carl@mx.test',
    ]);
    // Three recipients: the Received header names none of them.
    const whole = Buffer.from(request.message.raw!, 'base64');
    expect(whole.subarray(whole.length - raw.length).equals(raw)).toBe(true);
    expect(whole.subarray(0, whole.length - raw.length).toString('latin1')).toMatch(
      new RegExp(
        `^Return-Path: <zoe@client\\.test>\\r\\nReceived: from client\\.test \\(\\[127\\.0\\.0\\.1\\]\\)\\r\\n\\tby ${BRIDGE_HOSTNAME.replace('.', '\\.')} \\(mxhook\\) with ESMTP id \\S+; [^\\r\\n]+\\r\\n$`,
      ),
    );

    const parsed = request.message.parsed!;
    expect(parsed.subject).toBe('Grüße aus Köln — 日本語 ✓');
    expect(parsed.from).toEqual([{ name: 'Zoë Müller', address: 'zoe@client.test' }]);
    expect(parsed.to).toEqual([{ name: 'Jörg Ñandú', address: 'b@mx.test' }]);
    expect(parsed.cc).toEqual([
      { name: 'Ann Smith', address: 'ann@mx.test' },
      { name: '', address: 'carl@mx.test' },
    ]);
    expect(parsed.replyTo).toEqual([{ name: 'Support — Team', address: 'support@client.test' }]);
    expect(parsed.date).toBe('2026-01-02T03:04:05.000Z');
    expect(parsed.messageId).toBe('<msg-1@client.test>');
    expect(parsed.inReplyTo).toBe('<prev-0@client.test>');
    expect(parsed.text).toBe('Hallo Welt,\nzweite Zeile mit Umlaut ü.\n');
    expect(parsed.html).toBe('<p>Hallo <b>Welt</b> <img src="cid:logo@client.test"></p>');

    const byName = new Map(parsed.attachments.map((a) => [a.filename, a]));
    expect([...byName.keys()].sort()).toEqual(['data.bin', 'logo.png', 'notes.txt']);
    const expected = [
      {
        filename: 'notes.txt',
        contentType: 'text/plain',
        bytes: Buffer.from(notes, 'utf8'),
        contentId: null,
      },
      {
        filename: 'data.bin',
        contentType: 'application/octet-stream',
        bytes: binary,
        contentId: null,
      },
      {
        filename: 'logo.png',
        contentType: 'image/png',
        bytes: image,
        contentId: 'logo@client.test',
      },
    ];
    for (const want of expected) {
      const got = byName.get(want.filename)!;
      expect(got.contentType).toBe(want.contentType);
      expect(got.size).toBe(want.bytes.length);
      expect(Buffer.from(got.content ?? '', 'base64').equals(want.bytes)).toBe(true);
      // mailparser gives the Content-ID without its angle brackets.
      expect(got.contentId).toBe(want.contentId);
    }
    expect(byName.get('notes.txt')!.disposition).toBe('attachment');
    expect(byName.get('data.bin')!.disposition).toBe('attachment');
    expect(byName.get('logo.png')!.disposition).toBe('inline');

    const headers = new Map(parsed.headers.map((h) => [h.name, h.value]));
    expect(parsed.headers.slice(0, 2).map((h) => h.name)).toEqual(['return-path', 'received']);
    expect(headers.get('return-path')).toBe('<zoe@client.test>');
    expect(headers.get('subject')).toBe('Grüße aus Köln — 日本語 ✓');
    expect(headers.get('from')).toBe('Zoë Müller <zoe@client.test>');
    expect(headers.get('message-id')).toBe('<msg-1@client.test>');
    expect(headers.get('content-type')).toMatch(/^multipart\/mixed; boundary=/);
    for (const { name } of parsed.headers) expect(name).toBe(name.toLowerCase());
  });
});

describe('a 10 MiB message', () => {
  it('reaches the function whole and the client sees 250', { timeout: 120_000 }, async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({
      functionUrl: fn.url,
      env: { MXHOOK_MAX_MESSAGE_SIZE: String(12 * 1024 * 1024), MXHOOK_FUNCTION_TIMEOUT: '90' },
    });
    const header = Buffer.from('From: a@client.test\r\nTo: b@mx.test\r\nSubject: big\r\n\r\n');
    const target = 10 * 1024 * 1024;
    const lines: Buffer[] = [header];
    let length = header.length;
    for (let i = 0; target - length >= 82; i++) {
      // 76 base64 characters per line, like an attachment; every 100th line starts with a dot.
      const line = Buffer.from(
        `${i % 100 === 0 ? '.' : ''}${randomBytes(57).toString('base64')}\r\n`,
      );
      lines.push(line);
      length += line.length;
    }
    lines.push(Buffer.from(`${'z'.repeat(target - length - 2)}\r\n`));
    const original = Buffer.concat(lines);
    expect(original.length).toBe(target);

    const client = await inTransaction(bridge.port, { from: 'a@client.test', to: ['b@mx.test'] });
    expect((await client.command('DATA')).code).toBe(354);
    await client.send(dotStuff(original));
    const reply = await client.readReply(90_000);
    expect(reply.raw).toBe('250 2.0.0 Message accepted\r\n');

    const recorded = await fn.waitForRequest('data');
    expect(recorded.headers['content-length']).toBe(String(recorded.raw.length));
    const request = recorded.body;
    const { rest, whole } = rawOf(request);
    expect(rest.length).toBe(target);
    expect(request.message.size).toBe(whole.length);
    const digest = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
    expect(digest(rest)).toBe(digest(original));
    expect(request.message.parsed!.subject).toBe('big');
  });
});
