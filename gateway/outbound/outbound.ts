// The outbound side as `mxhook serve` runs it: the queue MXHOOK_QUEUE names, the relay middleware
// that fills it, and the delivery workers that empty it.

import { randomBytes } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.ts';
import type { Middleware } from '../middleware.ts';
import type { DnsLookups } from '../net/dns-lookups.ts';
import type { GatewayObserver } from '../server/observer.ts';
import { DeliveryRunner } from './delivery-runner.ts';
import { signOutgoing } from './dkim-signing.ts';
import { MxDelivery } from './mx-delivery.ts';
import { openQueue } from './open-queue.ts';
import type { OutboundQueue } from './queue.ts';
import { relay } from './relay.ts';

export interface Outbound {
  /** Outermost around the hooks: queues what is to be delivered before the 250. */
  readonly middleware: Middleware;
  /** The queue MXHOOK_QUEUE names, open while running (for the admin /queue endpoints); null when off. */
  readonly queue: OutboundQueue | null;
  /** False while the queue cannot be written (for /readyz). */
  ready(): boolean;
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
): Promise<Outbound> {
  const sign = (message: readonly Buffer[]) => signOutgoing(message, config.dkimSign);
  if (config.queue === null) {
    return {
      middleware: relay({
        queue: null,
        relayNetworks: config.relayNetworks,
        sign,
        hostname: config.hostname,
      }),
      queue: null,
      ready: () => true,
      stop: async () => {},
    };
  }
  const queue = await openQueue(
    config.queue.kind === 'postgres' ? config.queue.url : config.queue.path,
    { log },
  );
  const delivery = new MxDelivery({
    resolve: lookups.resolve,
    hostname: config.hostname,
    port: config.deliveryPort,
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
    hostname: config.hostname,
    log,
    ...(observer === undefined ? {} : { observer }),
  });
  runner.start();
  const writable = new WritableCheck(queue, log);
  log.info(
    { queue: config.queue.kind, concurrency: config.deliveryConcurrency },
    'outbound delivery started',
  );
  return {
    middleware: relay({
      queue,
      relayNetworks: config.relayNetworks,
      sign,
      hostname: config.hostname,
      // A message the queue refused is news for /readyz now, not at the next check.
      queueFailed: () => writable.failed(),
    }),
    queue,
    ready: () => writable.ok,
    async stop(graceMs) {
      writable.close();
      await runner.stop(graceMs);
      await delivery.close();
      await queue.close();
    },
  };
}

/** The queue's writability, asked now and then so a readiness probe never waits on it. */
class WritableCheck {
  ok = true;
  readonly #timer: NodeJS.Timeout;

  constructor(queue: OutboundQueue, log: Logger) {
    const check = (): void => {
      queue.writable().then(
        (ok) => {
          if (ok !== this.ok) log.warn({ writable: ok }, 'outbound queue writability changed');
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

  /** An enqueue failed: not ready until the next check finds the queue writable again. */
  failed(): void {
    this.ok = false;
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
