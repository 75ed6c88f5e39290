// Who may use the send API: a bearer token (MXHOOK_SEND_TOKEN, compared in constant time), or a
// request signed like the gateway's own calls (MXHOOK_SEND_SIGNED): a detached JWS over the body,
// checked with the SDK's verification (signature, timestamp within 5 minutes, audience, replay).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { MxhookVerifyError } from '../../functions/sdk/errors.ts';
import { type ResolvedKeys, resolveKeys } from '../../functions/sdk/keys.ts';
import { MemorySeenIdStore } from '../../functions/sdk/replay.ts';
import { SEND_PATH } from '../../functions/sdk/send-message.ts';
import type { PublicJwks } from '../../functions/sdk/sign.ts';
import { type SignedClaims, verifySigned } from '../../functions/sdk/verify.ts';
import { checkVerifyOptions } from '../../functions/sdk/verify-options.ts';
import { SIGNATURE_HEADER, WIRE_VERSION } from '../../functions/sdk/wire.ts';
import { SendApiError } from './send-error.ts';

export interface SendAuthOptions {
  /** Bearer tokens; empty: none accepted. */
  readonly tokens: readonly string[];
  /** The keys signed requests are checked with; null: signed requests are not accepted. */
  readonly signed: {
    /** The HS256 secrets (MXHOOK_SIGNING_SECRET), their text as the SDK signs with it. */
    readonly secrets: readonly string[];
    /** The public halves of MXHOOK_SIGNING_KEY. */
    readonly jwks: PublicJwks;
    /**
     * The endpoint's own URL (MXHOOK_PUBLIC_URL + /v1/send): a request signed for another URL is
     * refused. Null: only the audience's path is checked.
     */
    readonly audience: string | null;
  } | null;
}

/** How a request proved itself, for the log. */
export type SendAuthMethod = 'token' | 'signed';

export interface Authenticated {
  readonly method: SendAuthMethod;
  /** The body parsed (a signed body is parsed to check its claims; a token's is parsed here too). */
  readonly body: unknown;
}

type SignedBody = SignedClaims & Record<string, unknown>;

export class SendAuth {
  readonly #tokenHashes: readonly Buffer[];
  readonly #signed: SendAuthOptions['signed'];
  readonly #hs256: ResolvedKeys | null;
  readonly #eddsa: ResolvedKeys | null;
  // One gateway's memory: in a fleet a captured request could be replayed once per node within
  // its 5 minutes, and its idempotency key still makes it queue nothing new.
  readonly #replay = new MemorySeenIdStore();

  constructor(options: SendAuthOptions) {
    this.#tokenHashes = options.tokens.map(sha256);
    this.#signed = options.signed;
    this.#hs256 =
      options.signed !== null && options.signed.secrets.length > 0
        ? resolveKeys([...options.signed.secrets])
        : null;
    this.#eddsa =
      options.signed !== null && options.signed.jwks.keys.length > 0
        ? resolveKeys({ keys: options.signed.jwks.keys.map((key) => ({ ...key })) })
        : null;
  }

  /** Whether the endpoint is on at all. */
  get enabled(): boolean {
    return this.#tokenHashes.length > 0 || this.#signed !== null;
  }

  /** @throws SendApiError 401 (or ERR_BODY_MALFORMED for a body that is not JSON). */
  async authenticate(headers: IncomingHttpHeaders, bytes: Buffer): Promise<Authenticated> {
    const authorization = headers.authorization;
    const signature = headers[SIGNATURE_HEADER.toLowerCase()];
    if (authorization !== undefined) {
      const token = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization)?.[1];
      if (token === undefined || !this.#knowsToken(token))
        throw new SendApiError(
          'ERR_SEND_UNAUTHORIZED',
          'the bearer token is not one of MXHOOK_SEND_TOKEN',
        );
      return { method: 'token', body: parseJson(bytes) };
    }
    if (typeof signature === 'string' && this.#signed !== null) {
      return { method: 'signed', body: await this.#verify(bytes, signature) };
    }
    throw new SendApiError(
      'ERR_SEND_UNAUTHORIZED',
      this.#signed === null
        ? 'send Authorization: Bearer <MXHOOK_SEND_TOKEN>'
        : `send Authorization: Bearer <MXHOOK_SEND_TOKEN> or a ${SIGNATURE_HEADER} header`,
    );
  }

  /** Every configured token is compared, each in constant time over its hash, so timing tells nothing. */
  #knowsToken(token: string): boolean {
    const given = sha256(token);
    let known = false;
    for (const hash of this.#tokenHashes) known = timingSafeEqual(given, hash) || known;
    return known;
  }

  async #verify(bytes: Buffer, signature: string): Promise<SignedBody> {
    const keys = algorithmOf(signature) === 'EdDSA' ? this.#eddsa : this.#hs256;
    if (keys === null) {
      throw new SendApiError(
        'ERR_SIGNATURE_INVALID',
        'no key of the gateway verifies this algorithm',
      );
    }
    const audience = this.#signed?.audience ?? null;
    const options = checkVerifyOptions({
      replay: this.#replay,
      ...(audience === null ? {} : { audience }),
    });
    try {
      return await verifySigned(bytes, signature, keys, options, (body) =>
        signedBody(body, audience === null),
      );
    } catch (error) {
      if (error instanceof MxhookVerifyError) throw new SendApiError(error.code, error.message);
      throw error;
    }
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The JWS protected header's `alg`, to pick the keys (both kinds may be configured). */
function algorithmOf(signature: string): unknown {
  try {
    const header = JSON.parse(Buffer.from(signature.split('.')[0] ?? '', 'base64url').toString());
    return (header as { alg?: unknown }).alg;
  } catch {
    return undefined;
  }
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new SendApiError('ERR_BODY_MALFORMED', 'the body is not JSON');
  }
}

/** The signed body: the message plus the claims `v`, `id`, `timestamp`, `audience`. */
function signedBody(bytes: Uint8Array, pathOnly: boolean): SignedBody {
  const malformed = (message: string) => new MxhookVerifyError('ERR_BODY_MALFORMED', message);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw malformed('the body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw malformed('the body is not a JSON object');
  const body = value as Record<string, unknown>;
  if (body.v !== WIRE_VERSION) throw malformed('a signed request must have "v": 1');
  if (typeof body.id !== 'string' || body.id === '')
    throw malformed('a signed request must have an "id"');
  if (typeof body.timestamp !== 'number' || !Number.isFinite(body.timestamp))
    throw malformed('a signed request must have a "timestamp" in unix seconds');
  if (typeof body.audience !== 'string')
    throw malformed('a signed request must have an "audience"');
  if (pathOnly && pathOf(body.audience) !== SEND_PATH) {
    throw new MxhookVerifyError(
      'ERR_AUDIENCE_MISMATCH',
      `the request is for ${JSON.stringify(body.audience)}, not this gateway's ${SEND_PATH}`,
    );
  }
  return body as SignedBody;
}

function pathOf(url: string): string | null {
  try {
    return new URL(url).pathname.replace(/\/+$/, '');
  } catch {
    return null;
  }
}
