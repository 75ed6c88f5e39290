// The direct-POST baseline: what one call to the function costs without any gateway in between.
import { randomUUID } from 'node:crypto';
import { Client } from 'undici';
import type { TestMessage } from './message.ts';
import { Samples } from './stats.ts';

/** A body shaped and sized like a data call carrying `message` (plus a typical Received header). */
export function dataCallBody(message: TestMessage): Buffer {
  const raw = Buffer.alloc(message.sizeBytes + 220, 'x');
  return Buffer.from(
    JSON.stringify({
      v: 1,
      id: randomUUID(),
      step: 'data',
      timestamp: Math.floor(Date.now() / 1000),
      audience: 'http://127.0.0.1/data',
      session: {
        id: '0123456789abcdef',
        client: { address: '127.0.0.1', port: 40000 },
        server: { address: '127.0.0.1', port: 2525, hostname: 'mx.bench.test' },
        helo: 'load.client.bench.test',
        tls: null,
        auth: null,
        proxied: false,
      },
      envelope: {
        mailFrom: { address: 'a@b.test', params: {} },
        rcptTo: [{ address: 'c@d.test', params: {} }],
      },
      message: { size: raw.length, raw: raw.toString('base64') },
    }),
  );
}

/** POSTs `body` to `<functionUrl>baseline` `count` times, one at a time, over one keep-alive connection. */
export async function directPosts(
  functionUrl: string,
  body: Buffer,
  count: number,
): Promise<Float64Array> {
  const url = new URL('baseline', functionUrl);
  const client = new Client(url.origin);
  const samples = new Samples();
  try {
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      const response = await client.request({
        path: url.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      await response.body.json();
      samples.push(performance.now() - started);
    }
  } finally {
    await client.close();
  }
  return samples.values().slice();
}
