// The gateway's errors: the project's one error base (the SDK's, STYLE.md §5) with the gateway's codes.
import { MxhookError as MxhookErrorBase } from '../functions/sdk/errors.ts';

/**
 * Every code an `MxhookError` can carry. Codes are part of the gateway's contract: callers,
 * logs and tests match on them, so a code is never renamed, only added.
 */
export const ERROR_CODES = [
  'ERR_CONFIG_INVALID',
  'ERR_CIDR_INVALID',
  'ERR_HOOK_TIMEOUT',
  'ERR_HOOK_NETWORK',
  'ERR_HOOK_STATUS',
  'ERR_HOOK_RESPONSE',
  'ERR_HOOK_SIGNING',
  'ERR_PARSE_BUSY',
  'ERR_LISTEN_FAILED',
  'ERR_PROXY_HEADER_INVALID',
  'ERR_SHUTTING_DOWN',
  'ERR_AUTH_BUSY',
] as const;

export type MxhookErrorCode = (typeof ERROR_CODES)[number];

/**
 * Base class of every error the gateway raises on purpose. Transport and library errors are
 * translated into one of these at the boundary, with the original kept as `cause` so nothing
 * is lost for debugging.
 *
 * @example
 * throw new MxhookError('ERR_HOOK_TIMEOUT', 'function did not answer within 30000 ms', { cause });
 */
export class MxhookError extends MxhookErrorBase<MxhookErrorCode> {}

/**
 * Bad configuration, refused at start-up. The message is one line that names the variable
 * (always the `MXHOOK_` name, even when the value came from a command-line flag) and the
 * problem, e.g. `MXHOOK_MAX_MESSAGE_SIZE: "ten" is not a whole number of bytes`.
 */
export class ConfigError extends MxhookError {
  /** The `MXHOOK_` variable at fault, e.g. `MXHOOK_MAX_MESSAGE_SIZE`. */
  readonly variable: string;

  constructor(variable: string, problem: string, options?: ErrorOptions) {
    super('ERR_CONFIG_INVALID', `${variable}: ${problem}`, options);
    this.variable = variable;
  }
}
