// Parsing for the data call: off the event loop, bounded, and a message that cannot be parsed still
// reaches the function (raw, `parsed: null`, the reason) instead of getting 451 on every retry.
import { afterEach, describe, expect, it } from 'vitest';
import { dotStuff } from '../../helpers/dot-stuff.ts';
import { json, startFunctionServer } from '../../helpers/function-server.ts';
import { afterEhlo, inTransaction, sendData } from '../../helpers/smtp-client.ts';
import { startBridge } from '../../helpers/start-bridge.ts';
import { expectValidRequests } from './schema.ts';
import { cleanUp } from './steps.ts';

afterEach(cleanUp);

const ACCEPTED = '250 2.0.0 Message accepted\r\n';
/** NOOPs the bystander sends one after another, each after the last one's reply. */
const NOOPS = 20;

/** A multipart message with more parts than the MIME parser takes (mailsplit stops at 1,000). */
function manyParts(parts: number): string {
  const lines = [
    'From: a@client.test',
    'To: b@mx.test',
    'Subject: many parts',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
  ];
  for (let i = 0; i < parts; i++) lines.push('--b', 'Content-Type: text/plain', '', `part ${i}`);
  lines.push('--b--', '');
  return lines.join('\r\n');
}

/**
 * 250 KB of links in HTML only: made into text on the event loop, it blocked every session for
 * 200 ms or more in one piece (the message itself is read and split in a few milliseconds).
 */
function linksMessage(): string {
  const html = `<p>${'<a href="https://x.test/a">x</a> '.repeat(7_500)}</p>`;
  return `From: a@client.test\r\nSubject: links\r\nContent-Type: text/html\r\n\r\n${html}\r\n`;
}

describe('a message the parser refuses', () => {
  it('reaches the function raw with parsed null and parseError malformed, and the client sees 250', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url });
    const message = manyParts(1_500);
    const client = await inTransaction(bridge.port, { from: 'a@client.test', to: ['b@mx.test'] });
    expect((await sendData(client, message)).raw).toBe(ACCEPTED);

    const { body } = await fn.waitForRequest('data');
    expect(body.message.parsed).toBeNull();
    expect(body.message.parseError).toEqual({
      code: 'malformed',
      message: 'Max allowed child nodes exceeded',
    });
    expect(Buffer.from(body.message.raw!, 'base64').toString('latin1')).toContain(message);
    expectValidRequests(fn.requests);
  });

  it('with MXHOOK_PAYLOAD=parsed still carries raw, so the function gets the message', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url, env: { MXHOOK_PAYLOAD: 'parsed' } });
    const client = await inTransaction(bridge.port, { from: 'a@client.test', to: ['b@mx.test'] });
    expect((await sendData(client, manyParts(1_500))).raw).toBe(ACCEPTED);

    const { message } = (await fn.waitForRequest('data')).body;
    expect(Object.keys(message).sort()).toEqual(['parseError', 'parsed', 'raw', 'size']);
    expect(message.parseError?.code).toBe('malformed');
    expect(Buffer.from(message.raw!, 'base64').length).toBe(message.size);
  });
});

describe('HTML made into text', () => {
  it('nested 20,000 elements deep is parsed (its text bounded), not refused', async () => {
    const fn = await startFunctionServer();
    const bridge = await startBridge({ functionUrl: fn.url });
    const depth = 20_000;
    const html = `${'<div>'.repeat(depth)}deep${'</div>'.repeat(depth)}`;
    const message = `From: a@client.test\r\nSubject: nested\r\nContent-Type: text/html\r\n\r\n${html}\r\n`;
    const client = await inTransaction(bridge.port, { from: 'a@client.test', to: ['b@mx.test'] });
    expect((await sendData(client, message)).raw).toBe(ACCEPTED);

    const { parsed } = (await fn.waitForRequest('data')).body.message;
    expect(parsed?.subject).toBe('nested');
    expect(parsed?.html).toBe(`${html}\n`);
    expect(typeof parsed?.text).toBe('string');
  });
});

describe('while a message is parsed', () => {
  it("a bystander session's NOOPs are answered before the function gets the message", async () => {
    const fn = await startFunctionServer();
    const events: string[] = [];
    fn.answer('data', () => {
      events.push('data call');
      return json({ action: 'accept' });
    });
    const bridge = await startBridge({ functionUrl: fn.url });
    const bystander = await afterEhlo(bridge.port);
    const sender = await inTransaction(bridge.port, { from: 'a@client.test', to: ['b@mx.test'] });
    expect((await sender.command('DATA')).code).toBe(354);
    await sender.send(dotStuff(Buffer.from(linksMessage())));
    for (let i = 0; i < NOOPS; i++) {
      expect((await bystander.command('NOOP')).code).toBe(250);
      events.push('noop');
    }
    expect((await sender.readReply()).raw).toBe(ACCEPTED);
    expect(events).toEqual([...Array.from({ length: NOOPS }, () => 'noop'), 'data call']);
    expect((await fn.waitForRequest('data')).body.message.parsed?.subject).toBe('links');
  });

  it('is charged to MXHOOK_MAX_BYTES_IN_FLIGHT: DATA gets 452 4.3.1 meanwhile, and 354 after', async () => {
    const fn = await startFunctionServer();
    const budgetBytes = 1024 * 1024;
    const bridge = await startBridge({
      functionUrl: fn.url,
      env: {
        MXHOOK_MAX_MESSAGE_SIZE: String(512 * 1024),
        MXHOOK_MAX_BYTES_IN_FLIGHT: String(budgetBytes),
      },
    });
    const { gateway } = bridge.running;
    const other = await inTransaction(bridge.port, { from: 'a@client.test', to: ['b@mx.test'] });
    const sender = await inTransaction(bridge.port, { from: 'a@client.test', to: ['b@mx.test'] });
    expect((await sender.command('DATA')).code).toBe(354);
    // About 260 KB, held alone far below the budget; its parse is charged ten times that.
    await sender.send(dotStuff(Buffer.from(linksMessage())));
    for (let i = 0; i < 10_000 && gateway.bytesInFlight <= budgetBytes; i++)
      await new Promise((resolve) => setTimeout(resolve, 1));
    expect(gateway.bytesInFlight).toBeGreaterThan(budgetBytes);
    expect((await other.command('DATA')).raw).toBe(
      '452 4.3.1 Insufficient system storage, try again later\r\n',
    );
    expect((await sender.readReply()).raw).toBe(ACCEPTED);
    const after = await inTransaction(bridge.port, { from: 'a@client.test', to: ['b@mx.test'] });
    expect((await sendData(after, 'Subject: after\r\n\r\nhi\r\n')).raw).toBe(ACCEPTED);
  });
});
