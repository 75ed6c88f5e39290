// The label values every mxhook metric can take: fixed, small sets, so cardinality stays bounded.
import {
  AUTHENTICATION_CHECKS,
  type AuthenticationCheck,
  type AuthenticationResult,
  STEPS,
} from '../../functions/sdk/wire.ts';
import { DELIVERY_REASONS, type DeliveryReason } from '../outbound/delivery-reason.ts';
import type { DsnAction } from '../outbound/dsn.ts';
import type { AttemptOutcome } from '../outbound/queue.ts';
import type { RefusalReason, ReplyStep } from '../server/observer.ts';
import type { StepOutcome } from '../smtp/decision.ts';
import { replies } from '../smtp/replies.ts';
import type { Reply } from '../smtp/reply.ts';
import type { TransactionOutcome } from '../smtp/session-state.ts';

// Written as records so the compiler checks every member of each union is listed.
const stepOutcomes: Record<StepOutcome, true> = {
  accepted: true,
  rejected: true,
  deferred: true,
  failed: true,
};
const transactionOutcomes: Record<TransactionOutcome, true> = {
  accepted: true,
  rejected: true,
  deferred: true,
  failed: true,
  'too-large': true,
  refused: true,
};
const refusalReasons: Record<RefusalReason, true> = {
  'max-connections': true,
  'max-connections-per-ip': true,
  'connection-rate-per-ip': true,
  'access-denied': true,
  'early-talker': true,
  timeout: true,
  'proxy-header': true,
  'tls-handshake': true,
  'starttls-injection': true,
};

const authenticationResults: Record<AuthenticationResult, true> = {
  pass: true,
  fail: true,
  softfail: true,
  neutral: true,
  none: true,
  temperror: true,
  permerror: true,
  policy: true,
};

const deliveryOutcomes: Record<AttemptOutcome['kind'], true> = {
  delivered: true,
  deferred: true,
  failed: true,
  expired: true,
};

const dsnActions: Record<DsnAction, true> = { failed: true, delayed: true, delivered: true };

export const STEP_OUTCOMES = Object.keys(stepOutcomes) as readonly StepOutcome[];
/** What one recipient's delivery attempt came to. */
export const DELIVERY_OUTCOMES = Object.keys(deliveryOutcomes) as readonly AttemptOutcome['kind'][];
/** Each outcome with each reason it can have (delivery-reason.ts): the attempts' label pairs. */
export const DELIVERY_ATTEMPTS: readonly (readonly [AttemptOutcome['kind'], DeliveryReason])[] =
  DELIVERY_OUTCOMES.flatMap((outcome) =>
    DELIVERY_REASONS[outcome].map((reason) => [outcome, reason] as const),
  );
/** The DELIVERY_ATTEMPTS index of an outcome and reason, by outcome, then by reason. */
export const DELIVERY_ATTEMPT_INDEX: ReadonlyMap<
  AttemptOutcome['kind'],
  ReadonlyMap<DeliveryReason, number>
> = new Map(
  DELIVERY_OUTCOMES.map((outcome) => [
    outcome,
    new Map(
      DELIVERY_ATTEMPTS.flatMap(([kind, reason], index) =>
        kind === outcome ? [[reason, index] as const] : [],
      ),
    ),
  ]),
);
/** The notices (RFC 3464 actions) the delivery runner queues. */
export const DSN_ACTIONS = Object.keys(dsnActions) as readonly DsnAction[];
export const DSN_ACTION_INDEX = indexOf(DSN_ACTIONS);
export const AUTHENTICATION_RESULTS = Object.keys(
  authenticationResults,
) as readonly AuthenticationResult[];
export const TRANSACTION_OUTCOMES = Object.keys(
  transactionOutcomes,
) as readonly TransactionOutcome[];
export const REPLY_STEPS: readonly ReplyStep[] = [...STEPS, 'command'];
export const CODE_CLASSES = ['2xx', '3xx', '4xx', '5xx'] as const;

/**
 * Refusals the core makes, recognised by their named reply (gateway/smtp/replies.ts). Refusals
 * the shell reports itself (timeouts, early talkers) are left out so they are not counted twice,
 * and so are replies that only pass on a function's answer or failure.
 */
const REPLY_REASONS: readonly (readonly [Reply, string])[] = [
  [replies.tooManyErrors, 'too-many-errors'],
  [replies.lineTooLong, 'line-too-long'],
  [replies.httpRefused, 'http-request'],
  [replies.messageTooBig, 'too-large'], // RFC 1870 §6: SIZE at MAIL, the end of DATA, a BDAT chunk
  [replies.tooManyRecipients, 'too-many-recipients'],
  [replies.memoryBudget, 'memory-budget'],
  // With MXHOOK_BARE_LF=reject, the SMTP smuggling defence (CVE-2023-51764 and relatives).
  [replies.bareLf, 'bare-lf'],
  [replies.longLine, 'long-line'],
];

export const REJECTION_REASONS: readonly string[] = [
  ...(Object.keys(refusalReasons) as RefusalReason[]),
  ...REPLY_REASONS.map(([, reason]) => reason),
];

export const STEP_OUTCOME_INDEX = indexOf(STEP_OUTCOMES);
export const TRANSACTION_OUTCOME_INDEX = indexOf(TRANSACTION_OUTCOMES);
export const REPLY_STEP_INDEX = indexOf(REPLY_STEPS);
export const STEP_INDEX = indexOf(STEPS);
export const REJECTION_REASON_INDEX = indexOf(REJECTION_REASONS);
/** The checks with an RFC 8601 result: `sender` has none (it says whether a domain takes mail). */
export const VERDICT_CHECKS = AUTHENTICATION_CHECKS.filter(
  (check): check is Exclude<AuthenticationCheck, 'sender'> => check !== 'sender',
);
export const VERDICT_CHECK_INDEX = indexOf(VERDICT_CHECKS);
export const AUTHENTICATION_RESULT_INDEX = indexOf(AUTHENTICATION_RESULTS);
/** The rejection reason index of a core refusal reply, by identity. */
export const REPLY_REASON_INDEX: ReadonlyMap<Reply, number> = new Map(
  REPLY_REASONS.map(([reply, reason]) => [reply, REJECTION_REASON_INDEX.get(reason)!]),
);

/**
 * A label value as exported: underscores for the hyphens the gateway's own names use
 * (`too-large` → `too_large`), the snake case Prometheus label values conventionally take.
 */
export function labelValue(name: string): string {
  return name.replaceAll('-', '_');
}

function indexOf<T>(values: readonly T[]): ReadonlyMap<T, number> {
  return new Map(values.map((value, index) => [value, index]));
}
