// The gateway's ConfigError, on the repository's one error base and code union, which live in the
// SDK (functions/sdk/errors.ts) so both sides share them (docs/architecture.md, "Errors").
import { MxhookError } from '../functions/sdk/errors.ts';

export { MxhookError };

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
