// One SMTP listener: where it listens and what it requires, from MXHOOK_LISTEN or the library.

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
  /** SMTPS: TLS from the first byte (RFC 8314 §3.3). */
  readonly implicitTls: boolean;
  /** MAIL needs STARTTLS first on this listener (RFC 3207 §4, 530 5.7.0); or-ed with `GatewayOptions.requireTls`. */
  readonly requireTls?: boolean;
  /** MAIL needs AUTH first on this listener (submission, RFC 6409 §4.3); or-ed with `GatewayOptions.requireAuth`. */
  readonly requireAuth?: boolean;
}
