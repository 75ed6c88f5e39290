// Request bodies made of pieces: the same bytes as the JSON they stand for, whole or streamed.
import { describe, expect, it } from 'vitest';
import {
  splicedBody,
  WHOLE_BODY_MAX_BYTES,
  wholeBody,
} from '../../../../gateway/bridge/request-body.ts';

const bytesOf = (texts: Iterable<string>): Buffer => Buffer.from([...texts].join(''), 'utf8');

describe('splicedBody', () => {
  it('is the JSON with the base64 of the message pieces as a string value', () => {
    const raw = [Buffer.from('Received: x\r\n'), Buffer.from('Subject: é\r\n\r\nhi\r\n')];
    const body = splicedBody('{"message":{"size":33,"raw":"', raw, 33, '"}}');
    const expected = JSON.stringify({
      message: { size: 33, raw: Buffer.concat(raw).toString('base64') },
    });
    expect(body.whole?.toString()).toBe(expected);
    expect(bytesOf(body.texts()).toString()).toBe(expected);
    expect(body.byteLength).toBe(Buffer.byteLength(expected));
  });

  it('streams a large message in pieces, the same bytes every time it is read', () => {
    const raw = Array.from({ length: 40 }, (_, i) => Buffer.alloc(10_001, i));
    const rawBytes = raw.reduce((n, chunk) => n + chunk.length, 0);
    const head = '{"v":1,"note":"ü","message":{"raw":"';
    const body = splicedBody(head, raw, rawBytes, '"}}');
    expect(body.byteLength).toBeGreaterThan(WHOLE_BODY_MAX_BYTES);
    expect(body.whole).toBeNull();
    const first = bytesOf(body.texts());
    expect(first.length).toBe(body.byteLength);
    expect(JSON.parse(first.toString()).message.raw).toBe(Buffer.concat(raw).toString('base64'));
    expect(bytesOf(body.texts()).equals(first)).toBe(true);
    expect([...body.texts()].length).toBeGreaterThan(2);
  });
});

describe('wholeBody', () => {
  it('is its one Buffer', () => {
    const body = wholeBody(Buffer.from('{}'));
    expect(body.byteLength).toBe(2);
    expect([...body.texts()]).toEqual(['{}']);
  });
});
