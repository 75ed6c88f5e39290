// proxySignatureOf: recognising a PROXY header from the first bytes, to refuse one where none is expected.
import { describe, expect, it } from 'vitest';
import { proxySignatureOf } from '../../../../gateway/net/proxy-protocol.ts';

const V2 = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

describe('proxySignatureOf', () => {
  it.each([
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n', 'header'],
    ['PROXY ', 'header'],
    ['PROXY', 'partial'],
    ['P', 'partial'],
    ['', 'partial'],
    ['EHLO client.test\r\n', 'none'],
    ['PROXZ', 'none'],
    ['proxy ', 'none'], // the spec's prefix is upper case
    ['\r\n', 'partial'], // could still be the v2 signature
    ['\r\nQUIT\r\n', 'none'],
  ])('%j → %s', (text, expected) => {
    expect(proxySignatureOf(Buffer.from(text, 'latin1'))).toBe(expected);
  });

  it('recognises the v2 signature once all 12 bytes are there, whatever follows', () => {
    for (let length = 0; length < V2.length; length++) {
      expect(proxySignatureOf(V2.subarray(0, length))).toBe('partial');
    }
    expect(proxySignatureOf(V2)).toBe('header');
    expect(proxySignatureOf(Buffer.concat([V2, Buffer.from([0x21, 0x11])]))).toBe('header');
    expect(proxySignatureOf(Buffer.concat([V2.subarray(0, 11), Buffer.from([0x0b])]))).toBe('none');
  });

  it('reads a Uint8Array view without copying its neighbours', () => {
    const backing = Buffer.from('xxPROXY yy', 'latin1');
    expect(proxySignatureOf(new Uint8Array(backing.buffer, backing.byteOffset + 2, 6))).toBe(
      'header',
    );
    expect(proxySignatureOf(new Uint8Array(backing.buffer, backing.byteOffset, 6))).toBe('none');
  });
});
