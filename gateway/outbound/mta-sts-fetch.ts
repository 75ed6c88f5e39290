// The HTTPS fetch of a domain's MTA-STS policy file (RFC 8461 §3.3):
// `https://mta-sts.<domain>/.well-known/mta-sts.txt`, the certificate verified for that name,
// HTTP 200 only (redirects are not followed), within a time limit and 64 KiB.
//
// mailauth has a fetch (`fetchPolicy` in mailauth/lib/mta-sts), but it always connects to port
// 443 and trusts only the system's CAs, so no test could reach a policy host of its own. This one
// takes both as options, and looks the policy host up through our resolver, as delivery does;
// parsing the file stays mailauth's (mta-sts.ts).
import { request } from 'node:https';
import type { Resolve } from '../authentication/resolve.ts';

export interface PolicyFetchOptions {
  readonly resolve: Resolve;
  /**
   * The CAs a policy host's certificate must chain to; default: the system's. For tests only,
   * which serve policies with certificates of their own CA, as MXHOOK_DELIVERY_PORT is.
   */
  readonly ca?: readonly string[];
  /** The policy host's HTTPS port; 443 (RFC 8461 §3.3) but in tests. */
  readonly port?: number;
  /** The whole fetch, lookup included; default one minute, as RFC 8461 §3.3 suggests. */
  readonly timeoutMs?: number;
}

/** RFC 8461 §3.3: "a maximum size of 64 KiB" for the policy body. */
export const MAX_POLICY_BYTES = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 60_000;
const POLICY_PATH = '/.well-known/mta-sts.txt';

/** The policy file's text. Rejects with an Error that says which URL, and why. */
export async function fetchPolicyText(
  domain: string,
  options: PolicyFetchOptions,
): Promise<string> {
  const host = `mta-sts.${domain}`;
  const deadline = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const address = await addressOf(host, options.resolve);
  return new Promise<string>((resolve, reject) => {
    const fail = (why: string) => {
      req.destroy();
      reject(new Error(`https://${host}${POLICY_PATH}: ${why}`));
    };
    const req = request(
      {
        host: address,
        port: options.port ?? 443,
        path: POLICY_PATH,
        method: 'GET',
        headers: { host, accept: 'text/plain' },
        // The certificate must be valid for the policy host's name (RFC 8461 §3.3).
        servername: host,
        rejectUnauthorized: true,
        ...(options.ca === undefined ? {} : { ca: [...options.ca] }),
        // A fresh connection each time: nothing verified under other options is reused.
        agent: false,
        signal: deadline,
      },
      (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          fail(`HTTP ${response.statusCode}`);
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_POLICY_BYTES) fail(`larger than ${MAX_POLICY_BYTES} bytes`);
          else chunks.push(chunk);
        });
        response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        response.on('error', (error) => fail(error.message));
      },
    );
    req.on('error', (error) =>
      fail(
        deadline.aborted
          ? `no answer in ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`
          : error.message,
      ),
    );
    req.end();
  });
}

/** The policy host's first address, IPv4 first as mailauth's fetch does. */
async function addressOf(host: string, resolve: Resolve): Promise<string> {
  const failures: string[] = [];
  for (const type of ['A', 'AAAA'] as const) {
    try {
      const [address] = (await resolve(host, type)) as string[];
      if (address !== undefined) return address;
    } catch (error) {
      failures.push(`${type} ${(error as NodeJS.ErrnoException).code ?? 'failed'}`);
    }
  }
  throw new Error(`${host} has no address (${failures.join(', ') || 'none'})`);
}
