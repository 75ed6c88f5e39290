// The benchmark's function (a child process): answers every POST {"action":"accept"} and counts them per path.
//
// It verifies nothing on the answer path (verifying is the consumer's cost, not the gateway's), but
// after answering it checks the signature of a sample of requests, so the figures are known to
// come from really signed calls: mxhook's detached JWS (HS256) and the peer's HMAC-SHA256 header.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyBody } from '../../functions/sdk/verify.ts';
import { authenticationSummary } from './auth.ts';
import { PEER_SIGNATURE_HEADER } from './constants.ts';
import { announce, answerRequests } from './ipc.ts';
import { percentile, Samples } from './stats.ts';

/** Checked: the first request on each path after a `take`, then one in this many. */
const VERIFY_EVERY = 500;
const ANSWER = Buffer.from('{"action":"accept"}');
const HEADERS = { 'content-type': 'application/json', 'content-length': String(ANSWER.length) };

export interface FunctionCounts {
  /** POSTs answered, by path (`/data`, `/baseline`, …). */
  readonly posts: Record<string, number>;
  readonly bodyBytes: number;
  readonly verified: number;
  readonly verifyFailures: readonly string[];
  /** Time from the request event to the answer being handed to the socket, in µs. */
  readonly handlingP50Us: number;
  readonly handlingP99Us: number;
  /** CPU time of the function process since the last `take`. */
  readonly cpuUs: number;
  /**
   * The mail-authentication verdicts of the checked data calls, each distinct one once
   * (`rdns=pass spf=pass …`, auth.ts); empty when they carried none (checks off).
   */
  readonly authentication: readonly string[];
}

const secret = process.env.BENCH_SECRET ?? '';
let posts: Record<string, number> = {};
let bodyBytes = 0;
let verified = 0;
let failures: string[] = [];
let authentication = new Set<string>();
/** Signature checks still running; `take` waits for them. */
const checking = new Set<Promise<void>>();
const handling = new Samples();
let cpuAtTake = process.cpuUsage();

const server = createServer({ keepAliveTimeout: 10_000 }, (request, response) => {
  const started = performance.now();
  const path = request.url ?? '/';
  const count = (posts[path] ?? 0) + 1;
  posts[path] = count;
  const sampled = count === 1 || count % VERIFY_EVERY === 0;
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => {
    bodyBytes += chunk.length;
    if (sampled) chunks.push(chunk);
  });
  request.on('end', () => {
    response.writeHead(200, HEADERS).end(ANSWER);
    handling.push((performance.now() - started) * 1000);
    if (sampled && path !== '/baseline') {
      const body = Buffer.concat(chunks);
      const done: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => check(request, body))
        .finally(() => checking.delete(done));
      checking.add(done);
    }
  });
});

async function check(request: IncomingMessage, body: Buffer): Promise<void> {
  try {
    const jws = request.headers['mxhook-signature'];
    const hmac = request.headers[PEER_SIGNATURE_HEADER];
    if (typeof jws === 'string') {
      await verifyBody(body, jws, secret);
      const summary = request.url === '/data' ? authenticationSummary(body) : null;
      if (summary !== null && authentication.size < 5) authentication.add(summary);
    } else if (typeof hmac === 'string') {
      const expected = Buffer.from(
        `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
      );
      const given = Buffer.from(hmac);
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        throw new Error('HMAC mismatch');
      JSON.parse(body.toString('utf8'));
    } else {
      throw new Error('unsigned request');
    }
    verified += 1;
  } catch (error) {
    if (failures.length < 5) failures.push(`${request.url}: ${(error as Error).message}`);
  }
}

function cpuSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

answerRequests({
  async take(): Promise<FunctionCounts> {
    await Promise.all(checking);
    const taken: FunctionCounts = {
      posts,
      bodyBytes,
      verified,
      verifyFailures: failures,
      handlingP50Us: percentile(handling.values(), 50),
      handlingP99Us: percentile(handling.values(), 99),
      cpuUs: cpuSince(cpuAtTake),
      authentication: [...authentication],
    };
    cpuAtTake = process.cpuUsage();
    posts = {};
    bodyBytes = 0;
    verified = 0;
    failures = [];
    authentication = new Set();
    handling.clear();
    return taken;
  },
  stop() {
    server.closeAllConnections();
    server.close();
    setImmediate(() => process.exit(0));
  },
});

server.listen(0, '127.0.0.1', () => announce({ port: (server.address() as AddressInfo).port }));
