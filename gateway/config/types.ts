// The shape of the gateway's configuration, inferred from the table of variables.
import type { TlsFiles } from './parse-keys.ts';
import type { Setting } from './setting.ts';
import type { ConfigWarning } from './sources.ts';
import type { VARIABLES } from './variables.ts';

type SettingRow = Extract<(typeof VARIABLES)[number], Setting>;
type ValueOf<R> = R extends Setting<string, infer T> ? T : never;

/** One field per setting row, of the type its kind parses to. */
export type Settings = { readonly [R in SettingRow as R['field']]: ValueOf<R> };

/** The settings `createGateway` takes as options: the rows marked `option`. */
export type GatewaySettings = {
  readonly [R in Extract<SettingRow, { option: true }> as R['field']]: ValueOf<R>;
};

/** Everything `loadConfig` returns. Deeply frozen, except the Buffers and the URL. */
export type GatewayConfig = Settings & {
  /** The first MXHOOK_TLS_CERT + MXHOOK_TLS_KEY pair: the default certificate. */
  readonly tls: TlsFiles | null;
  /** Unknown `MXHOOK_` names in the environment: ignored, and logged once at start. */
  readonly warnings: readonly ConfigWarning[];
};
