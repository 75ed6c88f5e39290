// The outbound side as `mxhook serve` runs it: the queue MXHOOK_QUEUE names, the relay middleware
// that fills it, and the delivery workers that empty it.

import { randomBytes } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.ts';
import type { Middleware } from '../middleware.ts';
import type { DnsLookups } from '../net/dns-lookups.ts';
import type { GatewayObserver } from '../server/observer.ts';
import { type DeliveryAttempt, DeliveryRunner } from './delivery-runner.ts';
import { DeliveryTlsPolicies } from './delivery-tls.ts';
import { signOutgoing } from './dkim-signing.ts';
import { sendOnOptions, srsSettingsOf } from './forward-settings.ts';
import { MtaStsPolicies } from './mta-sts.ts';
import { MxDelivery } from './mx-delivery.ts';
import { ObservedQueue } from './observed-queue.ts';
import { openQueue } from './open-queue.ts';
import type { OutboundQueue } from './queue.ts';
import { relay } from './relay.ts';
import { withSrsBounces } from './srs-bounces.ts';

export interface Outbound {
  /** Outermost around the hooks: queues what is to be delivered before the 250. */
  readonly middleware: Middleware;
  /** The queue MXHOOK_QUEUE names, open while running (for the admin /queue endpoints); null when off. */
  readonly queue: OutboundQueue | null;
  /** False while the queue cannot be written (for /readyz). */
  ready(): boolean;
  /** DKIM-signs a message for its From domain (MXHOOK_DKIM_SIGN), as the relay does before queueing. */
  readonly sign: (message: readonly Buffer[]) => Promise<readonly Buffer[]>;
  /** Stops the delivery workers within `graceMs` and closes the queue. */
  stop(graceMs: number): Promise<void>;
}

/** How often the queue's writability is checked for /readyz. */
const READY_CHECK_MS = 5_000;

/** `lookups`: the DNS cache the gateway's authentication checks use too. */
export async function startOutbound(
  config: GatewayConfig,
  log: Logger,
  lookups: DnsLookups,
  observer?: GatewayObserver,
  /** Told each recipient's delivery attempt (the delivery reports). */
  onAttempt?: (attempt: DeliveryAttempt) => void,
): Promise<Outbound> {
  const sign = (message: readonly Buffer[]) => signOutgoing(message, config.dkimSign);
  if (config.queue === null) {
    return {
      middleware: relay({
        queue: null,
        relayNetworks: config.relayNetworks,
        sign,
        hostname: config.hostname,
        ...sendOnOptions(config, log),
      }),
      queue: null,
      ready: () => true,
      sign,
      stop: async () => {},
    };
  }
  const opened = await openQueue(
    config.queue.kind === 'postgres' ? config.queue.url : config.queue.path,
    { log },
  );
  // Everything below, and every user of `Outbound.queue`, goes through the observed queue.
  const queue = observer === undefined ? opened : new ObservedQueue(opened, observer);
  const delivery = new MxDelivery({
    resolve: lookups.resolve,
    hostname: config.hostname,
    port: config.deliveryPort,
    tls: new DeliveryTlsPolicies(
      config.deliveryTls,
      config.mtaSts ? new MtaStsPolicies({ resolve: lookups.resolve, log }) : null,
    ),
    log,
  });
  const runner = new DeliveryRunner({
    queue,
    deliver: (request) => delivery.deliver(request),
    owner: `${osHostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    concurrency: config.deliveryConcurrency,
    retry: {
      minMs: config.retryMinMs,
      maxMs: config.retryMaxMs,
      lifetimeMs: config.queueLifetimeMs,
    },
    delayWarningMs: config.delayWarningMs,
    hostname: config.hostname,
    log,
    ...(observer === undefined ? {} : { observer }),
    ...(onAttempt === undefined ? {} : { onAttempt }),
  });
  runner.start();
  const writable = new WritableCheck(queue, log, 'outbound queue');
  // Bounces to our SRS addresses are answered around the relay, before the function is asked.
  const srs = srsSettingsOf(config);
  const withBounces = (inner: Middleware): Middleware =>
    srs === null
      ? inner
      : withSrsBounces({ srs, queue, queueFailed: () => writable.failed() }, inner);
  log.info(
    { queue: config.queue.kind, concurrency: config.deliveryConcurrency },
    'outbound delivery started',
  );
  return {
    middleware: withBounces(
      relay({
        queue,
        relayNetworks: config.relayNetworks,
        sign,
        hostname: config.hostname,
        ...sendOnOptions(config, log),
        // A message the queue refused is news for /readyz now, not at the next check.
        queueFailed: () => writable.failed(),
      }),
    ),
    queue,
    ready: () => writable.ok,
    sign,
    async stop(graceMs) {
      writable.close();
      await runner.stop(graceMs);
      await delivery.close();
      await queue.close();
    },
  };
}

/**
 * A store's writability (the queue's, the archive's), asked now and then so a readiness probe
 * never waits on it.
 */
export class WritableCheck {
  ok = true;
  readonly #timer: NodeJS.Timeout;

  /** `what` names the store in the log line a change writes. */
  constructor(store: { writable(): Promise<boolean> }, log: Logger, what: string) {
    const check = (): void => {
      store.writable().then(
        (ok) => {
          if (ok !== this.ok) log.warn({ writable: ok }, `${what} writability changed`);
          this.ok = ok;
        },
        () => {
          this.ok = false;
        },
      );
    };
    this.#timer = setInterval(check, READY_CHECK_MS).unref();
    check();
  }

  /** A write failed: not ready until the next check finds the store writable again. */
  failed(): void {
    this.ok = false;
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
