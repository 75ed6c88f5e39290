// Request bodies made of pieces: the same bytes as the JSON they stand for, whole or streamed.
import { describe, expect, it } from 'vitest';
import {
  splicedBody,
  WHOLE_BODY_MAX_BYTES,
  wholeBody,
} from '../../../../gateway/bridge/request-body.ts';
import { bodyBytes } from './body-bytes.ts';

describe('splicedBody', () => {
  it('is the JSON with the base64 of the message pieces as a string value', () => {
    const raw = [Buffer.from('Received: x\r\n'), Buffer.from('Subject: é\r\n\r\nhi\r\n')];
    const body = splicedBody([
      '{"message":{"size":33,"raw":"',
      { base64Of: raw, byteLength: 33 },
      '"}}',
    ]);
    const expected = JSON.stringify({
      message: { size: 33, raw: Buffer.concat(raw).toString('base64') },
    });
    expect(body.whole?.toString()).toBe(expected);
    expect(bodyBytes(body).toString()).toBe(expected);
    expect(body.byteLength).toBe(Buffer.byteLength(expected));
  });

  it('makes a small body whole from a message in one piece, in several, or in none', () => {
    const message = Buffer.from('Subject: é\r\n\r\n.hi\r\n');
    for (const raw of [
      [message],
      [message.subarray(0, 1), message.subarray(1, 8), message.subarray(8)],
      [],
    ]) {
      const size = raw.reduce((n, chunk) => n + chunk.length, 0);
      const body = splicedBody([
        `{"note":"ü","message":{"size":${size},"raw":"`,
        { base64Of: raw, byteLength: size },
        '"}}',
      ]);
      const expected = JSON.stringify({
        note: 'ü',
        message: { size, raw: Buffer.concat(raw).toString('base64') },
      });
      expect(body.whole?.toString()).toBe(expected);
      expect(body.byteLength).toBe(Buffer.byteLength(expected));
    }
  });

  it('streams a large message in pieces, the same bytes every time it is read', () => {
    const raw = Array.from({ length: 40 }, (_, i) => Buffer.alloc(10_001, i));
    const rawBytes = raw.reduce((n, chunk) => n + chunk.length, 0);
    const head = '{"v":1,"note":"ü","message":{"raw":"';
    const body = splicedBody([head, { base64Of: raw, byteLength: rawBytes }, '"}}']);
    expect(body.byteLength).toBeGreaterThan(WHOLE_BODY_MAX_BYTES);
    expect(body.whole).toBeNull();
    const first = bodyBytes(body);
    expect(first.length).toBe(body.byteLength);
    expect(JSON.parse(first.toString()).message.raw).toBe(Buffer.concat(raw).toString('base64'));
    expect(bodyBytes(body).equals(first)).toBe(true);
    expect([...body.pieces()].length).toBeGreaterThan(2);
  });

  it('splices UTF-8 bytes as they are: views of them, never decoded to text and encoded again', () => {
    const parsed = Buffer.from(JSON.stringify({ text: 'é€😀'.repeat(60_000) }), 'utf8');
    const raw = [Buffer.alloc(70_000, 0x61)];
    const encoded = new Uint8Array(parsed);
    const body = splicedBody([
      '{"message":{"parsed":',
      encoded,
      ',"raw":"',
      { base64Of: raw, byteLength: 70_000 },
      '"}}',
    ]);
    expect(body.whole).toBeNull();
    const bytes = bodyBytes(body);
    expect(bytes.length).toBe(body.byteLength);
    expect(JSON.parse(bytes.toString())).toEqual({
      message: { parsed: JSON.parse(parsed.toString()), raw: raw[0]!.toString('base64') },
    });
    const views = [...body.pieces()].filter((piece) => typeof piece !== 'string');
    expect(views.length).toBeGreaterThan(3);
    for (const view of views) expect(view.buffer).toBe(encoded.buffer);
  });
});

describe('wholeBody', () => {
  it('is its one Buffer', () => {
    const body = wholeBody(Buffer.from('{}'));
    expect(body.byteLength).toBe(2);
    expect(bodyBytes(body).toString()).toBe('{}');
  });
});
