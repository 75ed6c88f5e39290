// What a row of the settings table is made of: its shape, and the word lists some rows accept.
import type { BareLfPolicy, LongLinePolicy } from '../smtp/data-decoder.ts';
import type { Kind } from './kind.ts';
import { allOf } from './parse-scalars.ts';

export const SIGNATURE_FORMATS = ['jws', 'standard-webhooks'] as const;
export type SignatureFormat = (typeof SIGNATURE_FORMATS)[number];

export const PAYLOAD_MODES = ['raw', 'parsed', 'both'] as const;
export type PayloadMode = (typeof PAYLOAD_MODES)[number];

// The SMTP core owns these two types; `allOf` keeps the lists complete as the core changes.
export const BARE_LF_POLICIES = allOf<BareLfPolicy>()(['normalize', 'reject']);
export const LONG_LINE_POLICIES = allOf<LongLinePolicy>()(['accept', 'reject']);

/** pino's levels, most to least severe, plus `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const AUTH_MODES = ['off', 'function', 'users'] as const;

/** MXHOOK_AUDIT: the audit stream's switch at start. */
export const AUDIT_SWITCH = ['off', 'on'] as const;

/** Which queued messages the function hears about (MXHOOK_DELIVERY_REPORTS). */
export const DELIVERY_REPORT_SCOPES = ['off', 'send-api', 'all'] as const;
export type DeliveryReportScope = (typeof DELIVERY_REPORT_SCOPES)[number];
export type AuthMode = (typeof AUTH_MODES)[number];

/** One row of the table: a variable, how `--help` shows it, and the typed field it fills. */
export interface Setting<F extends string = string, T = unknown, O extends boolean = boolean> {
  readonly name: `MXHOOK_${string}`;
  /** The field of `GatewayConfig` the value goes to. */
  readonly field: F;
  /** What the value looks like, shown after the flag in `--help`. */
  readonly placeholder: string;
  /**
   * The default as text, parsed by the same code as a user's value so a default can never
   * bypass validation; `''` when there is none, which the kind then reads as unset.
   */
  readonly default: string;
  /** The default as shown in `--help`. */
  readonly defaultText: string;
  readonly meaning: string;
  readonly kind: Kind<T>;
  /**
   * Also a `createGateway` option under the name `field`: given there, it is checked by
   * `kind.check`; absent, it takes `default`.
   */
  readonly option: O;
}

/** A variable that is no setting of its own: the row named by `readBy` reads it with its own. */
export interface Companion {
  readonly name: `MXHOOK_${string}`;
  readonly placeholder: string;
  readonly default: string;
  readonly defaultText: string;
  readonly meaning: string;
  readonly readBy: `MXHOOK_${string}`;
}

export type VariableSpec = Setting | Companion;
