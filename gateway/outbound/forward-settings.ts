// The configuration of `forward` and `reply` answers and of SRS bounces, from the settings
// (MXHOOK_SRS_SECRET, MXHOOK_SRS_DOMAIN, MXHOOK_DKIM_SIGN, MXHOOK_MAX_RECIPIENTS,
// MXHOOK_REPLY_WINDOW), made once at start-up.
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.ts';
import { entryCovering } from './dkim-signing.ts';
import type { RelayOptions } from './relay.ts';
import type { SrsSettings } from './srs.ts';

/** Null when MXHOOK_SRS_SECRET is not set: nothing is forwarded and no SRS bounce is taken. */
export function srsSettingsOf(config: GatewayConfig): SrsSettings | null {
  if (config.srsSecrets.length === 0) return null;
  return {
    secrets: config.srsSecrets,
    domain: (config.srsDomain || config.hostname).toLowerCase(),
  };
}

/** What the relay needs for `forward` and `reply`; says once at start-up if forwards go unsealed. */
export function sendOnOptions(
  config: GatewayConfig,
  log: Logger,
): Pick<RelayOptions, 'forward' | 'reply' | 'log'> {
  const srs = srsSettingsOf(config);
  const entry = srs === null ? null : entryCovering(srs.domain, config.dkimSign);
  if (srs !== null && entry === null) {
    log.warn(
      { srsDomain: srs.domain },
      'forwarded mail will not be ARC-sealed: no MXHOOK_DKIM_SIGN key covers MXHOOK_SRS_DOMAIN',
    );
  }
  return {
    forward: {
      srs,
      seal: entry,
      maxAddresses: config.maxRecipients,
      hostname: config.hostname,
    },
    reply: { windowMs: config.replyWindowMs },
    log,
  };
}
