// Configuration: the only code that reads MXHOOK_ settings; everything else receives GatewayConfig.
export { helpText } from './help-text.ts';
export { type LoadConfigInput, loadConfig } from './load-config.ts';
export type { AuthMode, LogLevel, PayloadMode } from './setting.ts';
export type {
  BareLfPolicy,
  ConfigWarning,
  GatewayConfig,
  GatewaySettings,
  HostPort,
  ListenAddress,
  LongLinePolicy,
  NetworkList,
  SigningKeyFile,
  TlsFiles,
} from './types.ts';
export { VARIABLES, type VariableName } from './variables.ts';
