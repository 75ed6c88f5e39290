// The gateway as a library: create, start and stop an SMTP server with in-process handlers.
export type { Handler, HookAnswer, HookArgs, HookCall } from './handler.ts';
export {
  createGateway,
  Gateway,
  type GatewayOptions,
  type ListenAddress,
  type NetworkList,
  type TlsPair,
} from './server/gateway.ts';
export type { GatewayObserver, RefusalReason } from './server/observer.ts';
