// The gateway's certificates: one TLS context per certificate, chosen per handshake by SNI, replaceable at run time.
import { constants, X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';

/** One PEM certificate (chain) and its private key. */
export interface TlsPair {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

/** What a server-side `TLSSocket` needs for one handshake. */
export interface TlsServerOptions {
  readonly secureContext: SecureContext;
  readonly SNICallback?: (
    servername: string,
    callback: (error: Error | null, context?: SecureContext) => void,
  ) => void;
}

interface Entry {
  readonly context: SecureContext;
  /** The leaf certificate, for `checkHost` (its DNS SANs, or its CN when it has none). */
  readonly leaf: X509Certificate;
}

/**
 * Holds the certificates for new handshakes. `replace` swaps the whole set at once, so a reload
 * never leaves a mix; a handshake already under way, and every open TLS session, keeps the
 * context it started with. Sessions hold the store, not a context, so a STARTTLS in a session
 * opened before a reload gets the new certificate.
 */
export class TlsStore {
  #entries: readonly Entry[] = [];

  constructor(pairs: readonly TlsPair[] = []) {
    if (pairs.length > 0) this.replace(pairs);
  }

  /** Whether any certificate is loaded, so STARTTLS can be offered. */
  get available(): boolean {
    return this.#entries.length > 0;
  }

  /**
   * Builds a context for every pair (the first is the default, for clients without SNI or with a
   * name no certificate covers) and only then swaps them in.
   *
   * @throws Error from `createSecureContext` or `X509Certificate` when a pair is unusable; the
   *   certificates in use are kept.
   */
  replace(pairs: readonly TlsPair[]): void {
    if (pairs.length === 0) throw new RangeError('at least one certificate is needed');
    this.#entries = Object.freeze(
      pairs.map((pair) => ({
        context: createSecureContext({
          cert: pair.cert,
          key: pair.key,
          // RFC 8996 deprecates TLS 1.0 and 1.1.
          minVersion: 'TLSv1.2',
          // Each TLS 1.2 renegotiation is a full handshake a client can make us pay for, and our
          // sockets have no tls.Server whose renegotiation limit would apply: refuse them all,
          // as Postfix does (OpenSSL's NO_RENEGOTIATION, set by Postfix since 3.4).
          secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
        }),
        leaf: new X509Certificate(pair.cert),
      })),
    );
  }

  /** Options for a server `TLSSocket` made now, or null when no certificate is loaded. */
  serverOptions(): TlsServerOptions | null {
    const entries = this.#entries;
    const first = entries[0];
    if (first === undefined) return null;
    if (entries.length === 1) return { secureContext: first.context };
    return {
      secureContext: first.context,
      SNICallback: (servername, callback) => callback(null, select(entries, servername).context),
    };
  }

  /** The context a handshake asking for `servername` gets (the default without a match). */
  contextFor(servername: string | null): SecureContext | null {
    if (this.#entries.length === 0) return null;
    return select(this.#entries, servername ?? '').context;
  }
}

/**
 * RFC 6125 §6.4: a certificate naming the host exactly wins over one matching it by wildcard
 * (`*.example.com` covers one whole left-most label, §6.4.3); among equals the first listed
 * wins; no match falls back to the first certificate. OpenSSL's X509_check_host does the
 * matching, with partial wildcards (`f*.example.com`) refused.
 */
function select(entries: readonly Entry[], servername: string): Entry {
  const first = entries[0]!;
  const name = servername.toLowerCase().replace(/\.$/, '');
  if (name === '') return first;
  let wildcard: Entry | null = null;
  for (const entry of entries) {
    let matched: string | undefined;
    try {
      matched = entry.leaf.checkHost(name, { wildcards: true, partialWildcards: false });
    } catch {
      return first; // a name OpenSSL cannot even check is covered by no certificate
    }
    if (matched === undefined) continue;
    if (!matched.startsWith('*')) return entry;
    wildcard ??= entry;
  }
  return wildcard ?? first;
}
