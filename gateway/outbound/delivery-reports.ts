// Delivery reports (MXHOOK_DELIVERY_REPORTS): after each recipient's delivery attempt, a signed
// `delivery` call to the function says what happened, so a function knows what became of what it
// sent. Off the delivery path: the runner hands the attempt over and goes on; the call runs on
// its own, at most MAX_IN_FLIGHT at once, and one that fails or finds no room is logged and
// dropped, never retried. Reports are therefore at most once (a function that must know for sure
// asks the queue: GET /queue/<id>).
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  DELIVERY_STEP,
  type DeliveryReport,
  type DeliveryReportRequest,
  WIRE_VERSION,
} from '../../functions/sdk/wire.ts';
import type { FunctionClient } from '../bridge/function-client.ts';
import { wholeBody } from '../bridge/request-body.ts';
import type { DeliveryReportScope } from '../config/setting.ts';
import type { GatewayConfig } from '../config/types.ts';
import { MxhookError } from '../errors.ts';
import { findMessageId } from '../smtp/message-id.ts';
import { type DeliveryAttempt, settleWithin } from './delivery-runner.ts';

/** Calls in progress at most; beyond, a report is dropped (and logged): delivery never waits. */
const MAX_IN_FLIGHT = 64;

export interface DeliveryReporterOptions {
  readonly client: Pick<FunctionClient, 'call' | 'urlOf'>;
  /** Which messages are reported: those the send API queued, or every one but notices. */
  readonly scope: Exclude<DeliveryReportScope, 'off'>;
  /** One call's limit. */
  readonly timeoutMs: number;
  readonly log: Logger;
}

export class DeliveryReporter {
  readonly #options: DeliveryReporterOptions;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #stopping = new AbortController();

  constructor(options: DeliveryReporterOptions) {
    this.#options = options;
  }

  /** Starts the report's call and returns at once; never throws. */
  report(attempt: DeliveryAttempt): void {
    if (!this.#wanted(attempt.message.origin) || this.#stopping.signal.aborted) return;
    const delivery = reportOf(attempt);
    const { log } = this.#options;
    if (this.#inFlight.size >= MAX_IN_FLIGHT) {
      log.warn(
        { queueId: delivery.queueId, rcpt: delivery.recipient, outcome: delivery.outcome },
        'delivery report dropped: too many in progress',
      );
      return;
    }
    const call = this.#send(delivery).catch((error: unknown) =>
      log.warn(
        { err: error, queueId: delivery.queueId, rcpt: delivery.recipient },
        'delivery report failed',
      ),
    );
    this.#inFlight.add(call);
    void call.finally(() => this.#inFlight.delete(call));
  }

  /** Waits up to `graceMs` for calls in progress, then cancels the rest. */
  async close(graceMs: number): Promise<void> {
    await settleWithin(this.#inFlight, graceMs);
    this.#stopping.abort(new MxhookError('ERR_SHUTTING_DOWN', 'the gateway is stopping'));
    await Promise.allSettled([...this.#inFlight]);
  }

  #wanted(origin: string): boolean {
    if (this.#options.scope === 'send-api') return origin === 'send-api';
    // Notices (`dsn`, `dsn:<id>`) are the gateway's own mail, not something a function sent.
    return origin !== 'dsn' && !origin.startsWith('dsn:');
  }

  async #send(delivery: DeliveryReport): Promise<void> {
    const { client, timeoutMs } = this.#options;
    const request: DeliveryReportRequest = {
      v: WIRE_VERSION,
      id: randomUUID(),
      step: DELIVERY_STEP,
      timestamp: Math.floor(Date.now() / 1000),
      audience: client.urlOf(DELIVERY_STEP),
      delivery,
    };
    const body = wholeBody(Buffer.from(JSON.stringify(request), 'utf8'));
    const signal = AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(timeoutMs)]);
    try {
      await client.call(
        DELIVERY_STEP,
        { ...body, id: request.id, timestamp: request.timestamp },
        signal,
      );
    } catch (error) {
      // Any 2xx is a report received, whatever its body (an empty 204 included): this code is the
      // client's for a 2xx answer that is not JSON or too large.
      if (error instanceof MxhookError && error.code === 'ERR_HOOK_RESPONSE') return;
      throw error;
    }
  }
}

/** The reporter MXHOOK_DELIVERY_REPORTS asks for, or null when it is off. */
export function startDeliveryReports(
  config: Pick<GatewayConfig, 'deliveryReports' | 'functionTimeoutMs'>,
  client: Pick<FunctionClient, 'call' | 'urlOf'>,
  log: Logger,
): DeliveryReporter | null {
  if (config.deliveryReports === 'off') return null;
  return new DeliveryReporter({
    client,
    scope: config.deliveryReports,
    timeoutMs: config.functionTimeoutMs,
    log,
  });
}

/** The wire's report of one attempt. */
export function reportOf({
  message,
  body,
  result,
  outcome,
  report,
}: DeliveryAttempt): DeliveryReport {
  const earlier = message.recipients.find((r) => r.address === result.address)?.attempts ?? 0;
  return {
    queueId: message.id,
    origin: message.origin,
    messageId: findMessageId(body),
    sender: message.sender,
    recipient: result.address,
    outcome: outcome.kind,
    reply: outcome.reply,
    attempts: earlier + 1,
    nextAttemptAt: outcome.kind === 'deferred' ? new Date(outcome.retryAt).toISOString() : null,
    remote: {
      host: report.host,
      address: report.address,
      tls:
        report.tls === null
          ? null
          : {
              version: report.tls.version,
              cipher: report.tls.cipher,
              authorized: report.tls.authorized,
            },
    },
  };
}
