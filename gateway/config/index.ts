// Configuration: the only code that reads MXHOOK_ settings; everything else receives GatewayConfig.

export type { NetworkList } from '../server/admission.ts';
export type { ListenAddress } from '../server/listen-address.ts';
export type { BareLfPolicy, LongLinePolicy } from '../smtp/data-decoder.ts';
export { helpText } from './help-text.ts';
export { type LoadConfigInput, loadConfig } from './load-config.ts';
export type { SigningKeyFile, TlsFiles } from './parse-keys.ts';
export type { HostPort } from './parse-network.ts';
export type { AuthMode, LogLevel, PayloadMode } from './setting.ts';
export type { ConfigWarning } from './sources.ts';
export type { GatewayConfig, GatewaySettings } from './types.ts';
export { VARIABLES, type VariableName } from './variables.ts';
