// The Worker's bindings: the vars in wrangler.toml, the secrets, and the KV namespaces.
import type { KVNamespace } from '@cloudflare/workers-types';

/**
 * What `env` holds. Types are imported from `@cloudflare/workers-types` by name (not as globals)
 * so the Worker's modules also type-check in the test suites that run under Node's types.
 */
export interface Bindings {
  /** HS256 secret(s) shared with the gateway, comma-separated, newest first. A secret. */
  readonly MXHOOK_SIGNING_SECRET?: string;
  /** Verify EdDSA signatures against the gateway's JWKS at this URL instead of a secret. */
  readonly MXHOOK_JWKS_URL?: string;
  /**
   * The gateway's MXHOOK_FUNCTION_URL (comma-separated for several); calls signed for another
   * URL are refused. Empty: the URL the Worker is called at (audience.ts).
   */
  readonly MXHOOK_AUDIENCE?: string;
  /** Domains whose every address is accepted, comma-separated (`example.com,example.org`). */
  readonly DOMAINS?: string;
  /** Single addresses accepted besides those domains, comma-separated. */
  readonly RECIPIENTS?: string;
  /**
   * Refuse at DATA (550 5.7.1) mail whose DMARC fails under the From domain's `p=reject`, as the
   * gateway's verdicts say. On unless `"false"`.
   */
  readonly REJECT_DMARC_FAILURES?: string;
  /** When set, the inbox page and API require it. A secret. */
  readonly INBOX_TOKEN?: string;
  /** `"true"` opens the inbox without a token; only for local development. */
  readonly INBOX_PUBLIC?: string;
  /**
   * Text of an automatic reply to every stored message (RFC 3834 rules: none to bounces, lists or
   * automatic mail); off when empty. Needs MXHOOK_SEND_URL, and MXHOOK_SEND_TOKEN or (with the
   * gateway's MXHOOK_SEND_SIGNED=true) MXHOOK_SIGNING_SECRET, whose newest secret then signs.
   */
  readonly AUTO_REPLY?: string;
  /** The gateway's send API, `https://<gateway>/v1/send`, for the auto-reply. */
  readonly MXHOOK_SEND_URL?: string;
  /** A bearer token of the gateway's MXHOOK_SEND_TOKEN. A secret. */
  readonly MXHOOK_SEND_TOKEN?: string;
  /** Stored messages: `msg:<id>` (the record, with a summary as metadata) and `raw:<id>`. */
  readonly MESSAGES: KVNamespace;
  /** Request ids already seen, for replay protection; entries expire on their own. */
  readonly SEEN: KVNamespace;
}

/** The Hono environment of every route. */
export interface AppEnv {
  Bindings: Bindings;
}
