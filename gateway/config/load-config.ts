// Loads the gateway configuration once: gathers, parses (row by row), cross-checks and freezes it.
import { STEPS } from '../../functions/sdk/wire.ts';
import { checkConsistency } from './check-consistency.ts';
import { deepFreeze } from './deep-freeze.ts';
import type { ParseContext } from './kind.ts';
import { collectSettings } from './sources.ts';
import type { GatewayConfig, Settings } from './types.ts';
import { defaultOf, SETTINGS, type VariableName } from './variables.ts';

export interface LoadConfigInput {
  /** The environment, normally `process.env`; only `MXHOOK_` names are read. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Flag arguments only, e.g. `['--listen', '0.0.0.0:25']`; default none. */
  readonly argv?: readonly string[];
  /**
   * Directory holding an optional `.env` file, and the base for relative key and certificate
   * paths. Omit it (tests) to read no `.env`; paths then resolve against `process.cwd()`.
   */
  readonly cwd?: string;
  /** False for `npm start`, which runs without a function URL until one is given; default true. */
  readonly requireFunctionUrl?: boolean;
}

/**
 * The only place that reads configuration. Sources by priority: flags, the environment, a
 * `.env` file in `cwd`, the defaults. An empty value means the default. Unknown `MXHOOK_` names
 * in the environment do not stop the load: they come back in `warnings`, for the caller to log.
 *
 * @throws ConfigError (`ERR_CONFIG_INVALID`) naming the `MXHOOK_` variable at fault.
 * @example
 * const config = loadConfig({ env: process.env, argv: process.argv.slice(3), cwd: process.cwd() });
 */
export function loadConfig(input: LoadConfigInput): GatewayConfig {
  const { values, warnings } = collectSettings({
    env: input.env,
    argv: input.argv ?? [],
    cwd: input.cwd ?? null,
  });
  const base = input.cwd ?? process.cwd();
  /** The chosen value, or the variable's default; an empty or blank value means the default. */
  const text = (name: string): string => {
    const value = values.get(name as VariableName);
    if (value !== undefined && value.trim() !== '') return value;
    return defaultOf(name);
  };
  const parsed: Record<string, unknown> = {};
  for (const row of SETTINGS) {
    const context: ParseContext = { variable: row.name, base, text };
    parsed[row.field] = row.kind.parse(text(row.name), context);
  }
  // Every row has run, so every field of Settings is there.
  const settings = parsed as Settings;
  const config: GatewayConfig = {
    ...settings,
    // With MXHOOK_AUTH=function the function's auth step decides AUTH, so it is always called.
    steps:
      settings.auth === 'function'
        ? STEPS.filter((step) => step === 'auth' || settings.steps.includes(step))
        : settings.steps,
    tls: settings.tlsCertificates[0] ?? null,
    warnings,
  };
  checkConsistency(config, input.requireFunctionUrl !== false);
  return deepFreeze(config);
}
