// Configuration: the only code that reads MXHOOK_ settings; everything else receives GatewayConfig.
export { helpText } from './help-text.ts';
export { type LoadConfigInput, loadConfig } from './load-config.ts';
export type {
  AuthMode,
  BareLfPolicy,
  CidrList,
  ConfigWarning,
  GatewayConfig,
  HostPort,
  ListenAddress,
  LogLevel,
  LongLinePolicy,
  PayloadMode,
  SigningKeyFile,
  TlsFiles,
} from './types.ts';
export { VARIABLES, type VariableName } from './variables.ts';
