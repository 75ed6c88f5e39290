// The settings that are also `createGateway` options: taken whole from a loaded config, or checked
// one by one by their rows' rules when a library caller gives them.
import { MxhookError } from '../errors.ts';
import type { Kind } from './kind.ts';
import type { Setting } from './setting.ts';
import type { GatewayConfig, GatewaySettings } from './types.ts';
import { defaultOf, SETTINGS } from './variables.ts';

/** The options as a library caller gives them: absent or null takes the setting's default. */
export type GatewaySettingsInput = {
  readonly [K in keyof GatewaySettings]?: GatewaySettings[K] | null;
};

const OPTIONS: readonly Setting[] = SETTINGS.filter((row) => row.option);

/** Every option row's field of `config`, under the same name. */
export function gatewaySettingsOf(config: GatewayConfig): GatewaySettings {
  return Object.fromEntries(
    OPTIONS.map((row) => [row.field, config[row.field as keyof GatewayConfig]]),
  ) as GatewaySettings;
}

/**
 * The options a library caller gave, each checked by its row's rule (what `loadConfig` refuses
 * as text, this refuses as a value), and the absent ones from the rows' defaults.
 *
 * @throws MxhookError (`ERR_CONFIG_INVALID`) naming the option.
 */
export function resolveGatewaySettings(given: GatewaySettingsInput): GatewaySettings {
  const resolved: Record<string, unknown> = {};
  for (const row of OPTIONS) {
    const value: unknown = given[row.field as keyof GatewaySettings];
    resolved[row.field] =
      value === undefined || value === null
        ? row.kind.parse(row.default, { variable: row.name, base: process.cwd(), text: defaultOf })
        : checkOption(row.field, row.kind, value);
  }
  return resolved as GatewaySettings;
}

/** `value` when `kind` accepts it. @throws MxhookError (`ERR_CONFIG_INVALID`) naming `option`. */
export function checkOption<T>(option: string, kind: Kind<T>, value: T): T {
  const problem = kind.check?.(value) ?? null;
  if (problem !== null) {
    throw new MxhookError('ERR_CONFIG_INVALID', `option ${option}: ${problem}`);
  }
  return value;
}
