// What one delivery is, between the delivery runner (delivery-runner.ts), which makes the request
// from the queue and records the report, and the MX delivery (mx-delivery.ts) that carries it out:
// one message, one destination domain, each recipient's result.
import type { RecipientRequest } from './queue.ts';

export interface DeliveryRequest {
  readonly domain: string;
  /** `""`: the null sender. */
  readonly sender: string;
  readonly recipients: readonly RecipientRequest[];
  readonly body: readonly Buffer[];
  readonly sizeBytes: number;
  readonly envelopeId?: string;
  readonly returnContent?: 'full' | 'headers';
  readonly smtputf8?: boolean;
  readonly eightBit?: boolean;
}

export interface RecipientResult {
  readonly address: string;
  readonly kind: 'delivered' | 'deferred' | 'failed';
  /** The reply that decided it, as the host said it (`550 5.1.1 <x@y>: no such user`), or ours. */
  readonly reply: string;
  /** The reply is about mxhook itself, not the destination: an internal error, shutting down. */
  readonly local?: true;
}

export interface TlsDetails {
  /** `TLSv1.3`. */
  readonly version: string;
  readonly cipher: string;
  /** Whether the certificate chain and the MX host name pass verification. */
  readonly authorized: boolean;
  /** Why not (`DEPTH_ZERO_SELF_SIGNED_CERT`, `ERR_TLS_CERT_ALTNAME_INVALID`); null if they do. */
  readonly verifyError: string | null;
  /** Whether the session was set up requiring a verified certificate (the `verify` level). */
  readonly verified: boolean;
}

export interface DeliveryReport {
  /** One per requested recipient, in the request's order. */
  readonly results: readonly RecipientResult[];
  /** The MX host and address last tried (the one that took the message, if any took it). */
  readonly host: string | null;
  readonly address: string | null;
  /** The last session's TLS; null in clear or when no session was set up. */
  readonly tls: TlsDetails | null;
  /** The TLS policy that applied (DestinationTls.policy): `opportunistic`, `mta-sts enforce`… */
  readonly tlsPolicy: string;
}
