// The gateway as a library: create, start and stop an SMTP server with in-process handlers, and
// its outbound side (a queue and delivery) with createOutbound.
export type { Handler, HookAnswer, HookArgs, HookCall } from './handler.ts';
export { hopLimit } from './middleware/hop-limit.ts';
export { logger } from './middleware/logger.ts';
export { recover } from './middleware/recover.ts';
export { returnPath } from './middleware/return-path.ts';
export {
  applyMiddleware,
  type Middleware,
  type MiddlewareContext,
  type StepContext,
} from './middleware.ts';
export {
  createOutbound,
  type GatewayOutbound,
  OUTBOUND_SETTINGS,
  type OutboundOptions,
  type OutboundSetting,
} from './outbound/create-outbound.ts';
export type { OutboundQueue } from './outbound/queue.ts';
export type { ExtraVerbAnswer, ExtraVerbDefinition } from './server/extra-verbs.ts';
export {
  createGateway,
  Gateway,
  type GatewayOptions,
  type ListenAddress,
  type NetworkList,
  type TlsPair,
} from './server/gateway.ts';
export type { GatewayObserver, RefusalReason } from './server/observer.ts';
