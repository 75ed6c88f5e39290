// The outbound side for a program that embeds the gateway (`createGateway`): the same queue, relay
// middleware and delivery workers `mxhook serve` runs with MXHOOK_QUEUE, set up from a few
// options instead of the environment, and checked by the same rules.
import pino, { type Logger } from 'pino';
import { loadConfig } from '../config/load-config.ts';
import type { VariableName } from '../config/variables.ts';
import { MxhookError } from '../errors.ts';
import type { Middleware } from '../middleware.ts';
import { DnsLookups } from '../net/dns-lookups.ts';
import type { GatewayObserver } from '../server/observer.ts';
import { startOutbound } from './outbound.ts';
import type { OutboundQueue } from './queue.ts';

/** The settings of the outbound side besides the queue and the host name. */
export const OUTBOUND_SETTINGS = [
  'MXHOOK_RELAY_NETWORKS',
  'MXHOOK_DELIVERY_CONCURRENCY',
  'MXHOOK_RETRY_MIN',
  'MXHOOK_RETRY_MAX',
  'MXHOOK_QUEUE_LIFETIME',
  'MXHOOK_DELAY_WARNING',
  'MXHOOK_DKIM_SIGN',
  'MXHOOK_SRS_SECRET',
  'MXHOOK_SRS_DOMAIN',
  'MXHOOK_REPLY_WINDOW',
  'MXHOOK_DELIVERY_TLS',
  'MXHOOK_MTA_STS',
  'MXHOOK_DELIVERY_PORT',
  'MXHOOK_DNS_SERVERS',
  'MXHOOK_DNS_TIMEOUT',
] as const satisfies readonly VariableName[];

export type OutboundSetting = (typeof OUTBOUND_SETTINGS)[number];

export interface OutboundOptions {
  /** Where the queue lives, as MXHOOK_QUEUE: a directory (one process) or a `postgres://` URL. */
  readonly queue: string;
  /** Our host name, as MXHOOK_HOSTNAME: in EHLO, and the reporting MTA of the notices we send. */
  readonly hostname: string;
  /**
   * The other outbound settings, written as their variables are (`mxhook help` lists them), and
   * refused by the same rules with an error naming the variable; absent ones take the defaults.
   */
  readonly settings?: Readonly<Partial<Record<OutboundSetting, string>>>;
  /** Where the queue's and the deliveries' log lines go; default none. */
  readonly logger?: Logger;
  /** The gateway's observer (`createMetrics().observer`): delivery and queue metrics. */
  readonly observer?: GatewayObserver;
}

export interface GatewayOutbound {
  /**
   * Give it to `createGateway` as the outermost middleware, with `dsn: true`: it queues mail from
   * MXHOOK_RELAY_NETWORKS (and mail a data answer says to deliver) before the 250.
   */
  readonly middleware: Middleware;
  /** The open queue: list, retry or remove messages. */
  readonly queue: OutboundQueue;
  /** False while the queue cannot be written: a readiness check should fail then. */
  ready(): boolean;
  /**
   * Stops the delivery workers, waiting up to `graceMs` for deliveries under way (what is not
   * finished is retried at the next start), and closes the queue. Stop the gateway first.
   */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Opens the queue and starts delivering from it.
 *
 * @throws MxhookError (`ERR_CONFIG_INVALID`) naming the variable of a setting it refuses.
 * @example
 * const outbound = await createOutbound({
 *   queue: '/var/lib/mxhook/queue',
 *   hostname: 'mx.example.com',
 *   settings: { MXHOOK_RELAY_NETWORKS: '10.0.0.0/8' },
 * });
 * const gateway = createGateway({ listen, hostname: 'mx.example.com', handler,
 *   middleware: [outbound.middleware], dsn: true });
 * await gateway.start();
 * // …
 * await gateway.stop();
 * await outbound.stop(30_000);
 */
export async function createOutbound(options: OutboundOptions): Promise<GatewayOutbound> {
  const given = options.settings ?? {};
  for (const name of Object.keys(given)) {
    if (!(OUTBOUND_SETTINGS as readonly string[]).includes(name))
      throw new MxhookError(
        'ERR_CONFIG_INVALID',
        `option settings: ${name} is not an outbound setting`,
      );
  }
  if (options.queue.trim() === '')
    throw new MxhookError(
      'ERR_CONFIG_INVALID',
      'option queue: a directory or a postgres:// URL is required',
    );
  // Only what is given here counts: no process environment, no .env file.
  const config = loadConfig({
    env: { ...given, MXHOOK_QUEUE: options.queue, MXHOOK_HOSTNAME: options.hostname },
    requireFunctionUrl: false,
  });
  const log = options.logger ?? pino({ level: 'silent' });
  const lookups = new DnsLookups({ servers: config.dnsServers, timeoutMs: config.dnsTimeoutMs });
  const outbound = await startOutbound(config, log, lookups, options.observer);
  // Never null: MXHOOK_QUEUE is set, so startOutbound opened it.
  const queue = outbound.queue as OutboundQueue;
  options.observer?.queueAttached?.(queue);
  return {
    middleware: outbound.middleware,
    queue,
    ready: () => outbound.ready(),
    async stop(graceMs = 0) {
      options.observer?.queueAttached?.(null);
      await outbound.stop(graceMs);
    },
  };
}
