// `GET /v1/messages/<key>/raw?expires=…&signature=…` on the HTTP listener: an archived message's
// bytes for the holder of a URL the gateway signed (message.rawRef, directory engine). The URL is
// the credential, so the route takes any peer, unlike the loopback-only /queue endpoints.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Archive } from './archive.ts';
import { type RawUrlSigner, rawMessagePathKey } from './raw-url.ts';

export interface RawRoute {
  /** Answers the request when its path is the route's, and says whether it did. */
  handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean>;
}

export function rawMessageRoute(archive: Archive, urls: RawUrlSigner): RawRoute {
  return {
    async handle(request, response, url) {
      const key = rawMessagePathKey(url.pathname);
      if (key === null) return false;
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        answer(response, 405, 'method not allowed\n');
        return true;
      }
      // The same answer for a bad signature and an expired one: nothing to learn by probing.
      if (!urls.verify(key, url.searchParams, new Date())) {
        answer(response, 403, 'forbidden\n');
        return true;
      }
      const found = await archive.get(key);
      if (found === null) {
        answer(response, 404, 'not found\n');
        return true;
      }
      response.writeHead(200, {
        'content-type': 'message/rfc822',
        'content-length': found.sizeBytes,
        'cache-control': 'private, no-store',
      });
      if (request.method === 'HEAD') {
        found.stream.destroy();
        response.end();
        return true;
      }
      // Streamed from the file: a 25 MiB message is never held whole to be served.
      await pipeline(found.stream, response).catch(() => {
        // The client went away mid-body; nothing to answer any more.
      });
      return true;
    },
  };
}

function answer(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, {
    'content-type': 'text/plain',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}
