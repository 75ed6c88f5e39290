// Verifies the gateway's `delivery` calls (MXHOOK_DELIVERY_REPORTS): signed and stamped like every
// step's call, with what became of one recipient of a queued message in place of a session.
import type { VerifyKeys } from './keys.ts';
import { isRecord, malformed, parseCallBody } from './parse-request.ts';
import { type BodyInput, verifyBodyWith } from './verify.ts';
import type { VerifyOptions } from './verify-options.ts';
import { DELIVERY_STEP, type DeliveryReportRequest } from './wire.ts';

const OUTCOMES: ReadonlySet<unknown> = new Set(['delivered', 'deferred', 'failed', 'expired']);

/**
 * Parses the signed body of a `delivery` call, checking the members verification and routing rely
 * on; the full shape is in `functions/schema/request.schema.json`.
 */
export function parseDeliveryReport(body: Uint8Array): DeliveryReportRequest {
  const value = parseCallBody(body, (step) => {
    if (step !== DELIVERY_STEP) throw malformed(`the request is not a ${DELIVERY_STEP} call`);
  });
  const report = value.delivery;
  if (!isRecord(report)) throw malformed('a delivery request must have a "delivery" object');
  if (typeof report.queueId !== 'string' || typeof report.recipient !== 'string')
    throw malformed('"delivery" must name the queueId and the recipient');
  if (!OUTCOMES.has(report.outcome))
    throw malformed(`unknown delivery outcome ${JSON.stringify(report.outcome)}`);
  return value as unknown as DeliveryReportRequest;
}

/**
 * Verifies a `delivery` call's body, already read, with its `Mxhook-Signature` value: the same
 * checks as {@link verifyBody} (signature, freshness, audience, replay), then its shape.
 *
 * @example
 * ```ts
 * const { delivery } = await verifyDeliveryBody(rawBody, req.get('Mxhook-Signature'), secret);
 * if (delivery.outcome === 'failed') await markBounced(delivery.queueId, delivery.recipient, delivery.reply);
 * ```
 */
export async function verifyDeliveryBody(
  body: BodyInput,
  signature: string | null | undefined,
  keys: VerifyKeys,
  options?: Omit<VerifyOptions, 'step'>,
): Promise<DeliveryReportRequest> {
  return verifyBodyWith(body, signature, keys, options, parseDeliveryReport);
}
