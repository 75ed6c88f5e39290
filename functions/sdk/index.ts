// The mxhook functions SDK: wire types, signing, verification, response helpers and Hono helpers.
export type { DmarcRejectOptions, VerdictSummary, WithAuthentication } from './authentication.ts';
export { dmarcFailsWithReject, verdictSummary } from './authentication.ts';
export type {
  AutoReplyDecision,
  AutoReplyHeader,
  AutoReplyInput,
  AutoReplySkip,
  ReplyThreading,
} from './auto-reply.ts';
export { autoReplyDecision, replyThreading } from './auto-reply.ts';
export * from './codes.ts';
export { parseDeliveryReport, verifyDeliveryBody } from './delivery-report.ts';
export type {
  GatewayErrorCode,
  MxhookErrorCode,
  SendErrorCode,
  UsageErrorCode,
  VerifyErrorCode,
} from './errors.ts';
export { MxhookError, MxhookVerifyError } from './errors.ts';
export type {
  DeliveryHandler,
  MxhookOptions,
  MxhookVariables,
  StepHandler,
  StepHandlers,
} from './hono.ts';
export { mxhook, mxhookVerify } from './hono.ts';
export type { Interpretation, InterpretedReply } from './interpret.ts';
export {
  interpretResponse,
  MAX_HEADER_LINE_CHARS,
  MAX_HEADERS,
  MAX_LINE_CHARS,
  MAX_LINES,
  replyKind,
} from './interpret.ts';
export type { HmacSecret, RemoteJwksOptions, VerifyJwks, VerifyKeys } from './keys.ts';
export { MIN_JWKS_COOLDOWN_MS } from './keys.ts';
export type { RawMessageOptions } from './raw-message.ts';
export { rawMessage } from './raw-message.ts';
export type { MemorySeenIdStoreOptions, SeenIdStore } from './replay.ts';
export { MemorySeenIdStore } from './replay.ts';
export type {
  AcceptCode,
  ActionReply,
  CodeOptions,
  CodeReply,
  PermanentCode,
  RecordedHeaders,
  ResponseFor,
  TemporaryCode,
} from './responses.ts';
export { accept, defer, reject, withHeaders } from './responses.ts';
export { secretKid } from './secret.ts';
export type { SendClient, SendClientOptions, SendOptions } from './send.ts';
export { createSendClient, MxhookSendError } from './send.ts';
export type {
  SendAddress,
  SendAttachment,
  SendErrorBody,
  SendMessage,
  SendResult,
} from './send-message.ts';
export { IDEMPOTENCY_KEY_HEADER, SEND_PATH } from './send-message.ts';
export type {
  Ed25519PublicJwk,
  KeyIdOptions,
  PublicJwks,
  SigningAlgorithm,
  SigningKey,
  SigningKeyInput,
} from './sign.ts';
export {
  importEd25519PrivateKey,
  importHmacSecret,
  importSigningKey,
  MIN_SECRET_BYTES,
  publicJwks,
  SIGNATURE_TYPE,
  signBody,
} from './sign.ts';
export type { BodyInput } from './verify.ts';
export { verify, verifyBody } from './verify.ts';
export type { VerifyOptions } from './verify-options.ts';
export { DEFAULT_MAX_BODY_BYTES, DEFAULT_TOLERANCE_SECONDS } from './verify-options.ts';
export * from './wire.ts';
